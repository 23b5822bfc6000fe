// OpenTelemetry tracing for every service. A service's main.js calls
// startTelemetry() first and only then imports the rest of its code, so the
// instrumentations patch mongodb, pino and node:http as they load. Off unless
// OTEL_EXPORTER_OTLP_ENDPOINT is set; configured by the standard OTEL_* variables
// (sampler, headers, protocol, resource attributes).
import { IncomingMessage, type ClientRequest } from 'node:http';
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import type { Context, Span, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import type { Logger } from 'pino';
import { clientAddressOf, compileTrustedProxies } from './client-ip.js';
import { errSummary } from './error-summary.js';
import { telemetryEnv } from './env.js';

const REDACTED = 'REDACTED';

/**
 * At the public edge a client's `traceparent` is not believed: it would let anyone
 * force sampling (export cost) and choose the trace id stamped in our logs. The
 * gateway starts its own trace and passes it on (W3C trace context, no baggage).
 */
class InjectOnlyPropagator implements TextMapPropagator {
  private readonly w3c = new W3CTraceContextPropagator();
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    this.w3c.inject(context, carrier, setter);
  }
  extract(context: Context, _carrier: unknown, _getter: TextMapGetter): Context {
    return context;
  }
  fields(): string[] {
    return this.w3c.fields();
  }
}

/** `scheme://host/path` without the query: query strings can carry passwords, codes and client secrets. */
const withoutQuery = (origin: string, path: string) => `${origin}${path.split('?', 1)[0] ?? ''}`;

/**
 * Span attributes never hold a query string (GET /graphql?variables=…, /oauth/token?client_secret=…),
 * and the client address is the one our own proxy trust computes, not a client's X-Forwarded-For.
 */
function scrubHttpSpan(span: Span, request: ClientRequest | IncomingMessage, trustProxy: ReturnType<typeof compileTrustedProxies>): void {
  if (request instanceof IncomingMessage) {
    if ((request.url ?? '').includes('?')) span.setAttribute('url.query', REDACTED);
    span.setAttribute('client.address', clientAddressOf(request, trustProxy));
  } else if (request.path.includes('?')) {
    span.setAttribute('url.full', withoutQuery(`${request.protocol}//${request.host}`, request.path));
    span.setAttribute('url.query', REDACTED);
  }
}

/** Probes and scrapes: a trace for each (every few seconds, per service) would tell an operator nothing. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const untraced = (request: IncomingMessage) => UNTRACED_PATHS.has((request.url ?? '/').split('?', 1)[0]!);

let sdk: NodeSDK | undefined;

/** `{"find":"?","filter":"?","limit":"?"}`: which command and options, without any value. */
const commandShape = (command: Record<string, unknown>): string =>
  JSON.stringify(Object.fromEntries(Object.keys(command).map((key) => [key, '?'])));

/** TRUSTED_PROXIES as the gateway reads it; an invalid list trusts none here, and the service's own env check reports it. */
function trustedProxiesOrNone(list: string): ReturnType<typeof compileTrustedProxies> {
  try {
    return compileTrustedProxies(list);
  } catch {
    return compileTrustedProxies('');
  }
}

/**
 * Starts tracing when configured; returns whether it did. Call before importing anything instrumented.
 * `publicEdge` (the gateway) ignores trace context sent by clients. `undiciSpans: false` leaves undici
 * uninstrumented: the service then passes the trace on itself (injectTraceContext) where it matters.
 */
export async function startTelemetry(serviceName: string, opts: { publicEdge?: boolean; undiciSpans?: boolean } = {}): Promise<boolean> {
  const env = telemetryEnv();
  if (!env.enabled || sdk) return !!sdk;
  // ESM modules are patched through import-in-the-middle; only the modules an
  // instrumentation asks for are wrapped.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const trustProxy = trustedProxiesOrNone(env.trustedProxies);
  sdk = new NodeSDK({
    serviceName: env.serviceName ?? serviceName,
    // Traces only. Left to the environment, the SDK would also record every request in OTLP
    // metrics (and push them to the same endpoint): Prometheus /metrics does that here, and
    // those histograms were a measurable part of tracing's CPU (bench/README.md, P10).
    metricReaders: [],
    logRecordProcessors: [],
    textMapPropagator: opts.publicEdge ? new InjectOnlyPropagator() : new W3CTraceContextPropagator(),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: untraced,
        // Only a recorded span is exported: an unsampled request (ratio sampling) skips the scrubbing.
        requestHook: (span, request) => {
          if (span.isRecording()) scrubHttpSpan(span, request, trustProxy);
        },
      }),
      // An instrumentation subscribes to undici as soon as it is constructed: only build it when used.
      ...(opts.undiciSpans === false
        ? []
        : [
            new UndiciInstrumentation({
              requestHook: (span, request) => {
                if (!request.path.includes('?')) return;
                span.setAttribute('url.full', withoutQuery(request.origin, request.path));
                span.setAttribute('url.query', REDACTED);
              },
            }),
          ]),
      // Values never leave the process (they can hold e-mail addresses and other personal data):
      // a statement is its command's top-level keys. The default serializer walks the whole
      // command to mask each value, a tenth of a millisecond per P1 request (bench/README.md, P10).
      new MongoDBInstrumentation({ enhancedDatabaseReporting: false, dbStatementSerializer: commandShape }),
      // Adds trace_id/span_id to every log line written inside a span; logs still go to stdout only.
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  return true;
}

/**
 * How long a stop waits for the last spans. The exporter retries an unreachable collector for about
 * 10 s, the launcher's SIGKILL delay: a stop must not wait on it (nor fail for it).
 */
export const SHUTDOWN_FLUSH_MS = 2_000;

/**
 * Flushes and stops the exporter (on shutdown), so the last spans are not lost; gives up after
 * SHUTDOWN_FLUSH_MS. Never rejects: spans that cannot be delivered are reported to `log`, if given.
 */
export async function stopTelemetry(log?: Pick<Logger, 'warn'>): Promise<void> {
  const running = sdk;
  sdk = undefined;
  if (!running) return;
  let timer: NodeJS.Timeout | undefined;
  const flushed = running.shutdown().then(
    () => 'flushed' as const,
    (err: unknown) => ({ failed: err }),
  );
  const outcome = await Promise.race([
    flushed,
    new Promise<'timed out'>((done) => (timer = setTimeout(done, SHUTDOWN_FLUSH_MS, 'timed out'))),
  ]);
  clearTimeout(timer);
  if (outcome === 'timed out') log?.warn({ flushMs: SHUTDOWN_FLUSH_MS }, 'tracing: the last spans were not delivered before the stop');
  else if (outcome !== 'flushed') log?.warn({ err: errSummary(outcome.failed) }, 'tracing: the last spans were not delivered');
}
