import type { z } from 'zod';
import { human, humanMessage } from './error-map.js';

// The one neutral shape every API dialect's errors are built from.

/** A problem with one input field. `path` segments are strings; array indexes are decimal strings. */
export interface FieldError {
  path: string[];
  message: string;
}

const STARTS_LOWER_CASE = /^\p{Ll}/u;
const ARTICLE: Record<string, string> = {
  null: 'null',
  undefined: 'undefined',
  NaN: 'NaN',
  Infinity: 'an infinite number',
  array: 'an array',
  object: 'an object',
};

// Schemas built elsewhere may still carry zod's stock sentences ("Invalid
// input: expected string, received number"). Our messages are predicates that
// start lower-case; anything else is rewritten from the issue's structure.
function messageFor(issue: z.core.$ZodIssue): string {
  if (STARTS_LOWER_CASE.test(issue.message)) return issue.message;
  if (issue.code === 'invalid_type') {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    if (received === 'undefined') return 'is required';
    if (issue.expected === 'int' && received === 'number') return 'must be a whole number';
    if (received !== undefined) {
      return `${humanMessage(issue)}, not ${ARTICLE[received] ?? `a ${received}`}`;
    }
  }
  return humanMessage(issue);
}

function segment(key: PropertyKey): string {
  return typeof key === 'symbol' ? (key.description ?? 'symbol') : String(key);
}

/** One FieldError per zod issue, its path prefixed with `basePath` (e.g. ["input"]). */
export function fieldErrorsFromZod(error: z.ZodError, basePath: string[] = []): FieldError[] {
  return error.issues.map((issue) => ({
    path: [...basePath, ...issue.path.map(segment)],
    message: messageFor(issue),
  }));
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Parses `input` with `schema`. Human messages are used even for schemas not
 * built in this package, and type errors name the type that was received.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  basePath: string[] = [],
): { ok: true; value: z.output<S> } | { ok: false; errors: FieldError[] } {
  const result = schema.safeParse(input, human);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: fieldErrorsFromZod(result.error, basePath) };
}

/** The field a path names: its last segment that is not an array index. */
export function fieldNameOf(path: readonly string[]): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i];
    if (s !== undefined && !/^\d+$/.test(s)) return s;
  }
  return undefined;
}
