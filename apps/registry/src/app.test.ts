import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger, READER, registryKeyFor, registryTokenFrom, subgraphPrincipal } from '@usergraph/service-kit';
import { startRegistry } from './app.js';
import { compose } from './compose.js';
import { registryEnvSchema } from './env.js';
import { registryCollections } from './store.js';

const SECRET = `registry-test-secret-${randomBytes(16).toString('hex')}`;
const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';
const USERS_SDL = `${FED}\ntype User @key(fields: "id") { id: ID! email: String! }\ntype Query { me: User }`;
const RATE_LIMIT = 5;
const USERS_URL = 'http://users.invalid/graphql';

describe('registry HTTP API', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let url: string;

  async function call(principal: string, path: string, body: unknown) {
    const token = await registryTokenFrom(registryKeyFor(SECRET, principal));
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  async function history(subgraph: string) {
    const token = await registryTokenFrom(registryKeyFor(SECRET, READER));
    const res = await fetch(`${url}/v1/history?subgraph=${subgraph}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { versions: Array<{ version: number; revision?: number }> };
    if (!body.versions) throw new Error(JSON.stringify(body));
    return body.versions;
  }
  const check = (principal: string, subgraph: string, sdl: string) => call(principal, '/v1/check', { subgraph, sdl });

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('registry_app'), appName: 'registry-test' });
    const env = registryEnvSchema.parse({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      APOLLO_TELEMETRY_DISABLED: '1',
      MONGODB_URI: store.uri,
      REGISTRY_SECRET: SECRET,
      REGISTRY_MAX_SDL_CHARS: '20000',
      REGISTRY_MAX_SDL_TYPES: '20',
      REGISTRY_MAX_SDL_FIELDS: '100',
      REGISTRY_RATE_LIMIT: String(RATE_LIMIT),
      // The routing URLs these tests publish (never reached: the registry does not call them).
      REGISTRY_ALLOWED_URL_HOSTS: 'users.invalid,deep.invalid,spam.invalid',
    });
    registry = await startRegistry(env, createLogger({ service: 'registry', level: 'silent' }), conn);
    url = `http://127.0.0.1:${registry.port}`;
  });

  afterAll(async () => {
    await registry?.close();
    await conn?.close();
    await store?.stop();
  });

  it("the gateways' reader key cannot check (a check costs a composition); a team's key can", async () => {
    const asReader = await check(READER, 'users', USERS_SDL);
    expect(asReader.status).toBe(403);
    expect(asReader.body.error.code).toBe('FORBIDDEN');
    const asTeam = await check(subgraphPrincipal('checker'), 'users', USERS_SDL);
    expect(asTeam.status).toBe(200);
    expect(asTeam.body.ok).toBe(true);
  });

  it('an SDL over the size limits is refused with SDL_TOO_LARGE, before composing', async () => {
    const manyTypes = `${FED}\n${Array.from({ length: 21 }, (_, i) => `type T${i} @key(fields: "id") { id: ID! }`).join('\n')}\ntype Query { t: T0 }`;
    const tooMany = await check(subgraphPrincipal('big'), 'big', manyTypes);
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error).toMatchObject({ code: 'SDL_TOO_LARGE', field: 'sdl' });
    expect(tooMany.body.error.message).toContain('REGISTRY_MAX_SDL_TYPES');
    const long = await check(subgraphPrincipal('big'), 'big', `${USERS_SDL}\n# ${'x'.repeat(20_000)}`);
    expect(long.status).toBe(422);
    expect(long.body.error.message).toContain('REGISTRY_MAX_SDL_CHARS');
  });

  it('an SDL on which composition throws (a 12 KB, 2,000-deep @key) is answered 422 COMPOSITION_FAILED, not 500', async () => {
    const deep = 'a { '.repeat(2000) + 'id' + ' }'.repeat(2000);
    const sdl = `${FED}\ntype T @key(fields: "${deep}") { id: ID! a: T }\ntype Query { t: T }`;
    for (const path of ['/v1/check', '/v1/publish']) {
      const res = await call(subgraphPrincipal('deep'), path, { subgraph: 'deep', sdl, url: 'http://deep.invalid/graphql' });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('COMPOSITION_FAILED');
      expect(JSON.stringify(res.body)).not.toContain('RangeError');
    }
  });

  it(`checks and publishes are rate limited per principal (${RATE_LIMIT} a minute), and one principal does not spend another's budget`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= RATE_LIMIT; i++) statuses.push((await check(subgraphPrincipal('spam'), 'spam', USERS_SDL)).status);
    expect(statuses.slice(0, RATE_LIMIT).every((s) => s === 200)).toBe(true);
    const limited = await call(subgraphPrincipal('spam'), '/v1/publish', {
      subgraph: 'spam',
      sdl: USERS_SDL,
      url: 'http://spam.invalid/graphql',
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect((await check(subgraphPrincipal('other'), 'users', USERS_SDL)).status).toBe(200);
  });

  it('a publish whose supergraph write fails leaves its version with no revision; history finds the revision of a live version that lacks one', async () => {
    const users = subgraphPrincipal('users');
    const sdlWith = (extra: string) => USERS_SDL.replace('email: String!', `email: String! ${extra}`);
    const publish = (extra: string) => call(users, '/v1/publish', { subgraph: 'users', sdl: sdlWith(extra), url: USERS_URL });
    const first = await publish('');
    expect(first.status).toBe(201);
    const live = first.body.revision as number;
    const c = registryCollections(conn);
    // The next supergraph write fails (here on a unique index the test adds), as it would on losing a race with another registry.
    const next = compose([{ name: 'users', sdl: sdlWith('name: String'), url: USERS_URL }]);
    if (!next.ok) throw new Error('the test SDL does not compose');
    await c.supergraphs.createIndex({ sdl: 1 }, { unique: true, name: 'test_fail_next_supergraph' });
    await c.supergraphs.insertOne({ revision: 0, sdl: next.supergraphSdl, subgraphs: [], createdAt: new Date() });
    const second = await publish('name: String');
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('CONFLICT');
    const third = await publish('nickname: String');
    expect(third.status).toBe(201);
    expect(third.body).toMatchObject({ version: 3, revision: live + 1 });
    expect((await history('users')).map((v) => [v.version, v.revision])).toEqual([
      [3, live + 1],
      [2, undefined],
      [1, live],
    ]);
    // A crash after the supergraph write, before the version's update: history reads the revision from the supergraphs.
    await c.versions.updateOne({ subgraph: 'users', version: 3 }, { $unset: { revision: '' } });
    expect((await history('users'))[0]).toMatchObject({ version: 3, revision: live + 1 });
  });
});
