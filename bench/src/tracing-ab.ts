/**
 * Issue 15: tracing settings compared side by side, robust to other work on a shared machine. Every
 * setting gets its own set of services at once (one store, one Jaeger, the same secrets, so the same
 * tokens and answers); P1's query then goes through each gateway in turn, in short fixed-rate slices
 * (order reversed every other slice), and each slice's gateway + org-users CPU per request is divided by
 * the first setting's in the same slice. The median of those paired ratios is the verdict: a burst of
 * other work moves the slices it falls in, not the median. (tracing-cost.ts restarts one set of services
 * per setting and compares rounds minutes apart: on a busy machine its rounds differed by 25%.)
 *
 *   npm run build && node bench/dist/tracing-ab.js [--variants off,on,...] [--slices 16] [--seconds 3]
 *        [--rate 80] [--perf DIR]
 *
 * A variant is a name from tracing-variants.ts or `KEY=value` pairs joined by `+`
 * (`on+NODE_OPTIONS=--import /tmp/als.mjs`). `--perf DIR` also records the last 3 slices of every
 * variant with Linux `perf` (software cpu-clock, 4 kHz; the services run with `--perf-basic-prof`, so
 * JavaScript frames have names): `perf report -i DIR/<variant>-<slice>.data --sort dso,sym`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, type RunningStack } from '@usergraph/cli';
import { startJaeger } from '@usergraph/embedded-store';
import type { LoadConfig, LoadResult } from './load.js';
import { prepareP1Organization } from './p1-organization.js';
import { variantEnv } from './tracing-variants.js';
import { assertLoopback, cpuDuring, runJsonChild } from './util.js';

const { values: argv } = parseArgs({
  options: {
    variants: { type: 'string', default: 'off,on' },
    slices: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '80' },
    perf: { type: 'string' },
  },
  strict: true,
});
const SLICES = Number(argv.slices);
const SECONDS = Number(argv.seconds);
const RATE = Number(argv.rate);
const P1_QUERY = 'query BenchUsers { users(fullText: "a", first: 20) { nodes { id firstName lastName email } totalCount } }';
const IDENTITY_ENV = { RATE_LIMIT_PER_IP: '1000000000', RATE_LIMIT_PER_ACCOUNT: '1000000000', ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1' };
const EPHEMERAL = { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 };

const log = (msg: string) => process.stderr.write(`[tracing-ab ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** `perf record` of the gateway and org-users for `seconds`; resolves when it has written its file. */
function perfRecord(stack: RunningStack, file: string): Promise<unknown> {
  const pids = `${stack.pid('gateway')},${stack.pid('org-users')}`;
  const child: ChildProcess = spawn(
    'perf',
    ['record', '-e', 'cpu-clock', '-F', '4000', '-p', pids, '-o', file, '--', 'sleep', String(SECONDS)],
    {
      stdio: 'ignore',
    },
  );
  // No `perf` on the machine: that slice goes unrecorded, the comparison goes on.
  return new Promise((done) => {
    child.once('exit', done);
    child.once('error', (err) => {
      log(`perf record: ${err.message}`);
      done(undefined);
    });
  });
}

async function main() {
  const variants = argv.variants.split(',');
  const perfDir = argv.perf ? resolve(argv.perf) : undefined;
  if (perfDir) mkdirSync(perfDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-tracing-ab-'));
  const jaeger = await startJaeger({ log });
  const stacks: Record<string, RunningStack> = {};
  let seeding: RunningStack | undefined;
  try {
    seeding = await startStack({
      dataDir,
      ports: EPHEMERAL,
      env: { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
      serviceEnv: { identity: IDENTITY_ENV },
    });
    const tokens = await prepareP1Organization(seeding, { users: 100, tokens: 128, password: 'Bench-Password-4711' });
    for (const [i, variant] of variants.entries()) {
      const dir = join(dataDir, `variant-${i}`);
      mkdirSync(dir);
      copyFileSync(join(dataDir, 'secrets.json'), join(dir, 'secrets.json'));
      const perfEnv: Record<string, string> = perfDir ? { NODE_OPTIONS: '--perf-basic-prof' } : {};
      stacks[variant] = await startStack({
        dataDir: dir,
        mongodbUri: seeding.mongodbUri,
        ports: EPHEMERAL,
        env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', ...perfEnv, ...variantEnv(variant, jaeger.otlpEndpoint) },
        // Each set publishes its own URLs: a registry database of its own.
        serviceEnv: { identity: IDENTITY_ENV, registry: { MONGODB_DB: `registry_ab_${i}` } },
      });
      assertLoopback(stacks[variant].gatewayUrl);
    }
    const load = (stack: RunningStack, duration: number): LoadConfig => ({
      url: stack.gatewayUrl,
      connections: 8,
      duration,
      overallRate: RATE,
      tokenPool: tokens,
      body: JSON.stringify({ query: P1_QUERY }),
    });
    for (const variant of variants) await runJsonChild<LoadResult>('load.js', load(stacks[variant]!, 4)); // warm-up
    const perSlice: Record<string, Array<{ cpu: number; jaeger: number }>> = {};
    for (let slice = 0; slice < SLICES; slice++) {
      for (const variant of slice % 2 === 0 ? variants : [...variants].reverse()) {
        const stack = stacks[variant]!;
        const recording = perfDir && slice >= SLICES - 3 ? perfRecord(stack, join(perfDir, `${variant}-${slice}.data`)) : undefined;
        const run = await cpuDuring({ gateway: stack.pid('gateway'), 'org-users': stack.pid('org-users'), jaeger: jaeger.pid }, () =>
          runJsonChild<LoadResult>('load.js', load(stack, SECONDS)),
        );
        await recording;
        if (run.result.ok < run.result.requests * 0.99) throw new Error(`${variant}: ${JSON.stringify(run.result.statusCodes)}`);
        const ms = (k: string) => ((run.cpu.seconds[k] ?? 0) * 1000) / run.result.ok;
        (perSlice[variant] ??= []).push({ cpu: ms('gateway') + ms('org-users'), jaeger: ms('jaeger') });
      }
      log(
        `slice ${slice + 1}: ${variants.map((v) => `${v} ${perSlice[v]!.at(-1)!.cpu.toFixed(2)}`).join(' | ')} (gateway + org-users CPU ms/request)`,
      );
    }
    const reference = perSlice[variants[0]!]!;
    const result = Object.fromEntries(
      variants.map((v) => {
        const ratios = perSlice[v]!.map((s, i) => s.cpu / reference[i]!.cpu);
        return [
          v,
          {
            env: variantEnv(v, 'OTLP'),
            gatewayPlusOrgUsersCpuMsPerRequest: +median(perSlice[v]!.map((s) => s.cpu)).toFixed(3),
            pairedRatioMedian: +median(ratios).toFixed(3),
            pairedRatioMean: +(ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(3),
            jaegerCpuMsPerRequest: +median(perSlice[v]!.map((s) => s.jaeger)).toFixed(3),
          },
        ];
      }),
    );
    process.stdout.write(
      `${JSON.stringify({ config: { slices: SLICES, seconds: SECONDS, rate: RATE, reference: variants[0] }, result }, null, 2)}\n`,
    );
  } finally {
    for (const stack of Object.values(stacks)) await stack.stop();
    await seeding?.stop();
    await jaeger.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tracing-ab failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
