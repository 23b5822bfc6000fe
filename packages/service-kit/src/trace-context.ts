import { context, propagation } from '@opentelemetry/api';

/**
 * Adds the active trace context (W3C `traceparent`) to an outgoing request's headers, for a call
 * no client instrumentation covers: the gateway's subgraph fetches, whose span is Apollo Gateway's
 * own `gateway.fetch` (an undici client span under it would only repeat it, at a cost; see
 * telemetry.ts). A no-op when tracing is off.
 */
export function injectTraceContext(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}
