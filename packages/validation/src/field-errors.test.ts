import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { emailSchema } from './email.js';
import { fieldErrorsFromZod, fieldNameOf, validate, type FieldError } from './field-errors.js';
import { nameInputSchema } from './person-name.js';
import { passwordSchema } from './password.js';
import { phoneSchema } from './phone.js';

const errorOf = (schema: z.ZodType, input: unknown) => {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected a failure');
  return result.error;
};

describe('fieldErrorsFromZod', () => {
  it('gives one entry per issue, with string paths under basePath', () => {
    const schema = z.object({ user: z.object({ emails: z.array(emailSchema), name: nameInputSchema }) });
    const error = errorOf(schema, { user: { emails: ['a@b.io', 'nope'], name: { first: '', last: 'B', extra: 1 } } });
    expect(fieldErrorsFromZod(error, ['input'])).toEqual([
      { path: ['input', 'user', 'emails', '1'], message: 'is not a valid email address' },
      { path: ['input', 'user', 'name', 'first'], message: 'must not be empty' },
      { path: ['input', 'user', 'name'], message: 'has an unknown field "extra"' },
    ]);
  });

  it('defaults basePath to the root', () => {
    expect(fieldErrorsFromZod(errorOf(emailSchema, 'x'))).toEqual([{ path: [], message: 'is not a valid email address' }]);
  });

  it('does not mutate basePath', () => {
    const base = ['input'];
    fieldErrorsFromZod(errorOf(z.object({ a: emailSchema }), { a: 'x' }), base);
    expect(base).toEqual(['input']);
  });

  it('rewrites zod stock messages from schemas built elsewhere', () => {
    const foreign = z.object({ a: z.string(), b: z.int(), c: z.string().max(2), d: z.enum(['X', 'Y']), e: z.number() });
    const error = errorOf(foreign, { b: 1.5, c: 'xyz', d: 'Z', e: 'five' });
    expect(fieldErrorsFromZod(error)).toEqual([
      { path: ['a'], message: 'is required' },
      { path: ['b'], message: 'must be a whole number' },
      { path: ['c'], message: 'must be at most 2 characters' },
      { path: ['d'], message: 'must be one of X, Y' },
      { path: ['e'], message: 'must be a number, not a string' },
    ]);
  });

  it('keeps custom lower-case messages and replaces capitalised ones', () => {
    const schema = z.object({
      a: z.string().refine(() => false, 'is already taken'),
      b: z.string().refine(() => false, 'Bad value'),
    });
    expect(fieldErrorsFromZod(errorOf(schema, { a: 'x', b: 'y' }))).toEqual([
      { path: ['a'], message: 'is already taken' },
      { path: ['b'], message: 'is not valid' },
    ]);
  });

  it('stringifies symbol path segments', () => {
    const error = new z.ZodError([{ code: 'custom', path: [Symbol('sym'), 3], message: 'is odd', input: undefined }]);
    expect(fieldErrorsFromZod(error)).toEqual([{ path: ['sym', '3'], message: 'is odd' }]);
  });
});

describe('validate', () => {
  it('returns the parsed value on success', () => {
    const result = validate(phoneSchema('US'), '(201) 555-0123');
    expect(result).toEqual({ ok: true, value: '+12015550123' });
    expectTypeOf(result).toEqualTypeOf<{ ok: true; value: string } | { ok: false; errors: FieldError[] }>();
  });

  it('returns field errors on failure', () => {
    expect(
      validate(z.object({ telephone: phoneSchema('US'), password: passwordSchema }), { telephone: '555-123-4567', password: 'password' }, [
        'input',
      ]),
    ).toEqual({
      ok: false,
      errors: [
        { path: ['input', 'telephone'], message: 'is not a valid phone number' },
        { path: ['input', 'password'], message: 'is too common' },
      ],
    });
  });

  it('names the received type even for foreign schemas', () => {
    expect(validate(z.object({ a: z.string() }), { a: { $gt: '' } })).toEqual({
      ok: false,
      errors: [{ path: ['a'], message: 'must be a string, not an object' }],
    });
  });

  it('never echoes sensitive input in messages', () => {
    const secret = 'hunter2-SECRET-666-12-3456';
    const schema = z.object({ password: passwordSchema, email: emailSchema, other: z.literal('x') });
    const result = validate(schema, { password: `${secret}\u0000`, email: secret, other: secret });
    expect(result.ok).toBe(false);
    if (!result.ok) for (const e of result.errors) expect(e.message).not.toContain(secret);
  });

  it('produces messages that start lower-case', () => {
    const schema = z.object({ a: z.string(), b: z.array(z.number()).min(2), c: z.union([z.string(), z.number()]), d: emailSchema });
    const result = validate(schema, { b: [1], c: true, d: 5 });
    expect(result.ok).toBe(false);
    if (!result.ok) for (const e of result.errors) expect(e.message).toMatch(/^[a-z]/);
  });
});

describe('fieldNameOf', () => {
  it('skips array indexes', () => {
    expect(fieldNameOf(['input', 'licenses', '2'])).toBe('licenses');
    expect(fieldNameOf(['input', 'email'])).toBe('email');
    expect(fieldNameOf(['0', '1'])).toBeUndefined();
    expect(fieldNameOf([])).toBeUndefined();
  });
});
