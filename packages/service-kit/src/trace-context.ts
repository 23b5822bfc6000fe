import { context, propagation } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/**
 * Adds the active trace context (W3C `traceparent`) to an outgoing request's headers, for a call
 * no client instrumentation covers: the gateway's subgraph fetches, whose span is Apollo Gateway's
 * own `gateway.fetch` (an undici client span under it would only repeat it, at a cost; see
 * telemetry.ts). A no-op when tracing is off.
 */
export function injectTraceContext(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}

/**
 * Runs `call` with tracing suppressed: no span, and no `traceparent` on the requests it makes. For
 * calls to third parties (webhook receivers): a trace id would tell them which of our traces their
 * request belongs to, and their answer is not ours to trace. A no-op when tracing is off.
 */
export function withoutTracing<T>(call: () => T): T {
  return context.with(suppressTracing(context.active()), call);
}
