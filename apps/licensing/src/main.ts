// Tracing starts before the service's own code is imported, so mongodb, pino
// and node:http load already instrumented (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set).
import { startTelemetry } from '@usergraph/service-kit/telemetry';

await startTelemetry('licensing');
await import('./start.js');
