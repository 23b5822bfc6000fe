// OpenTelemetry tracing for every service. A service's main.js calls
// startTelemetry() first and only then imports the rest of its code, so the
// instrumentations patch mongodb, pino and node:http as they load. Off unless
// OTEL_EXPORTER_OTLP_ENDPOINT is set; configured by the standard OTEL_* variables
// (sampler, headers, protocol, resource attributes).
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { telemetryEnv } from './env.js';

let sdk: NodeSDK | undefined;

/** `{"find":"?","filter":"?","limit":"?"}`: which command and options, without any value. */
const commandShape = (command: Record<string, unknown>): string =>
  JSON.stringify(Object.fromEntries(Object.keys(command).map((key) => [key, '?'])));

/** Starts tracing when configured; returns whether it did. Call before importing anything instrumented. */
export async function startTelemetry(serviceName: string): Promise<boolean> {
  const env = telemetryEnv();
  if (!env.enabled || sdk) return !!sdk;
  // ESM modules are patched through import-in-the-middle; only the modules an
  // instrumentation asks for are wrapped.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  sdk = new NodeSDK({
    serviceName: env.serviceName ?? serviceName,
    // Traces only. Left to the environment, the SDK would also record every request in OTLP
    // metrics (and push them to the same endpoint): Prometheus /metrics does that here, and
    // those histograms were a measurable part of tracing's CPU (bench/README.md, P10).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation(),
      new UndiciInstrumentation(),
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

/** Flushes and stops the exporter (on shutdown), so the last spans are not lost. */
export async function stopTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  if (running) await running.shutdown();
}
