// Tracing starts before the service's own code is imported, so mongodb, pino
// and node:http load already instrumented (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set).
import { startTelemetry } from '@usergraph/service-kit/telemetry';

// The public edge: a client's traceparent is not believed (see telemetry.ts). No undici client spans:
// each subgraph call already has Apollo Gateway's gateway.fetch span, and the gateway passes the trace
// on itself (injectTraceContext); an undici span under each fetch cost CPU and told nothing more.
await startTelemetry('gateway', { publicEdge: true, undiciSpans: false });
await import('./start.js');
