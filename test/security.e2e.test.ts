/**
 * Issue 6, hostile callers: production mode, bad tokens, limits on abusive
 * documents, other tenants at the subgraph, and login timing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { createSecretBox } from '@usergraph/service-kit';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  LOGIN,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

describe('production mode and hostile callers', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let other: BootstrapResult;
  let realKey: { kid: string; key: CryptoKey };

  beforeAll(async () => {
    const started = await startTestStack({
      env: { NODE_ENV: 'production' },
      serviceEnv: {
        gateway: {
          MAX_QUERY_DEPTH: '6',
          MAX_ALIASES: '3',
          MAX_DIRECTIVES: '2',
          MAX_TOKENS: '300',
          MAX_BODY_BYTES: '4096',
          MAX_BATCH_SIZE: '2',
        },
      },
    });
    ({ stack, dataDir } = started);
    acme = await bootstrapOrganization(dataDir, 'acme');
    other = await bootstrapOrganization(dataDir, 'other');
    // The test holds the stack's secrets, so it can sign with identity's real key:
    // each bad token below then fails for its one defect, not for its signature.
    const identityDb = await openDatabase(stack, started.options.databasePrefix ?? '', 'identity');
    const doc = (await identityDb.collection('signing_keys').find().sort({ period: -1 }).limit(1).toArray())[0]!;
    await identityDb.close();
    const jwk = JSON.parse(createSecretBox(stack.secrets.SIGNING_KEY_ENCRYPTION_KEY).decrypt(doc.sealedPrivateJwk)) as JWK;
    realKey = { kid: doc.kid as string, key: (await importJWK(jwk, 'EdDSA')) as CryptoKey };
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: res.statusCode,
      body: (await res.body.json()) as { errors?: Array<{ message: string; extensions?: Record<string, unknown> }>; data?: unknown },
    };
  };

  describe('production mode', () => {
    it('turns introspection and field suggestions off', async () => {
      const introspection = await post({ query: '{ __schema { types { name } } }' });
      expect(introspection.body.errors?.[0]?.message).toMatch(/introspection/i);
      const typo = await post({ query: '{ curentOrganization { slug } }' });
      expect(typo.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    });

    it('prevents CSRF: a simple GET or text/plain POST is refused', async () => {
      const get = await request(`${stack.gatewayUrl}?query=${encodeURIComponent('{ __typename }')}`);
      expect(get.statusCode).toBe(400);
      await get.body.dump();
      const plain = await request(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{"query":"{ __typename }"}',
      });
      expect(plain.statusCode).toBe(400);
      await plain.body.dump();
    });

    it('never sends a stack trace', async () => {
      for (const body of ['{not json', { query: '{' }, { query: '{ me { id } }', variables: 'nope' }]) {
        const res = await post(body);
        expect(res.status).toBeLessThan(500);
        expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |stacktrace/);
      }
    });
  });

  describe('bad tokens get 401', () => {
    // A real session: subgraphs honour a token only while its session stands, so each bad token below fails for its one defect.
    let sessionId: string;
    beforeAll(async () => {
      sessionId = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD))._id;
    });
    const claims = () => ({ org: acme.organization.id, typ: 'user', sid: sessionId });
    async function sign(opts: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number }) {
      return new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA', kid: opts.kid ?? realKey.kid })
        .setSubject(acme.admin.id)
        .setIssuer(opts.iss ?? 'usergraph')
        .setAudience(opts.aud ?? 'usergraph')
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
        .sign(opts.key ?? realKey.key);
    }

    it('accepts a well-formed token signed by identity (the control case)', async () => {
      const res = await post({ query: '{ currentOrganization { slug } }' }, bearer(await sign({})));
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
    });

    it('refuses, at a subgraph, a validly signed token whose session does not exist', async () => {
      const token = await new SignJWT({ ...claims(), sid: '000000000000000000000000' })
        .setProtectedHeader({ alg: 'EdDSA', kid: realKey.kid })
        .setSubject(acme.admin.id)
        .setIssuer('usergraph')
        .setAudience('usergraph')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
        .sign(realKey.key);
      const direct = await request(`${stack.urls['org-users']}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(token) },
        body: JSON.stringify({ query: '{ currentOrganization { slug } }' }),
      });
      expect(direct.statusCode).toBe(401);
      expect(((await direct.body.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
        'UNAUTHENTICATED',
      );
      const viaGateway = await post({ query: '{ currentOrganization { slug } }' }, bearer(token));
      expect(viaGateway.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(viaGateway.status).toBe(401);
    });

    it('refuses forged, expired, alg none, wrong-audience, wrong-issuer and unknown-kid tokens', async () => {
      const { privateKey: forger } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const base64url = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url');
      const unsignedClaims = {
        ...claims(),
        sub: acme.admin.id,
        iss: 'usergraph',
        aud: 'usergraph',
        exp: Math.floor(Date.now() / 1000) + 600,
      };
      const none = `${base64url({ alg: 'none', typ: 'JWT', kid: realKey.kid })}.${base64url(unsignedClaims)}.`;
      const tokens: Record<string, string> = {
        forged: await sign({ key: forger }),
        expired: await sign({ exp: Math.floor(Date.now() / 1000) - 60 }),
        'alg none': none,
        'wrong audience': await sign({ aud: 'someone-else' }),
        'wrong issuer': await sign({ iss: 'https://evil.example' }),
        'unknown kid': await sign({ key: forger, kid: randomUUID() }),
      };
      for (const [kind, token] of Object.entries(tokens)) {
        const res = await post({ query: '{ currentOrganization { slug } }' }, bearer(token));
        expect(res.status, kind).toBe(401);
        expect(res.body.errors?.[0]?.extensions?.code, kind).toBe('UNAUTHENTICATED');
        // Subgraphs check again: the same token sent straight to org-users is refused too.
        const direct = await request(`${stack.urls['org-users']}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(token) },
          body: JSON.stringify({ query: '{ currentOrganization { slug } }' }),
        });
        expect(direct.statusCode, `${kind} at the subgraph`).toBe(401);
        await direct.body.dump();
      }
      expect(JSON.stringify(await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).publicKey))).toBeTruthy();
    });
  });

  describe('limits on abusive documents (configured low for this stack)', () => {
    it('refuses a document too deep, with too many aliases, directives or tokens, a batch too large, and a body too big', async () => {
      const limitOf = (res: Awaited<ReturnType<typeof post>>) => ({
        status: res.status,
        code: res.body.errors?.[0]?.extensions?.code,
        limit: res.body.errors?.[0]?.extensions?.limit,
      });
      const deep = await post({
        query: '{ viewer { currentOrganization { members(first: 1) { nodes { organization { groups { name } } } } } } }',
      });
      expect(limitOf(deep)).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth' });
      const aliases = await post({ query: '{ a: __typename b: __typename c: __typename d: __typename }' });
      expect(limitOf(aliases)).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases' });
      const directives = await post({ query: '{ __typename @include(if: true) @skip(if: false) a: __typename @include(if: true) }' });
      expect(limitOf(directives)).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: 'directives' });
      // 400 one-letter fields: far under the body limit, over the token limit (checked while parsing).
      const tokens = await post({ query: `{ ${Array.from({ length: 400 }, () => 'a').join(' ')} }` });
      expect(tokens.status).toBe(400);
      expect(tokens.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
      // Repeated copies of one field, inside an allowed batch: refused before graphql-js compares them.
      const repeats = await post([{ query: '{ __typename }' }, { query: `{ me { ${'id '.repeat(290)}} }` }]);
      expect(limitOf(repeats)).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', limit: 'repeats' });
      const batch = await post([{ query: '{ __typename }' }, { query: '{ __typename }' }, { query: '{ __typename }' }]);
      expect(batch.status).toBe(400);
      expect(batch.body.errors?.[0]?.message).toMatch(/Too many operations in one batch: the limit is 2/);
      const smallBatch = await post([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
      expect(smallBatch.status).toBe(200);
      const big = await post({ query: '{ __typename }', variables: { pad: 'x'.repeat(5000) } });
      expect(big.status).toBe(413);
      expect(big.body.errors?.[0]?.message).toMatch(/limit is 4096 bytes/);
      // Within every limit, the same kinds of documents pass.
      expect((await post({ query: '{ a: __typename b: __typename }' })).body.errors).toBeUndefined();
    });
  });

  describe('issue 12, finding 1: the cost limit (default MAX_QUERY_COST)', () => {
    it("refuses an admin's users > organization > members page product before anything runs, and runs the single page", async () => {
      const jwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
      const product = 'query ($n: Int!) { users(first: $n) { nodes { organization { members(first: $n) { nodes { id } } } } } }';
      // Before: 200 with every member listed once per member (n^2 here, n^4 two levels deeper).
      const refused = await post({ query: product, variables: { n: 100 } }, bearer(jwt));
      expect(refused.status).toBe(400);
      expect(refused.body.data ?? null).toBeNull();
      expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
      expect(refused.body.errors?.[0]?.message).toMatch(/20301.*10000/);
      const page = await post({ query: 'query ($n: Int!) { users(first: $n) { nodes { id } } }', variables: { n: 100 } }, bearer(jwt));
      expect(page.status).toBe(200);
      expect(page.body.errors).toBeUndefined();
    });
  });

  describe('issue 12: every list argument has a maximum length (the owner refuses more before any per-item work)', () => {
    const fakeIds = (n: number) => Array.from({ length: n }, (_, i) => i.toString(16).padStart(24, 'a'));

    it('deleteUsers takes at most 100 ids: 101 are refused as a whole, not looked up one by one', async () => {
      const jwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
      const mutation = 'mutation ($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }';
      const res = await post({ query: mutation, variables: { ids: fakeIds(101) } }, bearer(jwt));
      // Before: one profile read (and one error) per id, 101 of them; 3,700 ids fit in a default body.
      expect(res.body.errors).toBeUndefined();
      const payload = (res.body.data as { deleteUsers: { errors: Array<{ path: string[] }>; deletedIds: string[] } }).deleteUsers;
      expect(payload.deletedIds).toEqual([]);
      expect(payload.errors.map((e) => e.path)).toEqual([['ids']]);
      // 100 unknown ids are still answered one by one.
      const hundred = await post({ query: mutation, variables: { ids: fakeIds(100) } }, bearer(jwt));
      expect((hundred.body.data as { deleteUsers: { errors: unknown[] } }).deleteUsers.errors).toHaveLength(100);
    });

    it('addGroupMembers and removeGroupMembers take at most 100 userIds', async () => {
      const jwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
      for (const field of ['addGroupMembers', 'removeGroupMembers']) {
        const res = await post(
          { query: `mutation ($ids: [ID!]!) { ${field}(name: "DEFAULT", userIds: $ids) { name } }`, variables: { ids: fakeIds(101) } },
          bearer(jwt),
        );
        expect(res.body.errors?.[0]?.extensions?.code, field).toBe('BAD_USER_INPUT');
        // Before: checked with org-users and reported id by id (userIds.0 … userIds.100).
        expect(
          (res.body.errors?.[0]?.extensions?.fields as Array<{ path: string }>).map((f) => f.path),
          field,
        ).toEqual(['userIds']);
      }
    });
  });

  describe('other tenants', () => {
    it("are denied at the subgraph too: _entities for another organization's user, and its organization", async () => {
      const acmeJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
      const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } ... on Organization { id slug } } }';
      const res = await request(`${stack.urls['org-users']}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(acmeJwt) },
        body: JSON.stringify({
          query,
          variables: {
            r: [
              { __typename: 'User', id: other.admin.id },
              { __typename: 'Organization', id: other.organization.id },
            ],
          },
        }),
      });
      const body = (await res.body.json()) as { data: { _entities: unknown[] }; errors: Array<{ extensions: { code: string } }> };
      expect(body.data._entities).toEqual([null, null]);
      expect(body.errors.map((e) => e.extensions.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    });

    it('a subgraph called without a token answers nothing private', async () => {
      const res = await request(`${stack.urls['org-users']}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      const body = (await res.body.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    });
  });
});

describe('login timing does not reveal which identifiers exist', () => {
  let stack: RunningStack;
  let dataDir: string;

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack({ serviceEnv: { identity: { LOGIN_MAX_FAILURES_PER_IP: '100000' } } }));
  });
  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('answers unknown and known identifiers (wrong password) within 20% of each other (median of 15 each)', async () => {
    const known: string[] = [];
    for (let i = 0; i < 15; i++) {
      const email = uniqueEmail('timed');
      await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null });
      known.push(email);
    }
    const time = async (identifier: string) => {
      const started = process.hrtime.bigint();
      const res = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier, password: 'wrong-password-1' });
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    // Interleaved, so drift on the machine affects both samples alike.
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < 15; i++) {
      knownMs.push(await time(known[i]!));
      unknownMs.push(await time(uniqueEmail('nobody')));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(unknownMs) / median(knownMs);
    process.stdout.write(
      `login timing: known median ${median(knownMs).toFixed(1)} ms, unknown median ${median(unknownMs).toFixed(1)} ms, ratio ${ratio.toFixed(2)}\n`,
    );
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });
});
