import { describe, expect, it } from 'vitest';
import { last4, nationalIdSchema } from './national-id.js';
import { expectRejectsNonStrings, messageOf, messagesOf, valueOf } from './test-support/helpers.js';

const FORMAT = 'must be an SSN (AAA-GG-SSSS or 9 digits) or an EIN (NN-NNNNNNN)';
const INVALID = 'is not a valid SSN or EIN';

describe('nationalIdSchema', () => {
  it.each([
    ['123-45-6789', '123456789'],
    ['123456789', '123456789'],
    [' 001-01-0001 ', '001010001'],
    ['899-99-9999', '899999999'],
    ['665-12-3456', '665123456'],
    ['12-3456789', '123456789'],
    ['98-7654321', '987654321'],
  ])('accepts %s as %s', (input, digits) => {
    expect(valueOf(nationalIdSchema, input)).toBe(digits);
  });

  it.each([
    '000-12-3456', // area 000
    '666-12-3456', // area 666
    '900-12-3456', // area 900-999
    '999-12-3456',
    '123-00-4567', // group 00
    '123-45-0000', // serial 0000
    '000123456', // undashed, area 000
    '666123456',
    '123450000',
    '00-1234567', // EIN prefix 00
    '12-0000000', // EIN serial zero
  ])('rejects the never-issued %s', (input) => {
    expect(messageOf(nationalIdSchema, input)).toBe(INVALID);
  });

  it.each(['123-456-789', '12345678', '1234567890', '123 45 6789', '12-345-6789', 'ABC-DE-FGHI', '123-45-678９'])(
    'rejects the layout of %s',
    (input) => {
      expect(messageOf(nationalIdSchema, input)).toBe(FORMAT);
    },
  );

  it('limits length and rejects control characters and empty input', () => {
    expect(messageOf(nationalIdSchema, '1'.repeat(12))).toBe('must be at most 11 characters');
    expect(messageOf(nationalIdSchema, '1'.repeat(1_000_000))).toBe('must be at most 11 characters');
    expect(messageOf(nationalIdSchema, '123\u000045678')).toBe('must not contain control characters');
    expect(messageOf(nationalIdSchema, '')).toBe('must not be empty');
  });

  it('never echoes the number in messages', () => {
    for (const id of ['666-12-3456', '123-45-0000', '12345678', '00-1234567']) {
      for (const m of messagesOf(nationalIdSchema, id)) {
        expect(m).not.toContain(id);
        expect(m).not.toMatch(/\d{4}/);
      }
    }
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(nationalIdSchema);
    expect(messageOf(nationalIdSchema, 123456789)).toBe('must be a string, not a number');
  });
});

describe('last4', () => {
  it('returns the last four digits', () => {
    expect(last4('123456789')).toBe('6789');
    expect(last4('123-45-6789')).toBe('6789');
    expect(last4('12')).toBe('12');
  });
});
