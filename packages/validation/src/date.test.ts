import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ageOn, dateInputSchema, daysInMonth, isoDateStringSchema, latestDateOnEarth } from './date.js';
import { validate } from './field-errors.js';
import { expectRejectsNonStrings, messageOf, messagesOf, valueOf } from './test-support/helpers.js';

// 12:00 UTC on 15 June 2024: already 16 June in UTC+14, still 15 June in UTC-12.
const NOW = new Date('2024-06-15T12:00:00Z');

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('daysInMonth', () => {
  it('knows leap years', () => {
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2023, 2)).toBe(28);
    expect(daysInMonth(2000, 2)).toBe(29);
    expect(daysInMonth(1900, 2)).toBe(28);
    expect(daysInMonth(2024, 4)).toBe(30);
    expect(daysInMonth(2024, 12)).toBe(31);
  });
});

describe('latestDateOnEarth', () => {
  it('is today in UTC+14', () => {
    expect(latestDateOnEarth(NOW)).toBe('2024-06-16');
    expect(latestDateOnEarth(new Date('2024-06-15T09:59:59Z'))).toBe('2024-06-15');
    expect(latestDateOnEarth()).toBe('2024-06-16');
  });
});

describe('isoDateStringSchema', () => {
  it.each(['1900-01-01', '2000-02-29', '1985-12-31', '2024-06-15', '2024-06-16'])('accepts %s', (date) => {
    expect(valueOf(isoDateStringSchema, date)).toBe(date);
  });

  it('trims', () => {
    expect(valueOf(isoDateStringSchema, ' 1985-12-31 ')).toBe('1985-12-31');
  });

  it.each(['1985-1-31', '31/12/1985', '1985-12-31T00:00:00Z', '19851231', '', 'x'.repeat(100_000), '١٩٨٥-١٢-٣١'])(
    'rejects the format of %s',
    (date) => {
      expect(messageOf(isoDateStringSchema, date)).toBe('must be a date in YYYY-MM-DD format');
    },
  );

  it.each(['2023-02-29', '1900-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00'])('rejects the unreal %s', (date) => {
    expect(messageOf(isoDateStringSchema, date)).toBe('is not a real calendar date');
  });

  it('rejects years before 1900 and dates in the future', () => {
    expect(messageOf(isoDateStringSchema, '1899-12-31')).toBe('must not be before 1900');
    expect(messageOf(isoDateStringSchema, '2024-06-17')).toBe('must not be in the future');
    expect(messageOf(isoDateStringSchema, '9999-01-01')).toBe('must not be in the future');
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(isoDateStringSchema);
  });
});

describe('dateInputSchema', () => {
  it('outputs YYYY-MM-DD', () => {
    expect(valueOf(dateInputSchema, { year: 1985, month: 7, day: 4 })).toBe('1985-07-04');
    expect(valueOf(dateInputSchema, { year: 2000, month: 2, day: 29 })).toBe('2000-02-29');
    expect(valueOf(dateInputSchema, { year: 1900, month: 1, day: 1 })).toBe('1900-01-01');
    expect(valueOf(dateInputSchema, { year: 2024, month: 6, day: 16 })).toBe('2024-06-16');
  });

  it('rejects days that do not exist in the month, at the day path', () => {
    expect(validate(dateInputSchema, { year: 2023, month: 2, day: 29 }, ['input', 'birthDate'])).toEqual({
      ok: false,
      errors: [{ path: ['input', 'birthDate', 'day'], message: 'is not a valid day of that month' }],
    });
    expect(messageOf(dateInputSchema, { year: 2024, month: 2, day: 30 })).toBe('is not a valid day of that month');
    expect(messageOf(dateInputSchema, { year: 2024, month: 11, day: 31 })).toBe('is not a valid day of that month');
  });

  it('rejects future dates at the object path', () => {
    expect(validate(dateInputSchema, { year: 2024, month: 6, day: 17 }, ['input', 'birthDate'])).toEqual({
      ok: false,
      errors: [{ path: ['input', 'birthDate'], message: 'must not be in the future' }],
    });
  });

  it('checks ranges and integer types of each part', () => {
    expect(messagesOf(dateInputSchema, { year: 1899, month: 0, day: 32 })).toEqual([
      'must be at least 1900',
      'must be at least 1',
      'must be at most 31',
    ]);
    expect(messagesOf(dateInputSchema, { year: 1985.5, month: '7', day: null })).toEqual([
      'must be a whole number',
      'must be a number, not a string',
      'must be a number, not null',
    ]);
    expect(messagesOf(dateInputSchema, { year: Number.NaN, month: Number.POSITIVE_INFINITY, day: 1 })).toEqual([
      'must be a number, not NaN',
      'must be a number, not an infinite number',
    ]);
    expect(messagesOf(dateInputSchema, { year: 1985 })).toEqual(['is required', 'is required']);
  });

  it('rejects unknown keys and non-objects', () => {
    expect(messageOf(dateInputSchema, { year: 1985, month: 7, day: 4, hour: 3 })).toBe('has an unknown field "hour"');
    expect(messageOf(dateInputSchema, '1985-07-04')).toBe('must be an object, not a string');
  });
});

describe('ageOn', () => {
  it('counts whole years', () => {
    expect(ageOn('2006-06-15', NOW)).toBe(18);
    expect(ageOn('2006-06-16', NOW)).toBe(17);
    expect(ageOn('2006-06-14', NOW)).toBe(18);
    expect(ageOn('2024-06-15', NOW)).toBe(0);
    expect(ageOn('1900-01-01', NOW)).toBe(124);
  });

  it('uses the UTC date of now', () => {
    expect(ageOn('2000-06-16', new Date('2024-06-15T23:59:59Z'))).toBe(23);
    expect(ageOn('2000-06-16', new Date('2024-06-16T00:00:00Z'))).toBe(24);
  });

  it('ages leap-day birthdays on 1 March in common years', () => {
    expect(ageOn('2004-02-29', new Date('2023-02-28T12:00:00Z'))).toBe(18);
    expect(ageOn('2004-02-29', new Date('2023-03-01T12:00:00Z'))).toBe(19);
    expect(ageOn('2004-02-29', new Date('2024-02-29T12:00:00Z'))).toBe(20);
  });

  it('throws on strings that are not real dates and on invalid now', () => {
    expect(() => ageOn('2023-02-29', NOW)).toThrow(RangeError);
    expect(() => ageOn('15/06/2006', NOW)).toThrow(RangeError);
    expect(() => ageOn('2006-06-15', new Date(Number.NaN))).toThrow(RangeError);
  });
});
