/**
 * What D's search matches. A user matches a query when the lower-cased query
 * is a prefix of one of the user's searchable strings: first name, last name,
 * email, username, each of their words, and the email's domain ("jedi.org").
 * search-index.ts stores these as posting lists; this module only decides
 * what matches, so the index and its checks agree.
 */

/**
 * Lists are kept for prefixes up to this length; a longer query reads the
 * list of its first three characters and checks each entry. Every list costs
 * two writes per user on the embedded store (~1 ms of store CPU each), so
 * short prefixes keep registration cheap while the lists stay selective.
 */
export const INDEXED_PREFIX_LENGTH = 3;

export interface SearchFields {
  firstName: string;
  lastName: string;
  email: string;
  username?: string | null | undefined;
}

/** The four searched values, normalized: what an index entry carries to check a longer query. */
export const searchValuesOf = (fields: SearchFields): string[] =>
  [fields.firstName, fields.lastName, fields.email, fields.username ?? ''].map((v) => v.trim().toLowerCase());

/** Every string a query may be a prefix of. */
export function searchableStringsOf(values: readonly string[]): string[] {
  const strings = new Set<string>();
  for (const value of values) {
    if (!value) continue;
    strings.add(value);
    for (const word of value.split(/[^\p{L}\p{N}]+/u)) if (word) strings.add(word);
    const at = value.indexOf('@');
    if (at >= 0) strings.add(value.slice(at + 1));
  }
  return [...strings];
}

/** The lists a user belongs to: every prefix of a searchable string, up to INDEXED_PREFIX_LENGTH characters. */
export function indexTokensOf(values: readonly string[]): string[] {
  const tokens = new Set<string>();
  for (const s of searchableStringsOf(values)) {
    for (let i = 1; i <= Math.min(s.length, INDEXED_PREFIX_LENGTH); i++) tokens.add(s.slice(0, i));
  }
  return [...tokens];
}

/** The query side of the same normalization. */
export const normalizeQuery = (fullText: string): string => fullText.trim().toLowerCase();

export const matchesQuery = (values: readonly string[], query: string): boolean =>
  searchableStringsOf(values).some((s) => s.startsWith(query));
