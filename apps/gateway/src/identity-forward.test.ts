import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createLogger } from '@usergraph/service-kit';
import { startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
// The built package, as in app.test.ts (its own file: the subgraph connection pool is one per process).
import { startGateway } from '@usergraph/gateway';
import { testGatewayEnv } from './test-support/gateway-env.js';

describe('the gateway forwarding to identity', () => {
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await startTestIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('issue 13: an identity that gives no answer (closed port) makes /oauth/token 503 temporarily_unavailable', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const env = testGatewayEnv(issuer.url, { IDENTITY_URL: `http://127.0.0.1:${closedPort}` });
    const lonely = await startGateway(env, createLogger({ service: 'gateway', level: 'silent' }));
    try {
      const res = await request(`http://127.0.0.1:${lonely.port}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toEqual({ error: 'temporarily_unavailable' });
    } finally {
      await lonely.close();
    }
  });
});
