import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { DomainError, errSummary } from './errors.js';
import { launcherPidEnv } from './env.js';

export interface RequestInfo {
  req: IncomingMessage;
  requestId: string;
  /** The raw body, already size-checked. */
  body: Buffer;
}

const INTERNAL_COMMANDS_PATH = '/internal/commands/';
/** The smallest body an internal command accepts, whatever MAX_BODY_BYTES says: an audit relay batch (48 KB) and its envelope. */
export const MIN_INTERNAL_BODY_BYTES = 64_000;

export type RouteHandler = (info: RequestInfo, res: ServerResponse) => Promise<void>;

export interface ServiceHttpOptions<TContext extends BaseContext> {
  /** Named in the health answers, so whoever polls them knows which service answered. */
  service: string;
  logger: Logger;
  maxBodyBytes: number;
  /** Operations allowed in one batched request (an array body); 1 turns batching off. */
  maxBatchSize?: number;
  /**
   * `/readyz` answers 200 only while this resolves true (e.g. the database
   * answers); `details`, when given, are added to its answer (no secrets).
   */
  ready: () => Promise<boolean | { ready: boolean; details?: Record<string, unknown> }>;
  graphql?: {
    apollo: ApolloServer<TContext>;
    context: (info: RequestInfo) => Promise<TContext>;
    /** Checks a document's text before Apollo parses and validates it (checkDocumentBeforeValidation). */
    precheck?: (query: string) => GraphQLError | undefined;
  };
  internalCommands?: (
    name: string,
    authorization: string | undefined,
    body: unknown,
    requestId: string,
  ) => Promise<{ status: number; body: unknown }>;
  /** Extra routes keyed by "METHOD /path". */
  routes?: Record<string, RouteHandler>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(payload);
}

function graphqlErrorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The HTTP front of every service: GraphQL through Apollo's
 * executeHTTPGraphQLRequest (no web framework in the hot path), health
 * probes, internal commands and a few extra routes.
 */
export function createServiceHttpServer<TContext extends BaseContext>(opts: ServiceHttpOptions<TContext>): http.Server {
  const { logger } = opts;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = sanitizeRequestId(req.headers['x-request-id']) ?? randomUUID();
    res.setHeader('x-request-id', requestId);
    // With tracing on, the client learns the trace id to look up (W3C Trace Context Level 2).
    const span = trace.getActiveSpan()?.spanContext();
    if (span && isSpanContextValid(span)) res.setHeader('traceresponse', `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`);
    // A request target the URL parser refuses (e.g. `http://[::1/graphql`) is the client's error, not a 500.
    const url = URL.canParse(req.url ?? '/', 'http://localhost') ? new URL(req.url ?? '/', 'http://localhost') : undefined;
    if (!url) return sendJson(res, 400, graphqlErrorBody('Malformed request URL', 'BAD_REQUEST'));

    if (method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok', service: opts.service });
    if (method === 'GET' && url.pathname === '/readyz') {
      const answer = await opts.ready().catch(() => false);
      const { ready, details } = typeof answer === 'boolean' ? { ready: answer, details: undefined } : answer;
      return sendJson(res, ready ? 200 : 503, {
        status: ready ? 'ready' : 'unavailable',
        service: opts.service,
        ...(details ? { details } : {}),
      });
    }

    // MAX_BODY_BYTES is the operator's bound on clients' requests; internal commands (the audit relay's batches of up
    // to 48 KB) get at least MIN_INTERNAL_BODY_BYTES, or a small setting would refuse every batch, forever.
    const maxBodyBytes = url.pathname.startsWith(INTERNAL_COMMANDS_PATH)
      ? Math.max(opts.maxBodyBytes, MIN_INTERNAL_BODY_BYTES)
      : opts.maxBodyBytes;
    let body: Buffer;
    try {
      body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, graphqlErrorBody(`Request body too large: the limit is ${maxBodyBytes} bytes`, 'BAD_REQUEST'));
      }
      throw err;
    }
    const info: RequestInfo = { req, requestId, body };

    const route = opts.routes?.[`${method} ${url.pathname}`];
    if (route) return route(info, res);

    if (opts.internalCommands && url.pathname.startsWith(INTERNAL_COMMANDS_PATH)) {
      if (method !== 'POST') return sendJson(res, 405, { ok: false, error: { code: 'BAD_REQUEST', message: 'POST only' } });
      const parsed = parseJson(body);
      if (!parsed.ok) return sendJson(res, 400, { ok: false, error: { code: 'BAD_REQUEST', message: 'Body is not valid JSON' } });
      const name = decodeURIComponentOrUndefined(url.pathname.slice(INTERNAL_COMMANDS_PATH.length));
      if (name === undefined) return sendJson(res, 404, { ok: false, error: { code: 'NOT_FOUND', message: 'Unknown internal command' } });
      const result = await opts.internalCommands(name, req.headers.authorization, parsed.value, requestId);
      return sendJson(res, result.status, result.body);
    }

    if (opts.graphql && url.pathname === '/graphql') return serveGraphQL(opts.graphql, info, url, method, res, opts.maxBatchSize ?? 1);

    return sendJson(res, 404, { error: 'not found' });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // The path only: a query string can carry variables (passwords) or a client secret.
      logger.error({ err: errSummary(err), path: (req.url ?? '').split('?', 1)[0] }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, graphqlErrorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
      else res.end();
    });
  });
  // Above the gateway's keep-alive idle timeout, so the gateway closes idle
  // sockets first and never writes to one we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}

