import { z } from 'zod';
import { human } from './error-map.js';
import { rule } from './text.js';

// Calendar dates such as birth dates, exchanged as "YYYY-MM-DD" strings: a
// date has no time zone, so it must never pass through a JS Date at midnight.

export const MIN_YEAR = 1900;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// The furthest-ahead time zone (Line Islands, UTC+14): "today" there is the
// latest date that is not in the future for anyone on Earth.
const MAX_UTC_OFFSET_MS = 14 * 60 * 60 * 1000;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function formatIsoDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

export function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isRealDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** The latest calendar date anywhere on Earth at `now`, as "YYYY-MM-DD". */
export function latestDateOnEarth(now: Date = new Date()): string {
  const ahead = new Date(now.getTime() + MAX_UTC_OFFSET_MS);
  return formatIsoDate(ahead.getUTCFullYear(), ahead.getUTCMonth() + 1, ahead.getUTCDate());
}

// Fixed-width "YYYY-MM-DD" strings sort chronologically.
const isNotFuture = (iso: string) => iso <= latestDateOnEarth();

function splitIso(s: string): [number, number, number] | undefined {
  const m = ISO_DATE.exec(s);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** "YYYY-MM-DD": a real calendar date from 1900 up to today. */
export const isoDateStringSchema = z
  .string(human)
  .trim()
  .check(
    rule((s) => ISO_DATE.test(s), 'must be a date in YYYY-MM-DD format'),
    rule((s) => (splitIso(s)?.[0] ?? 0) >= MIN_YEAR, `must not be before ${MIN_YEAR}`),
    rule((s) => {
      const parts = splitIso(s);
      return parts !== undefined && isRealDate(...parts);
    }, 'is not a real calendar date'),
    rule(isNotFuture, 'must not be in the future'),
  );

const part = (min: number, max: number) => z.int(human).min(min).max(max);

/** `{ year, month, day }` forming a real date from 1900 up to today; outputs "YYYY-MM-DD". */
export const dateInputSchema = z
  .strictObject({ year: part(MIN_YEAR, 9999), month: part(1, 12), day: part(1, 31) }, human)
  .check((ctx) => {
    // Range errors on the parts (which do not abort) make the whole-date rules moot.
    if (ctx.issues.length > 0) return;
    const { year, month, day } = ctx.value;
    if (!isRealDate(year, month, day)) {
      ctx.issues.push({ code: 'custom', message: 'is not a valid day of that month', path: ['day'], input: ctx.value, continue: false });
    } else if (!isNotFuture(formatIsoDate(year, month, day))) {
      ctx.issues.push({ code: 'custom', message: 'must not be in the future', input: ctx.value, continue: false });
    }
  })
  .transform(({ year, month, day }) => formatIsoDate(year, month, day));

/**
 * Whole years from the "YYYY-MM-DD" `dateString` to `now` (in UTC), for age
 * rules such as a minimum age, which callers configure and enforce. Someone
 * born on 29 February turns a year older on 1 March in common years.
 * Throws RangeError for a string that is not a real date.
 */
export function ageOn(dateString: string, now: Date): number {
  const parts = splitIso(dateString);
  if (!parts || !isRealDate(...parts)) throw new RangeError('ageOn: expected a real date in YYYY-MM-DD format');
  if (Number.isNaN(now.getTime())) throw new RangeError('ageOn: now is an invalid Date');
  const [year, month, day] = parts;
  const nowMonth = now.getUTCMonth() + 1;
  const nowDay = now.getUTCDate();
  const birthdayPassed = nowMonth > month || (nowMonth === month && nowDay >= day);
  return now.getUTCFullYear() - year - (birthdayPassed ? 0 : 1);
}
