import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIntrospectionQuery } from 'graphql';
import { request } from 'undici';
import { createLogger } from '@usergraph/service-kit';
import { fragmentPairChain, postGraphQL, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
// The built package, as in app.test.ts.
import { startGateway } from '@usergraph/gateway';
import { testGatewayEnv } from './test-support/gateway-env.js';
// The operations exactly as the seeds show them (plain strings, no test stack).
import { B_PLACEHOLDER_VARIABLES, B_REGISTER } from '../../../test/support/seed-operations.js';
import { C_REGISTER_USER, C_SEED_VARIABLES } from '../../../test/support/seed-operations-c.js';
import { D_CREATE_USER_EXAMPLE, D_FETCH_MEMBERS, D_USERS } from '../../../test/support/seed-operations-d.js';

/**
 * Issue 12, finding 1, and the class "a small request that costs the server a
 * lot", against a gateway with the default limits. Every refusal here happens
 * before the query is planned, so no subgraph needs to run.
 */
describe('gateway with the default limits', () => {
  let issuer: TestIssuer;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let url: string;
  const env = () => testGatewayEnv(issuer.url);

  beforeAll(async () => {
    issuer = await startTestIssuer();
    gateway = await startGateway(env(), createLogger({ service: 'gateway', level: 'silent' }));
    url = `http://127.0.0.1:${gateway.port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await issuer?.close();
  });

  const limitOf = (res: { body: { errors?: Array<{ extensions?: Record<string, unknown> }> } }) =>
    res.body.errors?.find((e) => e.extensions?.limit)?.extensions?.limit;

  it('finding 1: a 2 KB chain of fragment pairs is refused at once, and /healthz answers while it is in flight', async () => {
    const bomb = fragmentPairChain(22, 'User', '{ me { ...A0 ...B0 } }', 'id');
    expect(bomb.length).toBeLessThan(2048);
    const started = performance.now();
    const pending = postGraphQL(url, bomb).then((res) => ({ res, ms: performance.now() - started }));
    const health = request(`${url}/healthz`).then(async (res) => ({
      status: res.statusCode,
      body: await res.body.json(),
      ms: performance.now() - started,
    }));
    const [answer, probe] = await Promise.all([pending, health]);
    // Before: the depth rule walked 2^22 fragments (4.3 s alone; this test took 18.6 s) and /healthz waited behind it.
    // The bound is 100 times what the check takes, so it cannot flake; speed itself is in bench/.
    expect(answer.ms).toBeLessThan(1000);
    expect(probe).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(probe.ms).toBeLessThan(1000);
    expect(answer.res.status).toBe(400);
    // Refused before graphql-js validates: the chain compares 2^22 pairs of copies of `id`.
    // (Past that check, the cost limit stops it too: cost-limit.test.ts.)
    expect(answer.res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'repeats' });
  });

  it('finding 1: refuses users > organization > members > organization > members (n^4 nodes) before execution, naming cost and limit', async () => {
    const query =
      `query ($n: Int!) { users(first: $n) { nodes { organization { members(first: $n) { nodes { ` +
      `organization { members(first: $n) { nodes { id email } } } } } } } } }`;
    const res = await postGraphQL(url, query, { n: 100 });
    expect(res.status).toBe(400);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
    expect(res.body.errors?.[0]?.message).toMatch(/\b3030301\b.*\b10000\b/);
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
    // Pages of 10 are within the limit: it is the product that is refused, not the path.
    expect(limitOf(await postGraphQL(url, query, { n: 10 }))).toBeUndefined();
  });

  it('lets every seed operation, the README examples and a full page of users with their licenses, groups and addresses through', async () => {
    const fullPage = `query ($first: Int!) { users(first: $first) {
      errors { path message fullMessage }
      nodes { id _id email phoneNumber telephone firstName lastName name status organisation taxNumber isSubscribed dateOfBirth jobTitle username
        licenses groups originGroup createdAt updatedAt syncedAt closedAt nationalIdLast4 visitorId legalName { first middle last }
        notificationPreferences { email sms push } legalAgreementVersions { version acceptedAt }
        address { city country }
        addresses { _id description firstName lastName addressLine1 addressLine2 streetNumber city state stateCode postCode country alpha2 type }
        organization { id slug name } }
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`;
    const operations: Array<[string, Record<string, unknown>]> = [
      [B_REGISTER, B_PLACEHOLDER_VARIABLES],
      [C_REGISTER_USER, C_SEED_VARIABLES],
      [D_CREATE_USER_EXAMPLE, {}],
      [D_FETCH_MEMBERS, { fullText: 'luke', first: 100 }],
      [D_USERS, {}],
      ['{ me { id email status licenses } }', {}],
      [
        'mutation ($o: String!, $i: String!, $p: String!) { login(organizationSlug: $o, identifier: $i, password: $p) { _id jwt expires refreshToken } }',
        { o: 'public', i: 'a@b.c', p: 'x' },
      ],
      [fullPage, { first: 100 }],
      [
        'query ($first: Int) { me { connections(input: { first: $first }) { edges { node { id ' +
          'institutionName } } totalCount } tradelines(input: { first: $first }) { edges { node { id balance { ' +
          'amount currency } } } } } }',
        { first: 100 },
      ],
    ];
    for (const [query, variables] of operations) {
      const res = await postGraphQL(url, query, variables);
      expect(limitOf(res), query.slice(0, 60)).toBeUndefined();
      expect(res.body.errors?.map((e) => e.extensions?.code) ?? [], query.slice(0, 60)).not.toContain('GRAPHQL_VALIDATION_FAILED');
    }
  });

  it('refuses a field repeated 745 times (15 KB, within MAX_TOKENS) before graphql-js spends 150-600 ms comparing the copies', async () => {
    const query = `{ me { ${'organization { id } '.repeat(745)}} }`;
    const res = await postGraphQL(url, query);
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'repeats' });
    // The same check guards GET requests (and batches: test/security.e2e.test.ts).
    const shorter = `{me{${'organization{id}'.repeat(200)}}}`; // a URL stays under Node's 16 KB header limit
    const get = await request(`${url}/graphql?query=${encodeURIComponent(shorter)}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.statusCode).toBe(400);
    expect(((await get.body.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]?.extensions).toEqual({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'repeats',
    });
    // A few repeats, as fragments produce, pass.
    expect(limitOf(await postGraphQL(url, `{ me { ${'organization { id } '.repeat(5)}} }`))).toBeUndefined();
  });

  it(
    'answers an input object with 3,000 unknown keys at once, with one BAD_USER_INPUT (the gateway ' +
      'described the whole object once per key: 4 s, 54 s for 9,000)',
    async () => {
      const input: Record<string, number> = {};
      for (let i = 0; i < 3000; i++) input[`f${i}`] = 1;
      const query = 'mutation ($input: RegisterOrganizationUserInput!) { registerOrganizationUser(input: $input) { user { id } } }';
      const started = performance.now();
      const pending = postGraphQL(url, query, { input }).then((res) => ({ res, ms: performance.now() - started }));
      const health = request(`${url}/healthz`).then(async (res) => ({
        status: res.statusCode,
        ms: (await res.body.dump(), performance.now() - started),
      }));
      const [answer, probe] = await Promise.all([pending, health]);
      expect(answer.ms).toBeLessThan(1000);
      expect(probe.status).toBe(200);
      expect(probe.ms).toBeLessThan(1000);
      expect(answer.res.status).toBe(400);
      expect(answer.res.body.errors).toHaveLength(1);
      expect(answer.res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(answer.res.body)).not.toContain('f2999: 1');
    },
  );

  it(
    'refuses 30 aliased login mutations in one anonymous request (30 password hashes for one request), ' +
      'and even 2 (one sensitive mutation per operation); lets 1 through',
    async () => {
      const login = (i: number) => `l${i}: login(organizationSlug: "acme", identifier: "admin", password: "guess-${i}") { jwt }`;
      const logins = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => login(i)).join(' ')} }`;
      for (const n of [30, 2]) {
        const res = await postGraphQL(url, logins(n));
        expect(res.status).toBe(400);
        expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'sensitive-mutations' });
      }
      expect(limitOf(await postGraphQL(url, logins(1)))).toBeUndefined();
    },
  );

  it('refuses 30 aliased mutations of any kind by their cost (each root mutation field weighs 1,000), lets 2 through', async () => {
    const logouts = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `l${i}: logout`).join(' ')} }`;
    const res = await postGraphQL(url, logouts(30));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
    expect(limitOf(await postGraphQL(url, logouts(2)))).toBeUndefined();
  });

  it('refuses more directives than MAX_DIRECTIVES (20)', async () => {
    const res = await postGraphQL(url, `{ __typename ${'@include(if: true) '.repeat(21)}}`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.extensions?.limit)).toContain('directives');
  });

  it('bounds introspection nesting outside production (graphql-js MaxIntrospectionDepthRule)', async () => {
    const nested = '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }';
    const res = await postGraphQL(url, nested);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // The introspection development tools send passes.
    const tool = await postGraphQL(url, getIntrospectionQuery());
    expect(tool.status).toBe(200);
    expect(tool.body.errors).toBeUndefined();
  });
});
