import { expect } from 'vitest';
import type { z } from 'zod';
import { validate } from '../field-errors.js';

// Shared assertions for the schema tests.

/** Parses through `validate` and returns the output, failing the test on errors. */
export function valueOf<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = validate(schema, input);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(input)} to be valid, got ${JSON.stringify(result.errors)}`);
  return result.value;
}

/** The messages `validate` reports for `input` (empty when valid). */
export function messagesOf(schema: z.ZodType, input: unknown): string[] {
  const result = validate(schema, input);
  return result.ok ? [] : result.errors.map((e) => e.message);
}

/** The single message reported for `input`. */
export function messageOf(schema: z.ZodType, input: unknown): string {
  const messages = messagesOf(schema, input);
  expect(messages, `messages for ${JSON.stringify(input)?.slice(0, 80)}`).toHaveLength(1);
  return messages[0] ?? '';
}

/** Non-string inputs, including a NoSQL operator object, and the message each must get. */
export const NON_STRINGS: ReadonlyArray<[unknown, string]> = [
  [42, 'must be a string, not a number'],
  [true, 'must be a string, not a boolean'],
  [null, 'must be a string, not null'],
  [{ $gt: '' }, 'must be a string, not an object'],
  [['a'], 'must be a string, not an array'],
  [undefined, 'is required'],
];

/** Asserts that a string schema rejects every non-string with a message naming the type. */
export function expectRejectsNonStrings(schema: z.ZodType): void {
  for (const [input, message] of NON_STRINGS) {
    expect(messagesOf(schema, input)).toEqual([message]);
  }
}
