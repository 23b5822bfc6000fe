import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ageOn, formatIsoDate, isoDateStringSchema } from './date.js';
import { emailSchema } from './email.js';
import { validate } from './field-errors.js';
import { nationalIdSchema } from './national-id.js';
import { passwordSchema } from './password.js';
import { personNameSchema } from './person-name.js';
import { codePointLength } from './text.js';

// Properties over arbitrary input: the guarantees callers rely on everywhere.
describe('properties', () => {
  const schemas = z.object({ password: passwordSchema, nationalId: nationalIdSchema, email: emailSchema, name: personNameSchema });

  it('never echoes a submitted value in any message, which always starts lower-case', () => {
    // "§" never appears in our messages, so a marked value can only show up by being echoed.
    const marked = fc.string({ unit: 'binary', maxLength: 300 }).map((s) => `§${s}`);
    fc.assert(
      fc.property(fc.record({ password: marked, nationalId: marked, email: marked, name: marked }), (input) => {
        const result = validate(schemas, input, ['input']);
        if (result.ok) return;
        for (const e of result.errors) {
          expect(e.message).toMatch(/^[a-z]/);
          for (const value of Object.values(input)) expect(e.message).not.toContain(value);
        }
      }),
    );
  });

  it('counts code points the way the spread operator does', () => {
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- counting code points is the point
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => codePointLength(s) === [...s].length));
  });

  it('accepts every real date since 1900 and ages it consistently', () => {
    const now = new Date('2024-06-15T12:00:00Z');
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: now, noInvalidDate: true }), (d) => {
        const iso = formatIsoDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
        expect(isoDateStringSchema.safeParse(iso).success).toBe(true);
        const age = ageOn(iso, now);
        expect(age).toBeGreaterThanOrEqual(0);
        expect(age).toBeLessThanOrEqual(now.getUTCFullYear() - d.getUTCFullYear());
      }),
    );
  });
});
