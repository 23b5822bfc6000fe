import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { DomainError } from './errors.js';
import {
  createRegistrationCounter,
  createServiceMetrics,
  graphqlMetricsPlugin,
  registerMongoPoolMetrics,
  startMetricsServer,
  UNRESOLVED_OPERATION,
} from './metrics.js';

const schema = buildSchema('type Query { hello: String, boom: String }');
const rootValue = {
  hello: () => 'hi',
  boom: () => {
    throw new Error('boom');
  },
};

async function counterValue(metrics: ReturnType<typeof createServiceMetrics>, labels: Record<string, string>) {
  const found = (await metrics.requests.get()).values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return found?.value ?? 0;
}

describe('graphqlMetricsPlugin', () => {
  it('counts operations by type and root field with their outcome, never by the client-chosen name', async () => {
    const metrics = createServiceMetrics('test', true);
    const apollo = new ApolloServer({ schema, rootValue, plugins: [graphqlMetricsPlugin(metrics)] });
    await apollo.start();
    await apollo.executeOperation({ query: 'query AnyNameTheClientLikes { hello }' });
    await apollo.executeOperation({ query: 'query { hello }' });
    await apollo.executeOperation({ query: 'query { boom }' });
    await apollo.executeOperation({ query: 'query { notAField }' });
    await apollo.executeOperation({ query: '{ broken' });
    await apollo.stop();

    expect(await counterValue(metrics, { operation: 'query.hello', outcome: 'success' })).toBe(2);
    // A resolver that throws is ours; a document that does not parse or validate is the client's.
    expect(await counterValue(metrics, { operation: 'query.boom', outcome: 'server_error' })).toBe(1);
    expect(await counterValue(metrics, { operation: UNRESOLVED_OPERATION, outcome: 'client_error' })).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('AnyNameTheClientLikes');
    expect(text).not.toContain('notAField');
    expect(text).toMatch(/usergraph_graphql_request_duration_seconds_count\{[^}]*operation="query.hello"[^}]*\} 2/);
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="test"\} /m);
  });
});

describe('labels a client cannot drive (cardinality)', () => {
  it('250 requests with attacker-chosen names, aliases, fields, fragments and root types add no label value beyond the schema', async () => {
    const metrics = createServiceMetrics('test', true);
    const apollo = new ApolloServer({ schema, rootValue, plugins: [graphqlMetricsPlugin(metrics)] });
    await apollo.start();
    const attacks = (tag: string) => [
      `query Op_${tag} { hello }`,
      `query { alias_${tag}: hello }`,
      `query { field_${tag} }`,
      `query { ...F_${tag} } fragment F_${tag} on Query { hello }`,
      `query { ... on Query { alias_${tag}: boom } }`,
      `query A_${tag} { hello } query B_${tag} { boom }`,
      // graphql-js validates no field of a root type the schema lacks: these reach didResolveOperation.
      `mutation M_${tag} { field_${tag} }`,
      `subscription { field_${tag} }`,
      `query { __typename alias_${tag}: __typename }`,
      `{ hello(arg_${tag}: 1) }`,
    ];
    for (let i = 0; i < 25; i++) {
      const tag = `x${i}${Math.random().toString(36).slice(2, 8)}`;
      for (const query of attacks(tag)) {
        await apollo.executeOperation({ query, operationName: query.startsWith('query A_') ? `B_${tag}` : undefined });
      }
    }
    await apollo.stop();
    const operations = new Set((await metrics.requests.get()).values.map((v) => String(v.labels.operation)));
    // The type and first root field, or the type alone when the first selection is a fragment; never the client's words.
    expect([...operations].sort()).toEqual(
      ['mutation', 'query', 'query.__typename', 'query.boom', 'query.hello', 'subscription', UNRESOLVED_OPERATION].sort(),
    );
    const outcomes = new Set((await metrics.requests.get()).values.map((v) => String(v.labels.outcome)));
    expect([...outcomes].sort()).toEqual(['client_error', 'server_error', 'success']);
    expect(await metrics.registry.metrics()).not.toMatch(/x\d+[a-z0-9]{6}/);
  });
});

describe('createServiceMetrics when nothing scrapes it', () => {
  it('leaves the process collectors out (METRICS_PORT unset: metrics off cost nothing)', async () => {
    const off = createServiceMetrics('off', false);
    expect(off.enabled).toBe(false);
    expect(await off.registry.metrics()).not.toContain('process_cpu_user_seconds_total');
    expect(await createServiceMetrics('on', true).registry.metrics()).toContain('process_cpu_user_seconds_total');
  });
});

