import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@usergraph/embedded-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, LOGIN, removeDir, startTestStack } from './support/stack.js';
import { ensurePrometheus, freePort, startPrometheus } from './support/prometheus.js';

const SERVICES = ['gateway', 'identity', 'org-users', 'licensing'] as const;

describe('Prometheus metrics (issue 15)', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>['stack'];
  let dataDir: string;
  let promDir: string;
  let prometheus: { url: string; process: ChildProcess };
  const metricsPorts: Record<string, number> = {};

  beforeAll(async () => {
    ensurePrometheus();
    for (const name of SERVICES) metricsPorts[name] = await freePort();
    const started = await startTestStack({
      serviceEnv: Object.fromEntries(SERVICES.map((name) => [name, { METRICS_PORT: String(metricsPorts[name]) }])),
    });
    stack = started.stack;
    dataDir = started.dataDir;
    promDir = mkdtempSync(join(tmpdir(), 'usergraph-prom-'));
    prometheus = await startPrometheus(
      promDir,
      SERVICES.map((name) => `127.0.0.1:${metricsPorts[name]}`),
    );
  });

  afterAll(async () => {
    prometheus?.process.kill();
    await stack?.stop();
    if (promDir) rmSync(promDir, { recursive: true, force: true });
    if (dataDir) removeDir(dataDir);
  });

  async function query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    expect(body.status).toBe('success');
    return body.data.result;
  }

  async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 60; i++) {
      const found = await probe();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('Prometheus never saw the expected series in 30 s');
  }

  it('scrapes every service, and the gateway request counter moves with the requests sent', async () => {
    const up = await until(async () => {
      const r = await query('up{job="usergraph"} == 1');
      return r.length === SERVICES.length ? r : undefined;
    });
    expect(up.map((s) => s.metric.service ?? s.metric.instance).length).toBe(SERVICES.length);

    const counter = 'usergraph_graphql_requests_total{service="gateway",operation="query.__typename",outcome="success"}';
    const before = Number((await query(counter))[0]?.value[1] ?? 0);
    for (let i = 0; i < 5; i++) expect((await gql(stack.gatewayUrl, 'query AttackerChosenName { __typename }')).status).toBe(200);
    const after = await until(async () => {
      const v = Number((await query(counter))[0]?.value[1] ?? 0);
      return v >= before + 5 ? v : undefined;
    });
    expect(after - before).toBeGreaterThanOrEqual(5);
    // The client's operation name never becomes a label value.
    expect(await query('{operation="AttackerChosenName"}')).toEqual([]);
    // Each subgraph reports its MongoDB pool; identity its hash queue.
    for (const service of ['identity', 'org-users', 'licensing']) {
      const created = await query(`usergraph_mongodb_pool_connections_created_total{service="${service}"}`);
      expect(Number(created[0]?.value[1] ?? 0), service).toBeGreaterThan(0);
    }
    expect(await query('usergraph_identity_hash_queue_depth')).toHaveLength(1);
    // A failed login is counted as a failure at identity, and at the gateway under its root field.
    const failed = await gql(stack.gatewayUrl, LOGIN, {
      organizationSlug: 'public',
      identifier: 'nobody@example.com',
      password: 'Nobody-Home-4242',
    });
    expect(failed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await until(async () => {
      const r = await query('usergraph_identity_logins_total{outcome="failure"} >= 1');
      return r.length === 1 ? r : undefined;
    });
    await until(async () => {
      const r = await query('usergraph_gateway_subgraph_fetch_duration_seconds_count{subgraph="identity"} >= 1');
      return r.length >= 1 ? r : undefined;
    });
    // Process metrics arrive from every service.
    expect((await query('process_resident_memory_bytes{job="usergraph"}')).length).toBe(SERVICES.length);
  });

  it('the metrics listener answers only on its own loopback port, not on the public GraphQL port', async () => {
    const res = await fetch(stack.gatewayUrl.replace('/graphql', '/metrics'));
    expect(res.status).not.toBe(200);
  });

  it('deploy/ alert rules pass promtool check rules', () => {
    const out = execFileSync('promtool', ['check', 'rules', join(repoRoot(), 'deploy/prometheus-alerts.yml')], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
    const dashboard = JSON.parse(readFileSync(join(repoRoot(), 'deploy/grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n')).toContain('usergraph_graphql_requests_total');
  });
});
