import { z } from 'zod';
import { COMMON_PASSWORDS } from './common-passwords.js';
import { human } from './error-map.js';
import { lengthBetween, noControlCharacters, rule, wellFormedText } from './text.js';

// NIST SP 800-63B: at least 8 characters, allow long passphrases, no
// composition rules, but refuse passwords known from breach lists.
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

let commonSet: ReadonlySet<string> | undefined;

/** Whether `password` (case-insensitively, ignoring surrounding spaces) is on the bundled common list. */
export function isCommonPassword(password: string): boolean {
  commonSet ??= new Set(COMMON_PASSWORDS);
  const lower = password.toLowerCase();
  return commonSet.has(lower) || commonSet.has(lower.trim());
}

/** A new password. Not trimmed: every character the user typed is part of it. */
export const passwordSchema = z.string(human).check(
  lengthBetween(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH),
  noControlCharacters,
  wellFormedText,
  rule((s) => !isCommonPassword(s), 'is too common'),
);
