// Tracing starts before the service's own code is imported, so mongodb, pino
// and node:http load already instrumented (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set).
import { startTelemetry } from '@usergraph/service-kit/telemetry';

// The public edge: a client's traceparent is not believed (see telemetry.ts).
await startTelemetry('gateway', { publicEdge: true });
await import('./start.js');