describe('createRegistrationCounter', () => {
  it('counts each registration by dialect and outcome (from the error code, or the answer), starting every pair at 0', async () => {
    const metrics = createServiceMetrics('test', true);
    const registrations = createRegistrationCounter(metrics.registry, ['A', 'D']);
    const fresh = await metrics.registry.metrics();
    expect(fresh).toContain('usergraph_registrations_total{dialect="A",outcome="conflict",service="test"} 0');
    expect(fresh).toContain('usergraph_registrations_total{dialect="D",outcome="success",service="test"} 0');
    expect(fresh).not.toContain('dialect="B"');

    const a = registrations.counted('A', async (fail?: Error) => {
      if (fail) throw fail;
      return 'user';
    });
    expect(await a()).toBe('user');
    const errors: Array<[Error, string]> = [
      [new DomainError('BAD_USER_INPUT', 'bad'), 'invalid'],
      [new DomainError('CONFLICT', 'taken'), 'conflict'],
      [new DomainError('FORBIDDEN', 'no'), 'denied'],
      [new DomainError('UNAUTHENTICATED', 'who'), 'denied'],
      [new DomainError('RATE_LIMITED', 'slow down'), 'refused'],
      [new DomainError('SERVICE_UNAVAILABLE', 'down'), 'error'],
      [new Error('bug'), 'error'],
    ];
    for (const [err] of errors) await expect(a(err)).rejects.toBe(err);
    const d = registrations.counted(
      'D',
      async (errs: number) => ({ errors: Array.from({ length: errs }, () => 'x') }),
      (payload) => (payload.errors.length > 0 ? 'invalid' : 'success'),
    );
    await d(0);
    await d(2);
    const text = await metrics.registry.metrics();
    const value = (dialect: string, outcome: string) =>
      Number(
        new RegExp(`usergraph_registrations_total\\{dialect="${dialect}",outcome="${outcome}",service="test"\\} (\\d+)`).exec(text)?.[1],
      );
    expect(value('A', 'success')).toBe(1);
    expect(value('A', 'invalid')).toBe(1);
    expect(value('A', 'conflict')).toBe(1);
    expect(value('A', 'denied')).toBe(2);
    expect(value('A', 'refused')).toBe(1);
    expect(value('A', 'error')).toBe(2);
    expect(value('D', 'success')).toBe(1);
    expect(value('D', 'invalid')).toBe(1);
  });
});

describe('startMetricsServer', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('answers GET /metrics in the Prometheus text format and nothing else', async () => {
    const metrics = createServiceMetrics('test', true);
    metrics.requests.inc({ operation: 'query.hello', outcome: 'success' });
    const server = await startMetricsServer({ registry: metrics.registry, port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }) });
    close = () => server.close();
    const ok = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(await ok.text()).toContain('usergraph_graphql_requests_total{operation="query.hello",outcome="success",service="test"} 1');
    expect((await fetch(`http://127.0.0.1:${server.port}/graphql`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});

describe('registerMongoPoolMetrics', () => {
  it('follows the driver pool events: in-use connections, and connections opened and closed', async () => {
    const metrics = createServiceMetrics('test', true);
    const client = new EventEmitter();
    registerMongoPoolMetrics(metrics.registry, client);
    client.emit('connectionCreated');
    client.emit('connectionCreated');
    client.emit('connectionCheckedOut');
    client.emit('connectionCheckedOut');
    client.emit('connectionCheckedIn');
    client.emit('connectionClosed');
    const text = await metrics.registry.metrics();
    expect(text).toContain('usergraph_mongodb_pool_connections_in_use{service="test"} 1');
    expect(text).toContain('usergraph_mongodb_pool_connections_created_total{service="test"} 2');
    expect(text).toContain('usergraph_mongodb_pool_connections_closed_total{service="test"} 1');
    expect(text).toContain('usergraph_mongodb_pool_max_connections{service="test"} 100');
  });

  it("reports the pool size the client was configured with (MONGODB_URI's maxPoolSize)", async () => {
    const metrics = createServiceMetrics('test', true);
    registerMongoPoolMetrics(metrics.registry, Object.assign(new EventEmitter(), { options: { maxPoolSize: 20 } }));
    expect(await metrics.registry.metrics()).toContain('usergraph_mongodb_pool_max_connections{service="test"} 20');
  });
});
