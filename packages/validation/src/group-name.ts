import { rule, singleLineText } from './text.js';

// Group names are identifiers matched case-sensitively by other services, so
// lower case is refused rather than silently upper-cased.
const GROUP_NAME_PATTERN = /^[A-Z0-9_-]+$/;

export const groupNameSchema = singleLineText({ max: 64 }).check(
  rule((s) => s === s.toUpperCase(), 'must be UPPERCASE'),
  rule((s) => GROUP_NAME_PATTERN.test(s), 'must contain only uppercase letters, digits, underscores and dashes'),
);
