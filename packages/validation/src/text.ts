import { z } from 'zod';
import { human } from './error-map.js';

// Shared building blocks for single-line text fields. Every length is counted
// in Unicode code points, so "Zoë" is 3 characters and an emoji is 1, matching
// what a person typing the value would count.

/** C0 controls, DEL and C1 controls: never legitimate inside one-line text. */
export const CONTROL_CHARACTERS = /\p{Cc}/u;

/** Number of Unicode code points in `s` (a surrogate pair counts once). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

type Check = z.core.CheckFn<string>;

/**
 * Code-point length check. Fails fast (aborting later checks) so costly
 * patterns never run on a huge string, and a field gets one message, not three.
 */
export function lengthBetween(min: number, max: number): Check {
  return (ctx) => {
    const units = ctx.value.length;
    // A code point is 1 or 2 UTF-16 units: skip counting when the answer is certain.
    const n = units <= max && units >= min * 2 ? units : units > max * 2 ? units : codePointLength(ctx.value);
    if (n > max) {
      ctx.issues.push({ code: 'too_big', origin: 'string', maximum: max, inclusive: true, input: ctx.value, continue: false });
    } else if (n < min) {
      ctx.issues.push({ code: 'too_small', origin: 'string', minimum: min, inclusive: true, input: ctx.value, continue: false });
    }
  };
}

/** A failing predicate that aborts the remaining checks with a fixed message. */
export function rule(test: (value: string) => boolean, message: string): Check {
  return (ctx) => {
    if (!test(ctx.value)) {
      ctx.issues.push({ code: 'custom', message, input: ctx.value, continue: false });
    }
  };
}

export const noControlCharacters: Check = rule((s) => !CONTROL_CHARACTERS.test(s), 'must not contain control characters');

/**
 * An unpaired UTF-16 surrogate (JSON allows "\ud800") is not text: UTF-8
 * storage (BSON) silently turns it into U+FFFD, so what was accepted is not
 * what is stored, and two different values collapse into one.
 */
export const LONE_SURROGATE = /\p{Cs}/u;

export const wellFormedText: Check = rule((s) => !LONE_SURROGATE.test(s), 'must not contain unpaired surrogate characters');

export interface TextOptions {
  /** Minimum length in code points (after trimming). Defaults to 1. */
  min?: number;
  /** Maximum length in code points (after trimming). */
  max: number;
  /** Trim surrounding whitespace first. Defaults to true. */
  trim?: boolean;
}

/**
 * A trimmed, NFC-normalised, length-limited string without control
 * characters: the base of every free-text field here. NFC makes "Zoë" typed
 * as "e" + combining diaeresis equal to the precomposed "ë", so stored values
 * compare and count the same. Add `.check(rule(...))` for a pattern.
 */
export function singleLineText({ min = 1, max, trim = true }: TextOptions): z.ZodString {
  const base = z.string(human);
  return (trim ? base.trim() : base).normalize('NFC').check(lengthBetween(min, max), noControlCharacters, wellFormedText);
}
