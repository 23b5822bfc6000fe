/**
 * Issue 15: one client request is one trace. A D createUser through the gateway
 * is read back from a real Jaeger (built from the Go module proxy, cached in
 * tools/jaeger/bin; `npm test` starts that build in the background) and must hold the gateway's own spans, each subgraph's
 * server span, the internal commands and the MongoDB commands, under the trace
 * id the gateway answers in its `traceresponse` header; the services' log lines
 * for that request carry the same trace id. A client's own traceparent is not
 * believed, and no span holds the user's password, e-mail or username.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import { startJaeger, type RunningJaeger } from '@usergraph/embedded-store';
import { ADMIN_PASSWORD, bearer, bootstrapOrganization, login, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references?: Array<{ refType: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id username } } }`;
const TRACE_WAIT_MS = 30_000;

describe('OpenTelemetry traces exported to Jaeger', () => {
  let jaeger: RunningJaeger;
  let stack: RunningStack;
  let dataDir: string;
  let adminJwt: string;

  beforeAll(async () => {
    // A cold Go build cache costs minutes: `npm test` started the build in the background
    // and this waits for it (or builds itself); later runs reuse the cached binary.
    jaeger = await startJaeger({ log: (line) => process.stderr.write(`${line}\n`) });
    const started = await startTestStack({
      env: {
        // Debug: every subgraph then logs each GraphQL operation it serves.
        LOG_LEVEL: 'debug',
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        // Export within 100 ms so the test does not wait for the default 5 s batch.
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // org-users may deliver webhooks to this test's loopback receiver.
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_ALLOW_HTTP_URLS: 'true',
        WEBHOOK_POLL_INTERVAL_MS: '100',
      },
    });
    ({ stack, dataDir } = started);
    await bootstrapOrganization(dataDir, 'acme');
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  }, 25 * 60_000);

  afterAll(async () => {
    await stack?.stop();
    await jaeger?.stop();
    if (dataDir) removeDir(dataDir);
  });

  const serviceOf = (trace: JaegerTrace, span: JaegerSpan) => trace.processes[span.processID]!.serviceName;

  /**
   * Polls Jaeger's query API until the trace holds every service and `endSpan`
   * (by default the gateway's request span, which ends last; spans arrive in batches, per service).
   */
  async function readTrace(traceId: string, services: string[], endSpan = 'gateway.request'): Promise<JaegerTrace> {
    const deadline = Date.now() + TRACE_WAIT_MS;
    let last: JaegerTrace | undefined;
    while (Date.now() < deadline) {
      const res = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
      if (res.ok) {
        const body = (await res.json()) as { data: JaegerTrace[] };
        last = body.data[0];
        const seen = new Set(Object.values(last?.processes ?? {}).map((p) => p.serviceName));
        const requestEnded = last?.spans.some((s) => s.operationName === endSpan) ?? false;
        if (requestEnded && services.every((s) => seen.has(s))) return last!;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const held = last?.spans.map((s) => `${serviceOf(last, s)}:${s.operationName}`) ?? [];
    throw new Error(`trace ${traceId} never held ${endSpan} and ${services.join(', ')}: ${held.join(', ')}`);
  }

  /** Every tag value of every span, as one string to search for secrets and personal values. */
  const allTagValues = (trace: JaegerTrace) => JSON.stringify(trace.spans.map((s) => s.tags.map((t) => t.value)));

  it('one createUser is one trace: gateway plan/fetch, every subgraph, internal commands and MongoDB', async () => {
    // The attacker's traceparent (sampled, chosen id) is ignored: the gateway starts its own trace.
    const clientTraceId = randomBytes(16).toString('hex');
    const email = uniqueEmail('traced');
    const username = `traced_${randomBytes(3).toString('hex')}`;
    const password = 'Alderaan-Forever-77';
    const res = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...bearer(adminJwt),
        traceparent: `00-${clientTraceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: JSON.stringify({
        query: CREATE,
        variables: {
          input: {
            user: { firstName: 'Leia', lastName: 'Organa', email, credentials: { username, password } },
            requestedLicenses: ['VIEWER'],
            requestedGroups: ['DEFAULT'],
          },
        },
      }),
    });
    const body = (await res.json()) as { errors?: unknown; data?: { createUser: { errors: unknown[] } } };
    expect(body.errors).toBeUndefined();
    expect(body.data!.createUser.errors).toEqual([]);
    const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(res.headers.get('traceresponse') ?? '')?.[1];
    expect(traceId, 'traceresponse header').toBeDefined();
    expect(traceId).not.toBe(clientTraceId);

    const trace = await readTrace(traceId!, ['gateway', 'org-users', 'identity', 'licensing']);
    const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
    expect(trace.spans.every((s) => s.traceID === traceId)).toBe(true);
    const exported = allTagValues(trace);
    for (const secret of [password, email, username, adminJwt]) expect(exported).not.toContain(secret);
    // Apollo Gateway's own spans: the plan and one fetch per subgraph call.
    const gatewayOps = trace.spans.filter((s) => serviceOf(trace, s) === 'gateway').map((s) => s.operationName);
    expect(gatewayOps).toEqual(expect.arrayContaining(['gateway.request', 'gateway.plan', 'gateway.fetch']));

    // Each subgraph served part of the request (an HTTP server span) ...
    for (const service of ['org-users', 'identity', 'licensing']) {
      const server = trace.spans.filter((s) => serviceOf(trace, s) === service && tag(s, 'span.kind') === 'server');
      expect(server.length, `${service} server spans`).toBeGreaterThan(0);
    }
    // ... each subgraph operation the gateway sent right under Apollo's gateway.fetch span: the gateway passes
    // the trace on itself, with no undici client span repeating each fetch (bench/README.md, P10).
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const parentOf = (span: JaegerSpan) => byId.get(span.references?.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
    const path = (span: JaegerSpan) => (tag(span, 'http.target') ?? tag(span, 'url.path')) as string | undefined;
    const operations = trace.spans.filter((s) => {
      const parent = parentOf(s);
      return (
        serviceOf(trace, s) !== 'gateway' &&
        tag(s, 'span.kind') === 'server' &&
        path(s) === '/graphql' &&
        parent !== undefined &&
        serviceOf(trace, parent) === 'gateway'
      );
    });
    expect(operations.map((s) => serviceOf(trace, s))).toContain('org-users');
    for (const span of operations) expect(parentOf(span)!.operationName).toBe('gateway.fetch');
    expect(trace.spans.filter((s) => serviceOf(trace, s) === 'gateway' && tag(s, 'span.kind') === 'client')).toEqual([]);
    // ... the internal commands are client spans to /internal/commands/<name> ...
    const commands = trace.spans.filter(
      (s) => tag(s, 'span.kind') === 'client' && ((tag(s, 'url.full') as string | undefined) ?? '').includes('/internal/commands/'),
    );
    expect(commands.length).toBeGreaterThan(0);
    // ... and MongoDB commands are spans of their own.
    const mongo = trace.spans.filter((s) => tag(s, 'db.system') === 'mongodb' || tag(s, 'db.system.name') === 'mongodb');
    expect(new Set(mongo.map((s) => serviceOf(trace, s)))).toEqual(new Set(['org-users', 'identity', 'licensing']));
    // A statement names the command and its options, never a value (an e-mail, a password hash).
    const statements = mongo.map((s) => tag(s, 'db.query.text') ?? tag(s, 'db.statement')).filter((v) => v !== undefined);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) expect(statement).toMatch(/^\{("[^"]+":"\?",?)*\}$/);

    // The request's log lines carry its trace id, in every subgraph it crossed.
    const filesWithTraceId = readdirSync(stack.logDir).filter((file) =>
      readFileSync(join(stack.logDir, file), 'utf8').includes(`"trace_id":"${traceId}"`),
    );
    expect(filesWithTraceId).toEqual(expect.arrayContaining(['identity.log', 'org-users.log', 'licensing.log']));
  });

  it("keeps our traces to ourselves: a webhook delivery to a customer's endpoint carries no traceparent", async () => {
    const received: http.IncomingHttpHeaders[] = [];
    const receiver = http.createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      const created = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(adminJwt) },
        body: JSON.stringify({
          query: `mutation($url: String!) { createWebhookEndpoint(url: $url, eventTypes: ["user.created"]) { errors { path } endpoint { id } } }`,
          variables: { url },
        }),
      });
      expect(
        ((await created.json()) as { data: { createWebhookEndpoint: { errors: unknown[] } } }).data.createWebhookEndpoint.errors,
      ).toEqual([]);
      const username = `hooked_${randomBytes(3).toString('hex')}`;
      const res = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(adminJwt) },
        body: JSON.stringify({
          query: CREATE,
          variables: {
            input: {
              user: {
                firstName: 'Han',
                lastName: 'Solo',
                email: uniqueEmail('hooked'),
                credentials: { username, password: 'Corellia-Run-12' },
              },
              requestedLicenses: ['VIEWER'],
              requestedGroups: ['DEFAULT'],
            },
          },
        }),
      });
      expect(res.headers.get('traceresponse')).toMatch(/^00-[0-9a-f]{32}-/);
      for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(received.length, 'the delivery arrived').toBeGreaterThan(0);
      for (const headers of received) {
        expect(headers['webhook-id']).toBeDefined();
        // A trace id would tell a third party which of our traces its delivery belongs to.
        expect(headers.traceparent).toBeUndefined();
        expect(headers.tracestate).toBeUndefined();
      }
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it('does not trace health probes: no span, so no traceresponse, unlike a GraphQL request', async () => {
    const healthz = await fetch(stack.gatewayUrl.replace('/graphql', '/healthz'));
    expect(healthz.status).toBe(200);
    expect(healthz.headers.get('traceresponse')).toBeNull();
    const graphql = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(graphql.headers.get('traceresponse')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('keeps query strings out of spans: a GET with variables in the URL exports no password', async () => {
    const password = `Query-String-Secret-${randomBytes(4).toString('hex')}`;
    const query = encodeURIComponent('query($p: String!) { __typename }');
    const variables = encodeURIComponent(JSON.stringify({ p: password }));
    const res = await fetch(`${stack.gatewayUrl}?query=${query}&variables=${variables}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    const traceId = /^00-([0-9a-f]{32})-/.exec(res.headers.get('traceresponse') ?? '')?.[1];
    expect(traceId, 'traceresponse header').toBeDefined();
    // Answered or refused, the request is traced: its HTTP server span holds the URL.
    const trace = await readTrace(traceId!, ['gateway'], 'GET');
    const exported = allTagValues(trace);
    expect(exported).toContain('REDACTED');
    expect(exported).not.toContain(password);
  });
});
