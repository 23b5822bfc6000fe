/**
 * Issue 15: one client request is one trace. A D createUser through the gateway
 * is read back from a real Jaeger (built from the Go module proxy, cached in
 * tools/jaeger/bin; `npm test` starts that build in the background) and must hold the gateway's own spans, each subgraph's
 * server span, the internal commands and the MongoDB commands, under the trace
 * id the client sent in its W3C traceparent; the services' log lines for that
 * request carry the same trace id.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import { startJaeger, type RunningJaeger } from '@usergraph/embedded-store';
import { ADMIN_PASSWORD, bearer, bootstrapOrganization, gql, login, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
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
        // What an operator may set for `npm start`: each service still names itself in the trace.
        OTEL_SERVICE_NAME: 'usergraph',
        // Debug: every subgraph then logs each GraphQL operation it serves.
        LOG_LEVEL: 'debug',
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        // Export within 100 ms so the test does not wait for the default 5 s batch.
        OTEL_BSP_SCHEDULE_DELAY: '100',
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
   * Polls Jaeger's query API until the trace holds every service and the gateway's
   * request span, which ends last (spans arrive in batches, per service).
   */
  async function readTrace(traceId: string, services: string[]): Promise<JaegerTrace> {
    const deadline = Date.now() + TRACE_WAIT_MS;
    let last: JaegerTrace | undefined;
    while (Date.now() < deadline) {
      const res = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
      if (res.ok) {
        const body = (await res.json()) as { data: JaegerTrace[] };
        last = body.data[0];
        const seen = new Set(Object.values(last?.processes ?? {}).map((p) => p.serviceName));
        const requestEnded = last?.spans.some((s) => s.operationName === 'gateway.request') ?? false;
        if (requestEnded && services.every((s) => seen.has(s))) return last!;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const held = last?.spans.map((s) => `${serviceOf(last, s)}:${s.operationName}`) ?? [];
    throw new Error(`trace ${traceId} never held the gateway request and ${services.join(', ')}: ${held.join(', ')}`);
  }

  it('one createUser is one trace: gateway plan/fetch, every subgraph, internal commands and MongoDB', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const res = await gql(
      stack.gatewayUrl,
      CREATE,
      {
        input: {
          user: {
            firstName: 'Leia',
            lastName: 'Organa',
            email: uniqueEmail('traced'),
            credentials: { username: `traced_${randomBytes(3).toString('hex')}`, password: 'Alderaan-Forever-77' },
          },
          requestedLicenses: ['VIEWER'],
          requestedGroups: ['DEFAULT'],
        },
      },
      { ...bearer(adminJwt), traceparent },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.createUser.errors).toEqual([]);

    const trace = await readTrace(traceId, ['gateway', 'org-users', 'identity', 'licensing']);
    const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
    expect(trace.spans.every((s) => s.traceID === traceId)).toBe(true);

    // Apollo Gateway's own spans: the plan and one fetch per subgraph call.
    const gatewayOps = trace.spans.filter((s) => serviceOf(trace, s) === 'gateway').map((s) => s.operationName);
    expect(gatewayOps).toEqual(expect.arrayContaining(['gateway.request', 'gateway.plan', 'gateway.fetch']));

    // Each subgraph served part of the request (an HTTP server span) ...
    for (const service of ['org-users', 'identity', 'licensing']) {
      const server = trace.spans.filter((s) => serviceOf(trace, s) === service && tag(s, 'span.kind') === 'server');
      expect(server.length, `${service} server spans`).toBeGreaterThan(0);
    }
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
});
