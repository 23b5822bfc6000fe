/**
 * The bulk seeder for P1 and P6: profile documents written straight into
 * org-users' database with mongoose `insertMany`, in the shape of
 * apps/org-users/src/modules/users/user-repository.ts (UserDoc), with the
 * `searchTokens` org-users itself would compute. Seeded profiles have no
 * credentials (identity) and no licenses (licensing): they are what D's search
 * reads, nothing more.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose, { Schema, type Connection } from 'mongoose';
import { repoRoot } from '@usergraph/mongo';

type TokensFn = (fields: { firstName: string; lastName: string; email: string; username?: string | null }) => string[];

/**
 * A copy of apps/org-users/src/modules/users/search-tokens.ts, used only if the
 * built file cannot be loaded (the package does not export it).
 */
function replicaSearchTokensOf(fields: { firstName: string; lastName: string; email: string; username?: string | null }): string[] {
  const MAX = 32;
  const tokens = new Set<string>();
  const prefixes = (value: string) => {
    for (let i = 1; i <= Math.min(value.length, MAX); i++) tokens.add(value.slice(0, i));
  };
  for (const raw of [fields.firstName, fields.lastName, fields.email, fields.username ?? '']) {
    const value = raw.trim().toLowerCase();
    if (!value) continue;
    prefixes(value);
    for (const word of value.split(/[^\p{L}\p{N}]+/u)) if (word) prefixes(word);
    const at = value.indexOf('@');
    if (at >= 0) prefixes(value.slice(at + 1));
  }
  return [...tokens];
}

/**
 * org-users' own function: `@usergraph/org-users` does not export it, so it is
 * loaded from the built file (apps/org-users/dist/modules/users/search-tokens.js).
 */
export async function loadSearchTokens(): Promise<{ fn: TokensFn; source: string }> {
  const file = join(repoRoot(), 'apps/org-users/dist/modules/users/search-tokens.js');
  try {
    const mod = (await import(pathToFileURL(file).href)) as { searchTokensOf?: TokensFn };
    if (typeof mod.searchTokensOf === 'function') return { fn: mod.searchTokensOf, source: 'apps/org-users/dist/modules/users/search-tokens.js (org-users\' own function)' };
  } catch {
    // fall through to the replica
  }
  return { fn: replicaSearchTokensOf, source: 'bench/src/seed.ts replica of search-tokens.ts (the built file could not be loaded)' };
}

const FIRST = ['Alice', 'Aaron', 'Amelia', 'Bruno', 'Chloe', 'Daniel', 'Emma', 'Felix', 'Grace', 'Hugo', 'Iris', 'Jonas', 'Karim', 'Lena', 'Marco', 'Nora', 'Oscar', 'Paula', 'Quentin', 'Rosa', 'Samir', 'Tessa', 'Ugo', 'Vera', 'Wei', 'Xavier', 'Yara', 'Zoe', 'Beatrice', 'Colin'];
const LAST = ['Anderson', 'Bouchard', 'Chen', 'Dubois', 'Eriksen', 'Fontaine', 'Garcia', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Lefebvre', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quinn', 'Rossi', 'Schmidt', 'Tremblay', 'Ulrich', 'Vasquez', 'Weber', 'Xu', 'Yilmaz', 'Zimmermann', 'Becker', 'Costa', 'Dimitrov', 'Martin'];
const DOMAINS = ['example.com', 'mail.test', 'corp.test', 'acme.test', 'northwind.test', 'contoso.test', 'globex.test', 'initech.test'];

/** A user name and email, varied enough for prefix search to select a fraction. */
export function personOf(i: number) {
  const firstName = FIRST[i % FIRST.length]!;
  const lastName = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
  const tag = i.toString(36);
  const username = `${firstName}_${lastName}_${tag}`.toLowerCase();
  const email = `${firstName}.${lastName}.${tag}@${DOMAINS[i % DOMAINS.length]}`.toLowerCase();
  return { firstName, lastName, username, email };
}

const seedSchema = new Schema({ _id: String }, { strict: false, versionKey: false, collection: 'users' });

export interface SeedResult {
  inserted: number;
  /** How many inserted profiles each of `countTerms` matches (a search token equal to it). */
  matches: Record<string, number>;
  seconds: number;
  perSecond: number;
}

export async function openOrgUsersDb(mongodbUri: string, dbName: string): Promise<Connection> {
  return mongoose.createConnection(mongodbUri, { dbName }).asPromise();
}

/**
 * Inserts `count` profiles into `organizationId`, numbered from `from`, in
 * batches of `batchSize`, with the tokens `tokensOf` computes.
 */
export async function seedProfiles(
  conn: Connection,
  opts: { organizationId: string; from: number; count: number; tokensOf: TokensFn; batchSize?: number; countTerms?: string[]; onProgress?: (done: number) => void },
): Promise<SeedResult> {
  const Model = conn.models.BenchUser ?? conn.model('BenchUser', seedSchema);
  const batchSize = opts.batchSize ?? 1000;
  const started = process.hrtime.bigint();
  let inserted = 0;
  const matches: Record<string, number> = Object.fromEntries((opts.countTerms ?? []).map((t) => [t, 0]));
  for (let start = 0; start < opts.count; start += batchSize) {
    const now = new Date();
    const docs = [];
    for (let i = start; i < Math.min(opts.count, start + batchSize); i++) {
      const p = personOf(opts.from + i);
      const searchTokens = opts.tokensOf(p);
      for (const t of opts.countTerms ?? []) if (searchTokens.includes(t)) matches[t]!++;
      docs.push({
        _id: new mongoose.Types.ObjectId().toHexString(),
        organizationId: opts.organizationId,
        email: p.email,
        emailNormalized: p.email,
        firstName: p.firstName,
        lastName: p.lastName,
        status: 'ACTIVE',
        isSubscribed: false,
        addresses: [],
        username: p.username,
        searchTokens,
        createdAt: now,
        updatedAt: now,
      });
    }
    await Model.insertMany(docs, { ordered: false, lean: true });
    inserted += docs.length;
    opts.onProgress?.(inserted);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { inserted, matches, seconds, perSecond: inserted / seconds };
}
