/**
 * Issue 14: what a supergraph reload costs under P1's load. A closed loop of
 * P1's query through the gateway (16 connections, 24 s, bounded); 8 s in,
 * identity publishes a new version (one added field) to the registry; the
 * gateway switches at its next poll (1 s here), after the health check. The
 * p99 of requests started in the 5 s around the switch is compared with the
 * p99 before the publish; every failed request is counted.
 *
 *   npm run build && node bench/dist/reload-spike.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import { bootstrap, callRegistry, connectToStack, LOCAL_SUBGRAPHS, parseBootstrapArgs, startStack } from '@usergraph/cli';
import { registryKeyFor } from '@usergraph/service-kit';
import { assertLoopback, percentile, sleep } from './util.js';

const P1_QUERY = 'query BenchUsers { users(fullText: "a", first: 20) { nodes { id firstName lastName email } totalCount } }';
const CONNECTIONS = 16;
const LOAD_MS = 24_000;
const PUBLISH_AT_MS = 8_000;
const WARMUP_MS = 4_000;
const PASSWORD = 'Bench-Password-2024!';

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-reload-'));
  const stack = await startStack({
    dataDir,
    ports: { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 },
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    serviceEnv: {
      gateway: { SUPERGRAPH_POLL_INTERVAL_MS: '1000' },
      identity: { RATE_LIMIT_PER_IP: '1000000000', ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1' },
    },
  });
  try {
    assertLoopback(stack.gatewayUrl);
    const client = connectToStack({
      USERGRAPH_IDENTITY_URL: stack.urls.identity,
      USERGRAPH_ORG_USERS_URL: stack.urls['org-users'],
      USERGRAPH_LICENSING_URL: stack.urls.licensing,
      INTERNAL_SERVICE_SECRET: stack.secrets.INTERNAL_SERVICE_SECRET,
    });
    await bootstrap(
      client,
      parseBootstrapArgs([
        '--org-slug',
        'reload',
        '--org-name',
        'Reload',
        '--admin-email',
        'admin@reload.test',
        '--admin-username',
        'admin',
        '--admin-password',
        PASSWORD,
      ]),
    );
    const login = await request(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($p: String!) { login(organizationSlug: "reload", identifier: "admin", password: $p) { jwt } }',
        variables: { p: PASSWORD },
      }),
    });
    const jwt = ((await login.body.json()) as { data?: { login?: { jwt: string } } }).data?.login?.jwt;
    if (!jwt) throw new Error('admin login failed');

    const gateway = new URL(stack.gatewayUrl);
    const pool = new Pool(gateway.origin, { connections: CONNECTIONS });
    const body = JSON.stringify({ query: P1_QUERY });
    const samples: Array<{ start: number; ms: number; ok: boolean }> = [];
    const t0 = performance.now();
    const worker = async () => {
      while (performance.now() - t0 < LOAD_MS) {
        const start = performance.now() - t0;
        let ok: boolean;
        try {
          const res = await pool.request({
            path: gateway.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
            body,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          const answer = (await res.body.json()) as { data?: { users?: unknown }; errors?: unknown };
          ok = res.statusCode === 200 && !answer.errors && answer.data?.users !== undefined;
        } catch {
          ok = false;
        }
        samples.push({ start, ms: performance.now() - t0 - start, ok });
      }
    };

    /** When the gateway's /readyz first names a revision other than `from` (ms since t0). */
    const revisionOf = async () =>
      ((await (await request(`${stack.urls.gateway}/readyz`)).body.json()) as { details?: { supergraph?: { revision?: string } } }).details
        ?.supergraph?.revision;
    const before = await revisionOf();
    let switchedAt: number | undefined;
    let publishedAt = 0;
    const watcher = (async () => {
      await sleep(PUBLISH_AT_MS);
      const conn = { url: stack.urls.registry, keyFor: (principal: string) => registryKeyFor(stack.secrets.REGISTRY_SECRET, principal) };
      publishedAt = performance.now() - t0;
      const answer = await callRegistry(conn, 'subgraph:identity', 'POST', '/v1/publish', {
        subgraph: 'identity',
        sdl: `${LOCAL_SUBGRAPHS.identity()}\nextend type Query { benchReload: Boolean }\n`,
        url: `${stack.urls.identity}/graphql`,
        message: 'bench: reload spike',
      });
      if (answer.status !== 201) throw new Error(`publish refused: ${JSON.stringify(answer.body)}`);
      while (switchedAt === undefined && performance.now() - t0 < LOAD_MS) {
        if ((await revisionOf()) !== before) switchedAt = performance.now() - t0;
        else await sleep(50);
      }
    })();
    await Promise.all([...Array.from({ length: CONNECTIONS }, worker), watcher]);
    await pool.close();
    if (switchedAt === undefined) throw new Error('the gateway never switched');

    const p99 = (from: number, to: number) => {
      const window = samples.filter((s) => s.start >= from && s.start < to);
      return {
        requests: window.length,
        p50: percentile(
          window.map((s) => s.ms).sort((a, b) => a - b),
          50,
        ),
        p99: percentile(
          window.map((s) => s.ms).sort((a, b) => a - b),
          99,
        ),
        failed: window.filter((s) => !s.ok).length,
      };
    };
    const result = {
      connections: CONNECTIONS,
      publishedAtS: +(publishedAt / 1000).toFixed(2),
      switchedAfterPublishS: +((switchedAt - publishedAt) / 1000).toFixed(2),
      before: p99(WARMUP_MS, publishedAt),
      aroundSwitch: p99(switchedAt - 2500, switchedAt + 2500),
      failed: samples.filter((s) => !s.ok).length,
      requests: samples.length,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`reload-spike failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
