import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@usergraph/embedded-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationToken, bearer, bootstrapOrganization, gql, LOGIN, removeDir, startTestStack, uniqueEmail } from './support/stack.js';
import { ensurePrometheus, freePort, startPrometheus } from './support/prometheus.js';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { C_REGISTER_USER, C_SEED_VARIABLES } from './support/seed-operations-c.js';
import { D_CREATE_USER_EXAMPLE } from './support/seed-operations-d.js';

const SERVICES = ['gateway', 'identity', 'org-users', 'licensing'] as const;
/** Failed logins an account may make before it is locked out (lowered from 5, so the test locks one out quickly). */
const MAX_FAILURES = 3;

const REGISTER_A = `mutation Register($input: RegisterOrganizationUserInput!) { registerOrganizationUser(input: $input) { user { id } } }`;
const consumerInput = (organizationSlug: string) => ({
  organizationSlug,
  email: uniqueEmail('metrics-a'),
  phoneNumber: '+14155550188',
  name: { first: 'María', last: 'García' },
  address: { addressLine1: '500 Howard Street', city: 'San Francisco', postCode: '94105', country: 'United States', alpha2: 'US' },
  dateOfBirth: { year: 1988, month: 4, day: 17 },
});

describe('Prometheus metrics (issue 15)', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>['stack'];
  let dataDir: string;
  let promDir: string;
  let prometheus: { url: string; process: ChildProcess };
  const metricsPorts: Record<string, number> = {};

  beforeAll(async () => {
    ensurePrometheus();
    for (const name of SERVICES) metricsPorts[name] = await freePort();
    const serviceEnv: Record<string, Record<string, string>> = Object.fromEntries(
      SERVICES.map((name) => [name, { METRICS_PORT: String(metricsPorts[name]) }]),
    );
    serviceEnv.identity!.LOGIN_MAX_FAILURES_PER_IDENTIFIER = String(MAX_FAILURES);
    promDir = mkdtempSync(join(tmpdir(), 'usergraph-prom-'));
    // Both at once (the metrics ports are known): Prometheus scrapes the services once they listen.
    const [started, prom] = await Promise.allSettled([
      startTestStack({ serviceEnv }),
      startPrometheus(
        promDir,
        SERVICES.map((name) => `127.0.0.1:${metricsPorts[name]}`),
      ),
    ]);
    if (started.status === 'fulfilled') ({ stack, dataDir } = started.value);
    if (prom.status === 'fulfilled') prometheus = prom.value;
    for (const result of [started, prom]) if (result.status === 'rejected') throw result.reason;
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
    for (let i = 0; i < 300; i++) {
      const found = await probe();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
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

  /** The value of the one series `promql` selects, once Prometheus has scraped it (undefined while it has none). */
  async function valueOf(promql: string): Promise<number | undefined> {
    const r = await query(promql);
    expect(r.length).toBeLessThanOrEqual(1);
    return r[0] === undefined ? undefined : Number(r[0].value[1]);
  }

  it('registrations per dialect: each of A, B, C and D moves its own series, by outcome', async () => {
    const series = {
      A: 'usergraph_registrations_total{service="org-users",dialect="A",outcome="success"}',
      B: 'usergraph_registrations_total{service="identity",dialect="B",outcome="success"}',
      C: 'usergraph_registrations_total{service="identity",dialect="C",outcome="invalid"}',
      D: 'usergraph_registrations_total{service="org-users",dialect="D",outcome="invalid"}',
    };
    // Every dialect's series exists at 0 before its first registration (so increase() and alerts see the first one).
    const before: Record<string, number> = {};
    for (const [dialect, promql] of Object.entries(series)) before[dialect] = await until(() => valueOf(promql));
    expect(before).toEqual({ A: 0, B: 0, C: 0, D: 0 });

    const org = await bootstrapOrganization(dataDir, 'metrics');
    const app = bearer(await applicationToken(stack.gatewayUrl, org.application.clientId, org.application.clientSecret));
    const a = await gql(stack.gatewayUrl, REGISTER_A, { input: consumerInput('metrics') }, app);
    expect(a.errors).toBeUndefined();
    const b = await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(uniqueEmail('metrics-b')), telephone: null });
    expect(b.errors).toBeUndefined();
    // C's own seed example: its fictional 555 number is AUTH-0004 (invalid), answered as a value.
    const c = await gql(stack.gatewayUrl, C_REGISTER_USER, C_SEED_VARIABLES, app);
    expect(c.data?.registerUser?.error?.code).toBe('AUTH-0004');
    // D's seed example names groups this organization lacks: field errors in the payload (invalid).
    const d = await gql(stack.gatewayUrl, D_CREATE_USER_EXAMPLE, {}, app);
    expect(d.data?.createUser?.errors?.length).toBeGreaterThan(0);

    for (const [dialect, promql] of Object.entries(series)) {
      const after = await until(async () => {
        const v = await valueOf(promql);
        return v !== undefined && v >= 1 ? v : undefined;
      });
      expect(after - before[dialect]!, dialect).toBe(1);
    }
  });

  it('lockouts: an account past its failed-login limit is counted once as a lockout, its refusals as refusals', async () => {
    const lockouts = 'usergraph_identity_lockouts_total{limiter="login-account"}';
    const refusals = 'usergraph_identity_rate_limit_refusals_total{limiter="login-account"}';
    expect(await until(() => valueOf(lockouts))).toBe(0);
    const refusedBefore = await until(() => valueOf(refusals));
    const attempt = () =>
      gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: 'locked@example.com', password: 'Wrong-Guess-1234' });
    for (let i = 0; i < MAX_FAILURES; i++) expect((await attempt()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The next two are refused: the first begins the lockout, the second is refused while it lasts.
    for (let i = 0; i < 2; i++) expect((await attempt()).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    await until(async () => ((await valueOf(refusals)) === refusedBefore + 2 ? true : undefined));
    expect(await valueOf(lockouts)).toBe(1);
  });

  it('cardinality attack: attacker-chosen names, aliases and root fields mint no label value, at the gateway or a subgraph', async () => {
    const tags = Array.from({ length: 20 }, (_, i) => `atk${i}z${Math.random().toString(36).slice(2, 8)}`);
    const targets = { gateway: stack.gatewayUrl, 'org-users': `${stack.urls['org-users']}/graphql` };
    const unresolved = (service: string) =>
      `sum(usergraph_graphql_requests_total{service="${service}",operation="unresolved"}) or vector(0)`;
    for (const [service, url] of Object.entries(targets)) {
      const before = (await valueOf(unresolved(service)))!;
      for (const tag of tags) {
        // No service has a Subscription type: such documents are refused at validation (400), never a 500.
        for (const doc of [
          `query Op_${tag} { __typename }`,
          `{ alias_${tag}: __typename }`,
          `subscription { field_${tag} }`,
          `mutation { field_${tag} }`,
        ]) {
          const res = await gql(url, doc);
          expect(res.status, `${service} ${doc}: ${JSON.stringify(res.errors)}`).toBeLessThan(500);
        }
      }
      // Prometheus has scraped the whole attack once its refused documents are all counted as unresolved.
      await until(async () => ((await valueOf(unresolved(service)))! >= before + 2 * tags.length ? true : undefined));
    }
    const labelled = await query('{__name__=~"usergraph_.+",operation!=""}');
    const operations = new Set(labelled.map((s) => s.metric.operation!));
    for (const operation of operations) expect(operation).toMatch(/^(?:(?:query|mutation)(?:\.[A-Za-z_]\w*)?|unresolved)$/);
    expect(operations).toContain('query.__typename');
    expect(await query('{__name__=~"usergraph_.+",operation=~".*atk.*"}')).toEqual([]);
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
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    expect(exprs).toContain('usergraph_graphql_requests_total');
    expect(exprs).toContain('usergraph_registrations_total');
    expect(readFileSync(join(repoRoot(), 'deploy/prometheus-alerts.yml'), 'utf8')).toContain('usergraph_identity_lockouts_total');
  });
});
