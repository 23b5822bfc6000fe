import http from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Kind } from 'graphql';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { DomainError } from './errors.js';

/**
 * One Prometheus registry per service process: process metrics plus the
 * GraphQL request counter and duration histogram. Services add their own
 * metrics to `registry`.
 */
export interface ServiceMetrics {
  registry: Registry;
  /**
   * Whether anything scrapes this registry (METRICS_PORT is set). When not, the
   * per-request instrumentation (GraphQL plugin, subgraph fetch timer) and the
   * process collectors are left out, so metrics off costs nothing.
   */
  enabled: boolean;
  requests: Counter<'operation' | 'outcome'>;
  requestDuration: Histogram<'operation' | 'outcome'>;
}

export function createServiceMetrics(service: string, enabled: boolean): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (enabled) collectDefaultMetrics({ register: registry });
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
  return { registry, enabled, requests, requestDuration };
}

/** The label for an operation that never resolved (parse or validation failure). */
export const UNRESOLVED_OPERATION = 'unresolved';

/** Meta-fields a root selection may name without the schema declaring them. */
const META_FIELDS = new Set(['__typename', '__schema', '__type']);

/** Codes that mean we failed, not the client: only these (or an error without a code) are `server_error`. */
const SERVER_ERROR_CODES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

/**
 * `success`, `client_error` (bad input, no token, refused: the client's doing) or
 * `server_error` (ours), from the errors' codes. Alerts page on server errors
 * only, so an anonymous client sending bad requests pages no one.
 */
export function outcomeOf(errors: ReadonlyArray<{ extensions?: Record<string, unknown> }>): 'success' | 'client_error' | 'server_error' {
  if (errors.length === 0) return 'success';
  const ours = errors.some((e) => {
    const code = e.extensions?.code;
    return typeof code !== 'string' || SERVER_ERROR_CODES.has(code);
  });
  return ours ? 'server_error' : 'client_error';
}

/**
 * Labels each operation by its type and first root field ("mutation.register"),
 * and only with a field the schema's root type declares: graphql-js checks no
 * field of a root type the schema lacks (`subscription { anything }` passes
 * validation), so the document's words alone would let a client mint label
 * values. Otherwise the type alone. The client's operation name is never used.
 */
export function graphqlMetricsPlugin<TContext extends BaseContext>(metrics: ServiceMetrics): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      let operation = UNRESOLVED_OPERATION;
      return {
        async didResolveOperation({ operation: op, schema }) {
          if (!op) return;
          const first = op.selectionSet.selections[0];
          const field = first?.kind === Kind.FIELD ? first.name.value : undefined;
          const declared =
            field !== undefined && (META_FIELDS.has(field) || schema.getRootType(op.operation)?.getFields()[field] !== undefined);
          operation = declared ? `${op.operation}.${field}` : op.operation;
        },
        async willSendResponse({ response, errors }) {
          // The errors as sent carry their codes; an incremental response falls back to the raw ones.
          const sent = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : (errors ?? []);
          const outcome = outcomeOf(sent);
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

/** What registerMongoPoolMetrics needs of a MongoClient: its connection-pool (CMAP) events and its pool size. */
interface PoolEventSource {
  on(event: string, listener: () => void): unknown;
  /** The driver's resolved options: `maxPoolSize` comes from MONGODB_URI (`?maxPoolSize=`) or the driver default, 100. */
  options?: { maxPoolSize?: number };
}

/** The MongoDB driver's default `maxPoolSize`. */
const DRIVER_DEFAULT_MAX_POOL_SIZE = 100;

/**
 * MongoDB pool usage from the driver's pool events: connections checked out
 * (in use) now, and connections opened and closed. Register it before the
 * service's first database command, so every checkout is seen with its check-in.
 */
export function registerMongoPoolMetrics(registry: Registry, client: PoolEventSource): void {
  // The pool's size as configured, so the saturation alert is a ratio and holds whatever MONGODB_URI sets.
  new Gauge({
    name: 'usergraph_mongodb_pool_max_connections',
    help: 'The most connections the MongoDB pool may hold (maxPoolSize).',
    registers: [registry],
  }).set(client.options?.maxPoolSize ?? DRIVER_DEFAULT_MAX_POOL_SIZE);
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

/** The four registration operations, one per dialect. */
export const REGISTRATION_DIALECTS = {
  A: 'registerOrganizationUser',
  B: 'register',
  C: 'registerUser',
  D: 'createUser',
} as const;
export type RegistrationDialect = keyof typeof REGISTRATION_DIALECTS;

/**
 * How a registration ended, from a fixed set: success (for A and B an
 * Idempotency-Key replay too; C counts only the call it runs), invalid (bad input; D reports taken values among
 * its field errors), conflict (a taken email, phone or username), denied (no
 * token, permission or tenant), refused (a rate limit), error (anything else).
 */
export const REGISTRATION_OUTCOMES = ['success', 'invalid', 'conflict', 'denied', 'refused', 'error'] as const;
export type RegistrationOutcome = (typeof REGISTRATION_OUTCOMES)[number];

/** The outcome of a registration that threw: from its code, never its message. */
export function registrationOutcomeOf(err: unknown): RegistrationOutcome {
  if (!(err instanceof DomainError)) return 'error';
  switch (err.code) {
    case 'BAD_USER_INPUT':
      return 'invalid';
    case 'CONFLICT':
      return 'conflict';
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return 'denied';
    case 'RATE_LIMITED':
      return 'refused';
    default:
      return 'error';
  }
}

export interface RegistrationCounter {
  /**
   * Wraps one dialect's registration so each call is counted by outcome: a
   * throw by its code, an answer by `outcomeOf` (C and D answer failures as values).
   */
  counted<A extends unknown[], T>(
    dialect: RegistrationDialect,
    register: (...args: A) => Promise<T>,
    outcomeOf?: (answer: T) => RegistrationOutcome,
  ): (...args: A) => Promise<T>;
}

/**
 * `usergraph_registrations_total{dialect, outcome}` for the dialects this
 * service hosts. Both labels come from fixed sets, and every pair starts at 0,
 * so `increase()` sees the first registration of each.
 */
export function createRegistrationCounter(registry: Registry, dialects: readonly RegistrationDialect[]): RegistrationCounter {
  const registrations = new Counter({
    name: 'usergraph_registrations_total',
    help: 'Registrations answered, by dialect (A registerOrganizationUser, B register, C registerUser, D createUser) and outcome.',
    labelNames: ['dialect', 'outcome'] as const,
    registers: [registry],
  });
  for (const dialect of dialects) for (const outcome of REGISTRATION_OUTCOMES) registrations.inc({ dialect, outcome }, 0);
  return {
    counted:
      (dialect, register, outcomeOf = () => 'success') =>
      async (...args) => {
        let answer;
        try {
          answer = await register(...args);
        } catch (err) {
          registrations.inc({ dialect, outcome: registrationOutcomeOf(err) });
          throw err;
        }
        registrations.inc({ dialect, outcome: outcomeOf(answer) });
        return answer;
      },
  };
}
