/**
 * The one-time start-up build of the search index (issue 13), against the
 * single-pass build it replaced: `node bench/dist/startup-build-cost.js [users]`
 * (default 5,000; run `npx turbo run build` first). One organization on a
 * fresh embedded store, nothing else running. Not part of `npm run bench`: it
 * measures an upgrade step, run once per database.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Connection } from 'mongoose';
import { repoRoot } from '@usergraph/embedded-store';
import { connectDatabase } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { personOf } from './seed.js';

interface Profile {
  _id: string;
  organizationId: string;
  email: string;
  emailNormalized: string;
  firstName: string;
  lastName: string;
  username: string;
}

/** `@usergraph/org-users` does not export these modules: loaded from the built files. */
const load = async <T>(path: string) => (await import(pathToFileURL(join(repoRoot(), 'apps/org-users/dist', path)).href)) as T;

const users = Number(process.argv[2] ?? 5000);
const store = await startTestStore();
try {
  const conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('startup_build'), appName: 'bench' });
  const { createSearchIndex } = await load<{ createSearchIndex: (conn: Connection) => { addMany: (users: Profile[]) => Promise<void> } }>(
    'modules/users/search-index.js',
  );
  const { buildSearchIndex } = await load<{ buildSearchIndex: (deps: unknown) => Promise<unknown> }>('modules/users/search-index-build.js');
  const { createUserRepository } = await load<{ createUserRepository: (conn: Connection) => unknown }>('modules/users/user-repository.js');
  const { createOrganizationRepository } = await load<{
    createOrganizationRepository: (conn: Connection) => { insert: (doc: unknown) => Promise<unknown> };
  }>('modules/organizations/organization-repository.js');
  const organizationId = 'org-startup-build';
  const organizations = createOrganizationRepository(conn);
  await organizations.insert({ _id: organizationId, slug: 'startup-build', name: 'Startup build', status: 'ACTIVE', selfSignup: false });
  const now = new Date();
  const profiles: Profile[] = Array.from({ length: users }, (_, i) => {
    const p = personOf(i);
    return {
      _id: `u${String(i).padStart(8, '0')}`,
      organizationId,
      email: p.email,
      emailNormalized: p.email,
      firstName: p.firstName,
      lastName: p.lastName,
      username: p.username,
    };
  });
  await conn
    .collection('users')
    .insertMany(
      profiles.map((p) => ({ ...p, status: 'ACTIVE', isSubscribed: false, addresses: [], createdAt: now, updatedAt: now })) as never[],
    );

  let started = Date.now();
  const index = createSearchIndex(conn);
  for (let i = 0; i < users; i += 1000) await index.addMany(profiles.slice(i, i + 1000));
  const singlePassSeconds = (Date.now() - started) / 1000;
  for (const name of ['user_search_heads', 'user_search_buckets']) await conn.collection(name).deleteMany({});

  started = Date.now();
  const report = await buildSearchIndex({ organizations, users: createUserRepository(conn), searchIndex: createSearchIndex(conn) });
  const startupBuildSeconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ users, singlePassSeconds, startupBuildSeconds, report }));
  await conn.close();
} finally {
  await store.stop();
}
