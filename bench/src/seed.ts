/**
 * The bulk seeder for P1 and P6: profile documents written straight into
 * org-users' database with mongoose `insertMany`, in the shape of
 * apps/org-users/src/modules/users/user-repository.ts (UserDoc), then added
 * to org-users' search index by org-users' own bulk indexer. Seeded profiles
 * have no credentials (identity) and no licenses (licensing): they are what
 * D's search reads, nothing more.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose, { Schema, type Connection } from 'mongoose';
import { repoRoot } from '@usergraph/embedded-store';

interface SearchFields {
  firstName: string;
  lastName: string;
  email: string;
  username?: string | null;
}
interface IndexedUser extends SearchFields {
  _id: string;
  organizationId: string;
}

/** org-users' search, as the seeder needs it: whether a profile matches a term, and the bulk indexer. */
export interface OrgUsersSearch {
  matches(fields: SearchFields, term: string): boolean;
  addMany(conn: Connection, users: IndexedUser[]): Promise<void>;
}

/**
 * `@usergraph/org-users` does not export its search modules, so they are
 * loaded from the built files (`npm run bench` builds first).
 */
export async function loadOrgUsersSearch(): Promise<OrgUsersSearch> {
  const dist = join(repoRoot(), 'apps/org-users/dist/modules/users');
  const tokens = (await import(pathToFileURL(join(dist, 'search-tokens.js')).href)) as {
    matchesQuery(values: string[], query: string): boolean;
    searchValuesOf(fields: SearchFields): string[];
  };
  const index = (await import(pathToFileURL(join(dist, 'search-index.js')).href)) as {
    createSearchIndex(conn: Connection): { addMany(users: IndexedUser[]): Promise<void> };
  };
  return {
    matches: (fields, term) => tokens.matchesQuery(tokens.searchValuesOf(fields), term.trim().toLowerCase()),
    addMany: (conn, users) => index.createSearchIndex(conn).addMany(users),
  };
}

const FIRST = [
  'Alice',
  'Aaron',
  'Amelia',
  'Bruno',
  'Chloe',
  'Daniel',
  'Emma',
  'Felix',
  'Grace',
  'Hugo',
  'Iris',
  'Jonas',
  'Karim',
  'Lena',
  'Marco',
  'Nora',
  'Oscar',
  'Paula',
  'Quentin',
  'Rosa',
  'Samir',
  'Tessa',
  'Ugo',
  'Vera',
  'Wei',
  'Xavier',
  'Yara',
  'Zoe',
  'Beatrice',
  'Colin',
];
const LAST = [
  'Anderson',
  'Bouchard',
  'Chen',
  'Dubois',
  'Eriksen',
  'Fontaine',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lefebvre',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quinn',
  'Rossi',
  'Schmidt',
  'Tremblay',
  'Ulrich',
  'Vasquez',
  'Weber',
  'Xu',
  'Yilmaz',
  'Zimmermann',
  'Becker',
  'Costa',
  'Dimitrov',
  'Martin',
];
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
  /** How many inserted profiles each of `countTerms` matches. */
  matches: Record<string, number>;
  seconds: number;
  perSecond: number;
}

export async function openOrgUsersDb(mongodbUri: string, dbName: string): Promise<Connection> {
  return mongoose.createConnection(mongodbUri, { dbName }).asPromise();
}

/**
 * Inserts `count` profiles into `organizationId`, numbered from `from`, in
 * batches of `batchSize`, each indexed for search after its insert.
 */
export async function seedProfiles(
  conn: Connection,
  opts: { organizationId: string; from: number; count: number; search: OrgUsersSearch; batchSize?: number; countTerms?: string[] },
): Promise<SeedResult> {
  const Model = conn.models.BenchUser ?? conn.model('BenchUser', seedSchema);
  // Large batches: the index writes each of its lists once per batch (P6's 100k fit in one).
  const batchSize = opts.batchSize ?? 100_000;
  const started = process.hrtime.bigint();
  let inserted = 0;
  const matches: Record<string, number> = Object.fromEntries((opts.countTerms ?? []).map((t) => [t, 0]));
  for (let start = 0; start < opts.count; start += batchSize) {
    const now = new Date();
    const docs = [];
    for (let i = start; i < Math.min(opts.count, start + batchSize); i++) {
      const p = personOf(opts.from + i);
      for (const t of opts.countTerms ?? []) if (opts.search.matches(p, t)) matches[t]!++;
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
        createdAt: now,
        updatedAt: now,
      });
    }
    await Model.insertMany(docs, { ordered: false, lean: true });
    await opts.search.addMany(conn, docs);
    inserted += docs.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { inserted, matches, seconds, perSecond: inserted / seconds };
}
