/**
 * Issue 15: the part of tracing's cost that is Node 20's, not OpenTelemetry's. OpenTelemetry's context
 * manager is an AsyncLocalStorage; once one is in use, Node 20 runs a promise hook for every promise
 * the process creates (Node 22's AsyncContextFrame, Node 24's default, does without). Two measures:
 *
 * 1. CPU per promise: the same chain of awaited promises with no AsyncLocalStorage, with one entered,
 *    and under OpenTelemetry's AsyncLocalStorageContextManager (context.with) — in this process.
 * 2. A bare node:http server (one child process per setting) that awaits `--awaits` promises per
 *    request and answers a small JSON, under the same fixed-rate load: its CPU per request with and
 *    without a context entered per request (context.with of the context manager, as the HTTP
 *    instrumentation does).
 *
 *   node bench/dist/als-floor.js [--awaits 400] [--rate 400] [--seconds 8] [--rounds 3]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { fork } from 'node:child_process';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { context, ROOT_CONTEXT, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { LoadConfig, LoadResult } from './load.js';
import { cpuDuring, runJsonChild, sleep } from './util.js';

const { values: argv } = parseArgs({
  options: {
    awaits: { type: 'string', default: '400' },
    rate: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    serve: { type: 'string' },
  },
  strict: true,
});
const AWAITS = Number(argv.awaits);
const KEY = createContextKey('bench');

/** `n` awaited promises, a few async frames deep, as request handling has. */
async function work(n: number): Promise<number> {
  let sum = 0;
  const step = async (i: number) => i;
  for (let i = 0; i < n; i++) sum += await step(i);
  return sum;
}

type Mode = 'none' | 'otel-context';

/** The bare server: with `otel-context`, each request runs inside context.with, as the HTTP instrumentation's does. */
function serve(mode: Mode) {
  if (mode === 'otel-context') context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const handle = async (res: http.ServerResponse) => {
    const sum = await work(AWAITS);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: { sum } }));
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (mode === 'otel-context') void context.with(ROOT_CONTEXT.setValue(KEY, req.url), () => handle(res));
      else void handle(res);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
}

/** CPU nanoseconds per awaited promise in this process, for `n` awaits inside `run`. */
async function nsPerAwait(run: (fn: () => Promise<number>) => Promise<number>, n = 2_000_000): Promise<number> {
  await run(() => work(n / 10)); // warm-up
  const t0 = process.cpuUsage();
  await run(() => work(n));
  const used = process.cpuUsage(t0);
  return ((used.user + used.system) * 1000) / n;
}

async function main() {
  // 1. Per promise, in this process; the order matters (an AsyncLocalStorage, once used, keeps the hook on).
  const plain = await nsPerAwait((fn) => fn());
  const als = new AsyncLocalStorage<number>();
  const withAls = await nsPerAwait((fn) => als.run(1, fn));
  const manager = new AsyncLocalStorageContextManager().enable();
  const withOtel = await nsPerAwait((fn) => manager.with(ROOT_CONTEXT.setValue(KEY, 1), fn));
  process.stderr.write(
    `ns per awaited promise: plain ${plain.toFixed(0)}, AsyncLocalStorage ${withAls.toFixed(0)}, OpenTelemetry context ${withOtel.toFixed(0)}\n`,
  );

  // 2. A bare HTTP server under load, per mode, alternating.
  const cpu: Record<Mode, { seconds: number; ok: number }> = { none: { seconds: 0, ok: 0 }, 'otel-context': { seconds: 0, ok: 0 } };
  for (let round = 0; round < Number(argv.rounds); round++) {
    for (const mode of (round % 2 ? ['otel-context', 'none'] : ['none', 'otel-context']) as Mode[]) {
      const child = fork(new URL(import.meta.url), ['--serve', mode, '--awaits', String(AWAITS)], { stdio: 'inherit' });
      const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
      const config: LoadConfig = {
        url: `http://127.0.0.1:${port}/`,
        connections: 8,
        overallRate: Number(argv.rate),
        duration: Number(argv.seconds),
        warmup: 2,
        body: '{}',
      };
      const { result, cpu: used } = await cpuDuring({ server: child.pid }, () => runJsonChild<LoadResult>('load.js', config));
      cpu[mode].seconds += used.seconds.server ?? 0;
      cpu[mode].ok += result.ok;
      process.stderr.write(
        `round ${round + 1} ${mode}: ${result.rps.toFixed(0)} req/s, ${(((used.seconds.server ?? 0) * 1000) / result.ok).toFixed(3)} ms CPU/request\n`,
      );
      child.kill();
      await sleep(200);
    }
  }
  const per = (m: Mode) => (cpu[m].seconds * 1000) / cpu[m].ok;
  process.stdout.write(
    `${JSON.stringify({
      node: process.version,
      awaitsPerRequest: AWAITS,
      nsPerAwait: { plain: +plain.toFixed(0), asyncLocalStorage: +withAls.toFixed(0), openTelemetryContext: +withOtel.toFixed(0) },
      bareServerCpuMsPerRequest: { none: +per('none').toFixed(3), otelContext: +per('otel-context').toFixed(3) },
    })}\n`,
  );
}

if (argv.serve) serve(argv.serve as Mode);
else
  main().catch((err: unknown) => {
    process.stderr.write(`als-floor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
