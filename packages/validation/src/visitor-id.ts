import { rule, singleLineText } from './text.js';

// An analytics visitor id as set by the client's tracker (a UUID, a cookie
// value...): any printable ASCII, since we only store and compare it.
export const visitorIdSchema = singleLineText({ max: 128 }).check(
  rule((s) => /^[\x20-\x7e]+$/.test(s), 'must contain only printable ASCII characters'),
);
