/**
 * D's search over first name, last name, username and email, served by an
 * index instead of a scan: each user stores the lower-cased prefixes of those
 * values and of their words (`searchTokens`, indexed with the organization
 * id), so `fullText` is one equality match on an indexed array. The embedded
 * store has no collation or text index, which is why the normalized copy is
 * stored rather than computed in the query.
 */
export const MAX_TOKEN_LENGTH = 32;

function prefixes(value: string, into: Set<string>) {
  for (let i = 1; i <= Math.min(value.length, MAX_TOKEN_LENGTH); i++) into.add(value.slice(0, i));
}

export function searchTokensOf(fields: { firstName: string; lastName: string; email: string; username?: string | null }): string[] {
  const tokens = new Set<string>();
  for (const raw of [fields.firstName, fields.lastName, fields.email, fields.username ?? '']) {
    const value = raw.trim().toLowerCase();
    if (!value) continue;
    prefixes(value, tokens);
    for (const word of value.split(/[^\p{L}\p{N}]+/u)) if (word) prefixes(word, tokens);
    // The email's domain ("jedi.org") is searched as a whole too.
    const at = value.indexOf('@');
    if (at >= 0) prefixes(value.slice(at + 1), tokens);
  }
  return [...tokens];
}

/** The query side: the same normalization, cut to the longest indexed prefix. */
export const searchTokenOf = (fullText: string): string => fullText.trim().toLowerCase().slice(0, MAX_TOKEN_LENGTH);
