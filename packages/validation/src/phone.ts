import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import { human } from './error-map.js';
import { isIsoCountryCode } from './region-codes.js';
import { lengthBetween, rule } from './text.js';

// The "max" metadata checks each number against its region's real numbering
// plan (not just its length), so made-up numbers such as 555-123-4567 fail.

export type { CountryCode } from 'libphonenumber-js/max';

// Long enough for any formatted international number, short enough to bound work.
export const PHONE_MAX_LENGTH = 32;

// Digits with the usual separators; "+" only in front. No letters or "ext.".
const PHONE_CHARACTERS = /^\+?[0-9 ().-]+$/;
const INVALID_PHONE = 'is not a valid phone number';

/** An ISO 3166-1 alpha-2 code (upper case) that libphonenumber has a numbering plan for. */
export function isValidRegionCode(code: string): code is CountryCode {
  return isIsoCountryCode(code) && isSupportedCountry(code);
}

export type ParsedPhone = { ok: true; e164: string } | { ok: false };

/**
 * Parses a phone number typed by a person. Without a leading "+" the number is
 * read as national to `region`; with neither it cannot be valid.
 */
export function parsePhone(input: string, region?: CountryCode): ParsedPhone {
  if (typeof input !== 'string') return { ok: false };
  const s = input.trim();
  if (s.length === 0 || s.length > PHONE_MAX_LENGTH || !PHONE_CHARACTERS.test(s)) return { ok: false };
  const parsed = parsePhoneNumberFromString(s, region);
  if (!parsed?.isValid()) return { ok: false };
  return { ok: true, e164: parsed.number };
}

/** A phone number, output in E.164 ("+14155552671"). */
export function phoneSchema(defaultRegion?: CountryCode) {
  if (defaultRegion !== undefined && !isValidRegionCode(defaultRegion)) {
    // A programming error, not a user one: fail when the schema is built.
    throw new TypeError(`phoneSchema: unsupported default region ${JSON.stringify(defaultRegion)}`);
  }
  return z
    .string(human)
    .trim()
    .check(
      lengthBetween(1, PHONE_MAX_LENGTH),
      rule((s) => PHONE_CHARACTERS.test(s), 'must contain only digits, spaces, dashes, dots, parentheses and a leading +'),
    )
    .transform((s, ctx) => {
      const parsed = parsePhone(s, defaultRegion);
      if (parsed.ok) return parsed.e164;
      ctx.issues.push({ code: 'custom', message: INVALID_PHONE, input: s });
      return z.NEVER;
    });
}
