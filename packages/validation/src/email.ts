import { z } from 'zod';
import { rule, singleLineText } from './text.js';

// 254 is the longest address that fits in an SMTP forward-path (RFC 5321).
export const EMAIL_MAX_LENGTH = 254;
const LOCAL_PART_MAX_LENGTH = 64;

// zod's own pattern: the practical subset of RFC 5322 that mail providers accept.
const EMAIL_PATTERN = z.regexes.email;

function isEmail(s: string): boolean {
  const at = s.lastIndexOf('@');
  return at > 0 && at <= LOCAL_PART_MAX_LENGTH && EMAIL_PATTERN.test(s);
}

/** A trimmed email address; case is kept (see `normalizeEmail` for lookups). */
export const emailSchema = singleLineText({ max: EMAIL_MAX_LENGTH }).check(rule(isEmail, 'is not a valid email address'));

/** Canonical form for uniqueness checks and lookups: trimmed and lower-cased. */
export function normalizeEmail(s: string): string {
  return s.trim().toLowerCase();
}
