import { rule, singleLineText } from './text.js';

// Tax / VAT numbers come in many national layouts ("GB123456789",
// "DE 123/456/78901", "12.345.678/0001-90"), so only the alphabet is checked.
export const taxNumberSchema = singleLineText({ max: 32 }).check(
  rule((s) => /^[A-Za-z0-9 ./-]+$/.test(s), 'must contain only letters, digits, spaces, dashes, dots and slashes'),
);
