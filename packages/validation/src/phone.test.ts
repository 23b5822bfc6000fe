import { describe, expect, it } from 'vitest';
import { isValidRegionCode, parsePhone, phoneSchema, type CountryCode } from './phone.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

// Numbers libphonenumber-js (max metadata) reports as valid for their region.
const VALID: Array<[string, CountryCode | undefined, string]> = [
  ['+1 415 555 2671', undefined, '+14155552671'], // US
  ['(201) 555-0123', 'US', '+12015550123'], // US, national format
  ['2025550143', 'US', '+12025550143'], // US, bare digits
  ['201.555.0123', 'US', '+12015550123'], // US, dots
  ['(416) 555-0199', 'CA', '+14165550199'], // CA
  ['+1 613 555 0156', undefined, '+16135550156'], // CA
  ['020 7946 0018', 'GB', '+442079460018'], // GB, national format
  ['+44 20 7946 0958', undefined, '+442079460958'], // GB
  ['+44 7911 123456', 'US', '+447911123456'], // international overrides the region
];

describe('parsePhone', () => {
  it.each(VALID)('parses %s (region %s) as %s', (input, region, e164) => {
    expect(parsePhone(input, region)).toEqual({ ok: true, e164 });
  });

  it.each([
    ['555-123-4567', 'US'], // fictional area code 555
    ['07700 900123', 'GB'], // Ofcom drama range
    ['+1 123 456 7890', undefined], // NANP area codes never start with 1
    ['2025550143', undefined], // national number without a region
    ['12', 'US'],
    ['+44 20 7946 09581234', undefined], // too long
    ['+1 (415) 555-2671 ext. 7', undefined],
    ['415-555-2671x7', 'US'],
    ['1-800-FLOWERS', 'US'],
    ['++1 415 555 2671', undefined],
    ['415 +555 2671', 'US'],
    ['', 'US'],
  ] as Array<[string, CountryCode | undefined]>)('rejects %s (region %s)', (input, region) => {
    expect(parsePhone(input, region)).toEqual({ ok: false });
  });

  it('rejects non-strings without throwing', () => {
    expect(parsePhone(42 as unknown as string)).toEqual({ ok: false });
  });
});

describe('phoneSchema', () => {
  it.each(VALID)('outputs %s (region %s) as %s', (input, region, e164) => {
    expect(valueOf(phoneSchema(region), input)).toBe(e164);
  });

  it('trims surrounding whitespace', () => {
    expect(valueOf(phoneSchema('US'), '  (201) 555-0123 ')).toBe('+12015550123');
  });

  it('rejects numbers the numbering plan does not allow', () => {
    expect(messageOf(phoneSchema('US'), '555-123-4567')).toBe('is not a valid phone number');
    expect(messageOf(phoneSchema('GB'), '07700 900123')).toBe('is not a valid phone number');
    expect(messageOf(phoneSchema(), '2025550143')).toBe('is not a valid phone number');
  });

  it('rejects letters and other characters before parsing', () => {
    const message = 'must contain only digits, spaces, dashes, dots, parentheses and a leading +';
    expect(messageOf(phoneSchema('US'), '1-800-FLOWERS')).toBe(message);
    expect(messageOf(phoneSchema('US'), '415 555 2671 ext 7')).toBe(message);
    expect(messageOf(phoneSchema('US'), '415\u0000555 2671')).toBe(message);
  });

  it('enforces length limits', () => {
    expect(messageOf(phoneSchema('US'), '  ')).toBe('must not be empty');
    expect(messageOf(phoneSchema('US'), '1'.repeat(33))).toBe('must be at most 32 characters');
    expect(messageOf(phoneSchema('US'), '1'.repeat(1_000_000))).toBe('must be at most 32 characters');
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(phoneSchema('US'));
  });

  it('refuses to build with an unsupported region', () => {
    expect(() => phoneSchema('XX' as CountryCode)).toThrow(TypeError);
  });
});

describe('isValidRegionCode', () => {
  it.each(['US', 'CA', 'GB', 'DE', 'FR', 'JP', 'BR', 'IN', 'GG'])('accepts %s', (code) => {
    expect(isValidRegionCode(code)).toBe(true);
  });

  it.each([
    'us', // lower case
    'UK', // not ISO (GB is)
    'XK', // user-assigned, though libphonenumber knows it
    'AC', // reserved, though libphonenumber knows it
    'AQ', // ISO, but no numbering plan
    'ZZ',
    'USA',
    '',
  ])('rejects %s', (code) => {
    expect(isValidRegionCode(code)).toBe(false);
  });
});
