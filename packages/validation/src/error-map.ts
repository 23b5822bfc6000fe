import type { z } from 'zod';

// Every schema in this package passes this map as its `error` option, so the
// messages zod stores on issues are already the predicates we show to people
// ("must be at most 100 characters"), read after a field name. Messages never
// include the input itself: inputs may be passwords or national ids.

type AnyIssue = z.core.$ZodRawIssue | z.core.$ZodIssue;

/** "a string", "an object", "null"... — names the JS type of an input without echoing it. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'a number' : 'an infinite number';
    case 'bigint':
      return 'a bigint';
    case 'boolean':
      return 'a boolean';
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a bigint',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  date: 'a date',
  record: 'an object',
  map: 'a map',
  set: 'a set',
};

function expectedName(expected: string): string {
  return EXPECTED[expected] ?? `a ${expected}`;
}

function unitFor(origin: string | undefined, n: number | bigint): string {
  const one = Number(n) === 1;
  if (origin === 'string') return one ? ' character' : ' characters';
  if (origin === 'array' || origin === 'set') return one ? ' item' : ' items';
  return '';
}

function invalidTypeMessage(expected: string, input: unknown, hasInput: boolean): string {
  if (hasInput && input === undefined) return 'is required';
  // zod reports a fractional number against z.int() as an invalid type.
  if (expected === 'int' && typeof input === 'number' && Number.isFinite(input)) return 'must be a whole number';
  const want = expectedName(expected);
  return hasInput ? `must be ${want}, not ${describeType(input)}` : `must be ${want}`;
}

/**
 * The human predicate for any zod issue. Raw issues (inside an error map) carry
 * the input, so invalid types name what was received; finalised issues do not.
 */
export function humanMessage(issue: AnyIssue): string {
  const hasInput = 'input' in issue;
  switch (issue.code) {
    case 'invalid_type':
      return invalidTypeMessage(issue.expected, hasInput ? issue.input : undefined, hasInput);
    case 'too_small': {
      const min = issue.minimum;
      if (issue.origin === 'string' && Number(min) === 1) return 'must not be empty';
      if ((issue.origin === 'array' || issue.origin === 'set') && Number(min) === 1) return 'must not be empty';
      const unit = unitFor(issue.origin, min);
      if (issue.exact) return `must be exactly ${min}${unit}`;
      return issue.inclusive === false ? `must be more than ${min}${unit}` : `must be at least ${min}${unit}`;
    }
    case 'too_big': {
      const max = issue.maximum;
      const unit = unitFor(issue.origin, max);
      if (issue.exact) return `must be exactly ${max}${unit}`;
      return issue.inclusive === false ? `must be less than ${max}${unit}` : `must be at most ${max}${unit}`;
    }
    case 'invalid_format':
      switch (issue.format) {
        case 'email':
          return 'is not a valid email address';
        case 'regex':
          return 'is not in a valid format';
        default:
          return `is not a valid ${issue.format}`;
      }
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return unknownKeysMessage(issue.keys);
    case 'invalid_value': {
      const shown = issue.values.map((v) => String(v));
      return shown.length === 1 ? `must be ${shown[0]}` : `must be one of ${shown.join(', ')}`;
    }
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
    default:
      return 'is not valid';
  }
}

// Key names come from the input, so they are quoted and cut short: a hostile
// client must not be able to make us reflect megabytes of text.
function unknownKeysMessage(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k));
  const more = keys.length > 5 ? ` and ${keys.length - 5} more` : '';
  return keys.length === 1 ? `has an unknown field ${shown[0]}` : `has unknown fields ${shown.join(', ')}${more}`;
}

/** Pass as `{ error: humanErrorMap }` to a zod schema or to `safeParse`. */
export const humanErrorMap: z.core.$ZodErrorMap = (issue) => humanMessage(issue);

/** Shorthand for the params object every schema here is built with. */
export const human = { error: humanErrorMap } as const;
