import http from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Kind } from 'graphql';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';

/**
 * One Prometheus registry per service process: process metrics plus the
 * GraphQL request counter and duration histogram. Services add their own
 * metrics to `registry`.
 */
export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<'operation' | 'outcome'>;
  requestDuration: Histogram<'operation' | 'outcome'>;
}

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'usergraph_graphql_requests_total',
    help: 'GraphQL operations answered, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'usergraph_graphql_request_duration_seconds',
    help: 'Time to answer one GraphQL operation, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, requests, requestDuration };
}

/** The label for an operation that never resolved (parse or validation failure). */
export const UNRESOLVED_OPERATION = 'unresolved';

/**
 * Labels each operation by its type and first root field ("mutation.register"):
 * only a validated document gets there, so the field is one of the schema's and
 * the label set stays bounded. The client's operation name is never used.
 */
export function graphqlMetricsPlugin<TContext extends BaseContext>(metrics: ServiceMetrics): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      let operation = UNRESOLVED_OPERATION;
      return {
        async didResolveOperation({ operation: op }) {
          if (!op) return;
          const first = op.selectionSet.selections[0];
          operation = first?.kind === Kind.FIELD ? `${op.operation}.${first.name.value}` : op.operation;
        },
        async willSendResponse({ response, errors }) {
          const hasErrors =
            (errors?.length ?? 0) > 0 || (response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0);
          const outcome = hasErrors ? 'error' : 'success';
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.requests.inc({ operation, outcome });
          metrics.requestDuration.observe({ operation, outcome }, seconds);
        },
      };
    },
  };
}

/**
 * `/metrics` on its own listener, so an operator can keep it off the public
 * port: it binds METRICS_HOST (loopback by default) and answers nothing else.
 */
export async function startMetricsServer(opts: {
  registry: Registry;
  port: number;
  host: string;
  logger: Logger;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    opts.registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body);
      },
      (err: unknown) => {
        opts.logger.error({ err }, 'metrics collection failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  opts.logger.info({ port, host: opts.host }, 'metrics listening');
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What registerMongoPoolMetrics needs of a MongoClient: its connection-pool (CMAP) events. */
interface PoolEventSource {
  on(event: string, listener: () => void): unknown;
}

/**
 * MongoDB pool usage from the driver's pool events: connections checked out
 * (in use) now, and connections opened and closed. Register it before the
 * service's first database command, so every checkout is seen with its check-in.
 */
export function registerMongoPoolMetrics(registry: Registry, client: PoolEventSource): void {
  const inUse = new Gauge({
    name: 'usergraph_mongodb_pool_connections_in_use',
    help: 'Connections checked out of the MongoDB pool now.',
    registers: [registry],
  });
  const created = new Counter({
    name: 'usergraph_mongodb_pool_connections_created_total',
    help: 'Connections the MongoDB pool opened.',
    registers: [registry],
  });
  const closed = new Counter({
    name: 'usergraph_mongodb_pool_connections_closed_total',
    help: 'Connections the MongoDB pool closed.',
    registers: [registry],
  });
  client.on('connectionCheckedOut', () => inUse.inc());
  client.on('connectionCheckedIn', () => inUse.dec());
  client.on('connectionCreated', () => created.inc());
  client.on('connectionClosed', () => closed.inc());
}
