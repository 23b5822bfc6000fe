import { rule, singleLineText } from './text.js';

// US taxpayer ids. SSNs follow the SSA's never-issued rules (area 000, 666 and
// 900-999, group 00, serial 0000). An EIN is told apart only by its
// "NN-NNNNNNN" layout; undashed 9 digits are read as an SSN. Messages never
// repeat the number: it is sensitive.

const SSN_DASHED = /^\d{3}-\d{2}-\d{4}$/;
const NINE_DIGITS = /^\d{9}$/;
const EIN_DASHED = /^\d{2}-\d{7}$/;

function isIssuableSsn(digits: string): boolean {
  const area = Number(digits.slice(0, 3));
  return area !== 0 && area !== 666 && area < 900 && digits.slice(3, 5) !== '00' && digits.slice(5) !== '0000';
}

function isIssuableEin(digits: string): boolean {
  return !digits.startsWith('00') && digits.slice(2) !== '0000000';
}

function isValidNationalId(s: string): boolean {
  const digits = s.replace(/-/g, '');
  if (SSN_DASHED.test(s) || NINE_DIGITS.test(s)) return isIssuableSsn(digits);
  if (EIN_DASHED.test(s)) return isIssuableEin(digits);
  return false;
}

/** An SSN ("AAA-GG-SSSS" or 9 digits) or EIN ("NN-NNNNNNN"); outputs the 9 digits. */
export const nationalIdSchema = singleLineText({ max: 11 })
  .check(
    rule(
      (s) => SSN_DASHED.test(s) || NINE_DIGITS.test(s) || EIN_DASHED.test(s),
      'must be an SSN (AAA-GG-SSSS or 9 digits) or an EIN (NN-NNNNNNN)',
    ),
    rule(isValidNationalId, 'is not a valid SSN or EIN'),
  )
  .overwrite((s) => s.replace(/-/g, ''));

/** The last four digits, the only part that may be shown back to a person. */
export function last4(digits: string): string {
  return digits.replace(/\D/g, '').slice(-4);
}
