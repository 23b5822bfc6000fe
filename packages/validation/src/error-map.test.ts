import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeType, human, humanMessage } from './error-map.js';

describe('describeType', () => {
  it.each([
    ['x', 'a string'],
    [1, 'a number'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'an infinite number'],
    [10n, 'a bigint'],
    [false, 'a boolean'],
    [undefined, 'undefined'],
    [null, 'null'],
    [[], 'an array'],
    [{}, 'an object'],
    [new Date(0), 'a date'],
    [Symbol('s'), 'a symbol'],
    [() => 1, 'a function'],
  ])('%s is %s', (value, expected) => {
    expect(describeType(value)).toBe(expected);
  });
});

describe('schemas built with the human error map', () => {
  const messages = (schema: z.ZodType, input: unknown) => schema.safeParse(input).error?.issues.map((i) => i.message);

  it('names the received type without echoing the value', () => {
    expect(messages(z.string(human), 12345)).toEqual(['must be a string, not a number']);
    expect(messages(z.number(human), 'secret')).toEqual(['must be a number, not a string']);
    expect(messages(z.object({}, human), 'secret')).toEqual(['must be an object, not a string']);
    expect(messages(z.array(z.string(), human), { a: 1 })).toEqual(['must be an array, not an object']);
  });

  it('says "is required" for a missing value', () => {
    expect(messages(z.object({ a: z.string(human) }), {})).toEqual(['is required']);
  });

  it('describes lengths, sizes and ranges', () => {
    expect(messages(z.string(human).min(3), 'ab')).toEqual(['must be at least 3 characters']);
    expect(messages(z.string(human).min(1), '')).toEqual(['must not be empty']);
    expect(messages(z.string(human).max(1), 'ab')).toEqual(['must be at most 1 character']);
    expect(messages(z.string(human).length(2), 'abc')).toEqual(['must be exactly 2 characters']);
    expect(messages(z.array(z.number(), human).max(2), [1, 2, 3])).toEqual(['must be at most 2 items']);
    expect(messages(z.array(z.number(), human).min(1), [])).toEqual(['must not be empty']);
    expect(messages(z.number(human).gt(5), 5)).toEqual(['must be more than 5']);
    expect(messages(z.number(human).lt(5), 5)).toEqual(['must be less than 5']);
    expect(messages(z.number(human).max(5), 6)).toEqual(['must be at most 5']);
    expect(messages(z.number(human).multipleOf(5), 6)).toEqual(['must be a multiple of 5']);
  });

  it('describes integers, enums, literals, formats and unknown keys', () => {
    expect(messages(z.int(human), 1.5)).toEqual(['must be a whole number']);
    expect(messages(z.enum(['A', 'B'], human), 'C')).toEqual(['must be one of A, B']);
    expect(messages(z.literal('A', human), 'C')).toEqual(['must be A']);
    expect(messages(z.email(human), 'nope')).toEqual(['is not a valid email address']);
    expect(messages(z.string(human).regex(/^a$/), 'b')).toEqual(['is not in a valid format']);
    expect(messages(z.uuid(human), 'b')).toEqual(['is not a valid uuid']);
    expect(messages(z.strictObject({}, human), { x: 1 })).toEqual(['has an unknown field "x"']);
    expect(messages(z.union([z.string(), z.number()], human), true)).toEqual(['is not valid']);
    expect(
      messages(
        z.string(human).refine(() => false),
        'x',
      ),
    ).toEqual(['is not valid']);
  });

  it('lists at most five unknown keys, each cut short', () => {
    const input = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'k'.repeat(1000)].map((k) => [k, 1]));
    const [message] = messages(z.strictObject({}, human), input) ?? [];
    expect(message).toBe('has unknown fields "a", "b", "c", "d", "e" and 3 more');
    const [long] = messages(z.strictObject({}, human), { ['k'.repeat(1000)]: 1 }) ?? [];
    expect(long).toBe(`has an unknown field "${'k'.repeat(40)}…"`);
  });
});

describe('humanMessage on finalised issues (no input available)', () => {
  it('falls back to the expected type alone', () => {
    expect(humanMessage({ code: 'invalid_type', expected: 'string', path: [], message: 'x' })).toBe('must be a string');
  });
});
