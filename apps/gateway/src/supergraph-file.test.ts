import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { utimesSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { identityTypeDefs } from '@usergraph/identity/schema';
import { licensingTypeDefs } from '@usergraph/licensing/schema';
import { orgUsersTypeDefs } from '@usergraph/org-users/schema';
import { request } from 'undici';
import { createLogger } from '@usergraph/service-kit';
import { postGraphQL, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
import { startGateway } from '@usergraph/gateway';
import { testGatewayEnv } from './test-support/gateway-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A subgraph that answers the gateway's health check ({ __typename }) and nothing else. */
async function startHealthySubgraph() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        req.url === '/readyz' ? JSON.stringify({ status: 'ready', service: 'loyalty' }) : JSON.stringify({ data: { __typename: 'Query' } }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

/** The three subgraphs plus a fourth, `loyalty`, at `loyaltyUrl`, adding User.loyaltyPoints. */
function withLoyalty(subgraphsUrl: string, loyaltyUrl: string): string {
  const loyalty = parse(
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\ntype User @key(fields: "id") { id: ID! loyaltyPoints: Int! }',
  );
  const result = composeServices([
    { name: 'identity', typeDefs: identityTypeDefs(), url: `${subgraphsUrl}/graphql` },
    { name: 'org-users', typeDefs: orgUsersTypeDefs(), url: `${subgraphsUrl}/graphql` },
    { name: 'licensing', typeDefs: licensingTypeDefs(), url: `${subgraphsUrl}/graphql` },
    { name: 'loyalty', typeDefs: loyalty, url: `${loyaltyUrl}/graphql` },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
  return result.supergraphSdl;
}

/**
 * File mode (SUPERGRAPH_PATH): the gateway watches the file and switches to a
 * new supergraph once its subgraphs answer the health check, with no restart.
 */
describe('gateway: a watched supergraph file', () => {
  let issuer: TestIssuer;
  let loyalty: Awaited<ReturnType<typeof startHealthySubgraph>>;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let url: string;
  let path: string;

  const userFields = async () => {
    const res = await postGraphQL(url, '{ __type(name: "User") { fields { name } } }', {});
    return (res.body as { data: { __type: { fields: Array<{ name: string }> } } }).data.__type.fields.map((f) => f.name);
  };
  const details = async () =>
    (
      (await (await request(`${url}/readyz`)).body.json()) as {
        details: { supergraph: { revision: string; refused?: { code: string; revision: string } } };
      }
    ).details.supergraph;

  /** Rewrites the file in place (not atomically: the gateway must cope); returns the revision the gateway names it by. */
  function rewrite(sdl: string, mtimeSeconds: number): string {
    writeFileSync(path, sdl);
    // A distinct modification time, whatever the file system's clock resolution.
    utimesSync(path, mtimeSeconds, mtimeSeconds);
    return createHash('sha256').update(sdl).digest('hex').slice(0, 12);
  }

  beforeAll(async () => {
    issuer = await startTestIssuer();
    loyalty = await startHealthySubgraph();
    const env = testGatewayEnv(issuer.url, { SUPERGRAPH_POLL_INTERVAL_MS: '100', SUPERGRAPH_HEALTH_CHECK_TIMEOUT_MS: '1000' });
    path = env.SUPERGRAPH_PATH!;
    gateway = await startGateway(env, createLogger({ service: 'gateway', level: 'silent' }));
    url = `http://127.0.0.1:${gateway.port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await loyalty?.close();
    await issuer?.close();
  });

  it('does not switch to a supergraph whose new subgraph does not answer, and says so in /readyz', async () => {
    const before = await details();
    const refusedRevision = rewrite(withLoyalty(issuer.url, 'http://127.0.0.1:9'), 1_000_000);
    for (let i = 0; i < 50 && !(await details()).refused; i++) await sleep(100);
    const after = await details();
    expect(after.refused).toMatchObject({ code: 'SUBGRAPH_HEALTH_CHECK_FAILED', revision: refusedRevision });
    expect(after.revision).toBe(before.revision);
    expect(await userFields()).not.toContain('loyaltyPoints');
  });

  it('switches to a new supergraph once its subgraphs answer the health check', async () => {
    const revision = rewrite(withLoyalty(issuer.url, loyalty.url), 2_000_000);
    for (let i = 0; i < 50 && !(await userFields()).includes('loyaltyPoints'); i++) await sleep(100);
    expect(await userFields()).toContain('loyaltyPoints');
    const now = await details();
    expect(now.revision).toBe(revision);
    expect(now.refused).toBeUndefined();
  });
});
