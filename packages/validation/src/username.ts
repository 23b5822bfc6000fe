import { rule, singleLineText } from './text.js';

// ASCII only: usernames appear in URLs and mentions, and mixed scripts invite
// look-alike impersonation ("раul" with a Cyrillic "р").
const USERNAME_CHARACTERS = /^[A-Za-z0-9_.-]+$/;

export const usernameSchema = singleLineText({ min: 3, max: 32 }).check(
  rule((s) => USERNAME_CHARACTERS.test(s), 'must contain only letters, digits, underscores, dots and dashes'),
  // Leading punctuation reads as markup in mentions and paths ("_x", ".x").
  rule((s) => /^[A-Za-z0-9]/.test(s), 'must start with a letter or digit'),
);

/** Canonical form for uniqueness checks: usernames are case-insensitive. */
export function normalizeUsername(s: string): string {
  return s.trim().toLowerCase();
}
