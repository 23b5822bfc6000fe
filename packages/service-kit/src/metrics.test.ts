import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import {
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
    const metrics = createServiceMetrics('test');
    const apollo = new ApolloServer({ schema, rootValue, plugins: [graphqlMetricsPlugin(metrics)] });
    await apollo.start();
    await apollo.executeOperation({ query: 'query AnyNameTheClientLikes { hello }' });
    await apollo.executeOperation({ query: 'query { hello }' });
    await apollo.executeOperation({ query: 'query { boom }' });
    await apollo.executeOperation({ query: 'query { notAField }' });
    await apollo.executeOperation({ query: '{ broken' });
    await apollo.stop();

    expect(await counterValue(metrics, { operation: 'query.hello', outcome: 'success' })).toBe(2);
    expect(await counterValue(metrics, { operation: 'query.boom', outcome: 'error' })).toBe(1);
    expect(await counterValue(metrics, { operation: UNRESOLVED_OPERATION, outcome: 'error' })).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('AnyNameTheClientLikes');
    expect(text).not.toContain('notAField');
    expect(text).toMatch(/usergraph_graphql_request_duration_seconds_count\{[^}]*operation="query.hello"[^}]*\} 2/);
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="test"\} /m);
  });
});

describe('startMetricsServer', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('answers GET /metrics in the Prometheus text format and nothing else', async () => {
    const metrics = createServiceMetrics('test');
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
    const metrics = createServiceMetrics('test');
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
  });
});
