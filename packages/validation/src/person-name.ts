import { z } from 'zod';
import { human } from './error-map.js';
import { rule, singleLineText } from './text.js';

// Letters of any script plus combining marks (needed by e.g. Devanagari and by
// decomposed accents), and the punctuation real names use: spaces,
// apostrophes (' and ’), hyphens and periods ("Mary-Jane", "O'Brien", "J. R.").
const NAME_PATTERN = /^[\p{L}\p{M} '’.-]+$/u;

/** A first, middle or last name. */
export const personNameSchema = singleLineText({ max: 100 }).check(
  rule((s) => NAME_PATTERN.test(s), 'must contain only letters, spaces, apostrophes, hyphens and periods'),
  rule((s) => /\p{L}/u.test(s), 'must contain a letter'),
);

/** A's NameInput. `middle` may be omitted or null (GraphQL's "no value"). */
export const nameInputSchema = z.strictObject(
  {
    first: personNameSchema,
    middle: personNameSchema.nullish(),
    last: personNameSchema,
  },
  human,
);
