import { rule, singleLineText } from './text.js';

// 63 is the DNS label limit, so a slug can also serve as a subdomain.
const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const slugSchema = singleLineText({ min: 2, max: 63 }).check(
  rule((s) => SLUG_PATTERN.test(s), 'must contain only lowercase letters, digits and single dashes, and not start or end with a dash'),
);
