import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { request } from 'undici';
import { createLogger } from '@usergraph/service-kit';
import { postGraphQL, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
// The built package, as the stack runs it (its supergraph file comes from testGatewayEnv).
import { startGateway } from '@usergraph/gateway';
import { testGatewayEnv } from './test-support/gateway-env.js';

const MAX_BODY_BYTES = 4096;
const MAX_QUERY_DEPTH = 2;
const MAX_ALIASES = 3;

/**
 * No subgraph runs here: every subgraph URL points at the test JWKS server,
 * which is all the gateway needs to verify tokens. These tests cover what the
 * gateway decides before planning a query (the end-to-end suite covers the rest).
 */
describe('gateway front door', () => {
  let issuer: TestIssuer;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let url: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const env = testGatewayEnv(issuer.url, {
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      MAX_QUERY_DEPTH: String(MAX_QUERY_DEPTH),
      MAX_ALIASES: String(MAX_ALIASES),
    });
    gateway = await startGateway(env, createLogger({ service: 'gateway', level: 'silent' }));
    url = `http://127.0.0.1:${gateway.port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await issuer?.close();
  });

  it('serves /healthz', async () => {
    const res = await request(`${url}/healthz`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ status: 'ok', service: 'gateway' });
  });

  it('answers { __typename } with a valid token, and without one', async () => {
    for (const token of [await issuer.sign(), undefined]) {
      const res = await postGraphQL(url, '{ __typename }', {}, { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: { __typename: 'Query' } });
    }
  });

  it('answers 401 UNAUTHENTICATED for a forged token, before planning', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const now = Math.floor(Date.now() / 1000);
    const tokens = [
      await issuer.sign({ key: privateKey }), // right kid, wrong key
      await issuer.sign({ key: privateKey, kid: 'unknown-kid' }),
      await issuer.sign({ iat: now - 900, exp: now - 60 }),
      await issuer.sign({ issuer: 'someone-else' }),
      'not.a.token',
    ];
    for (const token of tokens) {
      const res = await postGraphQL(url, '{ __typename }', {}, { token });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.body.data ?? null).toBeNull();
    }
  });

  it('answers 401 for a malformed Authorization header', async () => {
    const res = await postGraphQL(url, '{ __typename }', {}, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a query deeper than MAX_QUERY_DEPTH, naming the limit', async () => {
    const res = await postGraphQL(url, '{ me { organization { slug } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth' });
    expect(res.body.errors?.[0]?.message).toContain(`${MAX_QUERY_DEPTH}`);
  });

  it('counts depth through fragments', async () => {
    const query = 'query { me { ...U } } fragment U on User { organization { id } }';
    const res = await postGraphQL(url, query);
    expect(res.body.errors?.[0]?.extensions?.limit).toBe('depth');
  });

  it('rejects more than MAX_ALIASES aliases', async () => {
    const res = await postGraphQL(url, '{ a: __typename b: __typename c: __typename d: __typename }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases' } });
    expect(res.body.errors?.[0]?.message).toContain(`${MAX_ALIASES}`);
  });

  it('answers 413 for a body larger than MAX_BODY_BYTES', async () => {
    const query = `{ __typename }${' '.repeat(MAX_BODY_BYTES)}`;
    const res = await postGraphQL(url, query);
    expect(res.status).toBe(413);
    expect(res.body.errors?.[0]?.message).toContain(`${MAX_BODY_BYTES} bytes`);
  });

  it('does not route internal commands', async () => {
    const res = await request(`${url}/internal/commands/createProfile`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(404);
    await res.body.dump();
  });

  it('blocks simple cross-site requests (CSRF prevention)', async () => {
    const res = await request(`${url}/graphql?query=%7B__typename%7D`, { method: 'GET' });
    expect(res.statusCode).toBe(400);
    await res.body.dump();
  });
});