async function serveGraphQL<TContext extends BaseContext>(
  graphql: NonNullable<ServiceHttpOptions<TContext>['graphql']>,
  info: RequestInfo,
  url: URL,
  method: string,
  res: ServerResponse,
  maxBatchSize: number,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(info.req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  let parsedBody: unknown;
  if (info.body.length > 0) {
    const parsed = parseJson(info.body);
    if (!parsed.ok) return sendJson(res, 400, graphqlErrorBody('Request body is not valid JSON', 'BAD_REQUEST'));
    parsedBody = parsed.value;
    if (Array.isArray(parsedBody)) {
      if (maxBatchSize <= 1)
        return sendJson(res, 400, graphqlErrorBody('Batched operations are disabled: send one operation per request', 'BAD_REQUEST'));
      if (parsedBody.length > maxBatchSize) {
        return sendJson(res, 400, graphqlErrorBody(`Too many operations in one batch: the limit is ${maxBatchSize}`, 'BAD_REQUEST'));
      }
    }
  }
  if (graphql.precheck) {
    const operations =
      method === 'GET' ? [{ query: url.searchParams.get('query') }] : Array.isArray(parsedBody) ? parsedBody : [parsedBody];
    for (const op of operations) {
      const query = (op as { query?: unknown } | null)?.query;
      const refused = typeof query === 'string' ? graphql.precheck(query) : undefined;
      if (refused) return sendJson(res, 400, { errors: [{ message: refused.message, extensions: refused.extensions }] });
    }
  }
  const response = await graphql.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers, search: url.search, body: parsedBody },
    context: () => graphql.context(info),
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** decodeURIComponent, or undefined for a malformed escape such as `%E0%A4%A`. */
function decodeURIComponentOrUndefined(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function sanitizeRequestId(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && /^[A-Za-z0-9\-_.]{1,64}$/.test(v) ? v : undefined;
}

/** Starts listening and resolves with the bound port (PORT=0 picks a free one). */
export function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** The exit status of a service whose port was taken: the CLI picks another port on it, without reading stderr. */
export const EXIT_PORT_TAKEN = 3;

/** A main.ts's exit status for a start-up failure: EXIT_PORT_TAKEN for EADDRINUSE (by its code), else 1. */
export const exitStatusOf = (err: unknown): number => ((err as { code?: unknown } | null)?.code === 'EADDRINUSE' ? EXIT_PORT_TAKEN : 1);

/** Stops accepting, lets in-flight requests finish (bounded), then closes idle sockets. */
export async function closeServer(server: http.Server, graceMs = 10_000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

/** Runs `shutdown` once on SIGTERM/SIGINT, then exits; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err: errSummary(err) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  // A launcher killed outright (SIGKILL, OOM) sends no signal; its children are re-parented.
  // Stop as if told to, rather than serve on unsupervised and hold the ports.
  const launcherPid = launcherPidEnv();
  if (launcherPid !== undefined) {
    const watch = setInterval(() => {
      if (process.ppid === launcherPid || stopping) return;
      clearInterval(watch);
      logger.warn({ launcherPid }, 'the launcher is gone: stopping');
      handler('SIGTERM');
    }, 500);
    watch.unref();
  }
}

export { DomainError };
