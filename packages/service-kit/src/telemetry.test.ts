/**
 * Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or its traces-only form) is set, and
 * OTEL_SDK_DISABLED=true turns it off whatever else is set. Each case runs startTelemetry in a
 * process of its own (the SDK and its module hooks are process-wide), starts and ends a span
 * through the OpenTelemetry API, flushes, and reports; a local OTLP/HTTP receiver counts what
 * reached it. The last case, tracing on, shows the probe can see an exporter when there is one.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SHUTDOWN_FLUSH_MS } from './telemetry.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

// Imports the built module (a service's main.js does the same) from this package's own directory.
const PROBE = `
import { trace } from '@opentelemetry/api';
import { startTelemetry, stopTelemetry } from '@usergraph/service-kit/telemetry';
const started = await startTelemetry('probe');
const span = trace.getTracer('probe').startSpan('probe-span');
span.end();
const warnings = [];
const stopping = performance.now();
await stopTelemetry({ warn: (_fields, msg) => warnings.push(msg) });
const stopMs = performance.now() - stopping;
process.stdout.write(JSON.stringify({ started, traceId: span.spanContext().traceId, stopMs, warnings }));
// An exporter that gave up may still retry in the background: a service exits after its stop, so does the probe.
process.exit(0);
`;

interface ProbeResult {
  started: boolean;
  traceId: string;
  /** How long stopTelemetry (the last flush) took. */
  stopMs: number;
  /** What it logged. */
  warnings: string[];
}

function probe(env: Record<string, string>): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE],
      // Only what the case sets: never the OTEL_* variables of whoever runs the tests.
      { cwd: PACKAGE_DIR, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`probe failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as ProbeResult);
      },
    );
  });
}

describe('startTelemetry: off unless an OTLP endpoint is configured', () => {
  let receiver: Server;
  let endpoint: string;
  const received: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      received.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
  });

  it('without OTEL_EXPORTER_OTLP_ENDPOINT: no SDK, spans are the API no-op', async () => {
    const r = await probe({ OTEL_TRACES_SAMPLER: 'always_on' });
    expect(r.started).toBe(false);
    // The API's no-op tracer hands out the invalid (all-zero) span context.
    expect(r.traceId).toBe('0'.repeat(32));
    expect(received).toEqual([]);
  });

  it.each(['true', 'TRUE'])('OTEL_SDK_DISABLED=%s wins over a configured endpoint: nothing is exported', async (disabled) => {
    const r = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: disabled, OTEL_BSP_SCHEDULE_DELAY: '10' });
    expect(r.started).toBe(false);
    expect(r.traceId).toBe('0'.repeat(32));
    expect(received).toEqual([]);
  });

  it('OTEL_SDK_DISABLED=false with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: on, and the span reaches the receiver', async () => {
    const r = await probe({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`, OTEL_SDK_DISABLED: 'false' });
    expect(r.started).toBe(true);
    expect(r.traceId).not.toBe('0'.repeat(32));
    expect(received).toContain('POST /v1/traces');
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT: on, and the span reaches the receiver', async () => {
    const r = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(r.started).toBe(true);
    expect(r.traceId).not.toBe('0'.repeat(32));
    expect(received).toContain('POST /v1/traces');
  });

  it('a collector that refuses connections holds a stop for at most SHUTDOWN_FLUSH_MS, not the exporter retries', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refusing = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const r = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: refusing });
    expect(r.started).toBe(true);
    // The exporter alone retried for about 10 s (the launcher's SIGKILL delay), then failed the stop.
    expect(r.stopMs).toBeGreaterThanOrEqual(SHUTDOWN_FLUSH_MS - 100);
    expect(r.stopMs).toBeLessThan(SHUTDOWN_FLUSH_MS + 3_000);
    expect(r.warnings).toEqual(['tracing: the last spans were not delivered before the stop']);
  });
});
