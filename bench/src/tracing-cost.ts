/**
 * Issue 15: where tracing's CPU goes, one setting at a time. One stack (embedded store, 100 users) and one
 * Jaeger; each variant restarts every service with its own tracing environment, then sends P1's query
 * through the gateway at a fixed rate (both sides serve the same requests in the same time, so each
 * process's CPU per request compares like with like, whatever else the machine does), then a short closed
 * loop (32 connections). Variants alternate round by round (order reversed every other round).
 *
 *   npm run build && node bench/dist/tracing-cost.js [--variants off,on,always_off,ratio10] [--rounds 3]
 *        [--rate 80] [--seconds 10] [--closed-seconds 0] [--profile DIR]
 *
 * `--profile DIR` profiles the gateway and org-users during each fixed-rate load (V8 CPU profiles in DIR,
 * see cpu-profile-hook.ts; sum them with `node bench/dist/profile-summary.js DIR/<file>...`).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startStack, type ServiceName } from '@usergraph/cli';
import { startJaeger } from '@usergraph/embedded-store';
import type { LoadConfig, LoadResult } from './load.js';
import { prepareP1Organization } from './p1-organization.js';
import { variantEnv } from './tracing-variants.js';
import { assertLoopback, cpuDuring, distScript, runJsonChild, sleep, type CpuUse } from './util.js';

const { values: argv } = parseArgs({
  options: {
    variants: { type: 'string', default: 'off,on,always_off' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '80' },
    seconds: { type: 'string', default: '10' },
    'closed-seconds': { type: 'string', default: '0' },
    profile: { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
  },
  strict: true,
});
const CONFIG = {
  rounds: Number(argv.rounds),
  rate: Number(argv.rate),
  seconds: Number(argv.seconds),
  closedSeconds: Number(argv['closed-seconds']),
  connections: 8,
  closedConnections: 32,
  tokens: 128,
  orgUsers: 100,
};
const P1_QUERY = 'query BenchUsers { users(fullText: "a", first: 20) { nodes { id firstName lastName email } totalCount } }';
const PASSWORD = 'Bench-Password-4711';
const SERVICES = ['identity', 'org-users', 'licensing', 'gateway'] as const satisfies readonly ServiceName[];

/** Write system calls a process has made (/proc/<pid>/io syscw). */
const writeCalls = (pid: number | undefined): number =>
  Number(/syscw: (\d+)/.exec(pid ? readFileSync(`/proc/${pid}/io`, 'utf8') : '')?.[1] ?? NaN);

const log = (msg: string) => process.stderr.write(`[tracing-cost ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function main() {
  const variants = argv.variants.split(',');
  const profileDir = argv.profile ? resolve(argv.profile) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-tracing-cost-'));
  const jaeger = await startJaeger({ log });
  // startStack reads each service's serviceEnv when it (re)starts it: each variant sets it here.
  const base: Record<ServiceName, Record<string, string>> = {
    identity: { RATE_LIMIT_PER_IP: '1000000000', RATE_LIMIT_PER_ACCOUNT: '1000000000', ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1' },
    'org-users': {},
    licensing: {},
    gateway: {},
    registry: {},
  };
  const serviceEnv = structuredClone(base);
  const stack = await startStack({
    dataDir,
    ports: { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 },
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    serviceEnv,
  });
  try {
    assertLoopback(stack.gatewayUrl);
    const tokens = await prepareP1Organization(stack, { users: CONFIG.orgUsers, tokens: CONFIG.tokens, password: PASSWORD });

    const pids = () => ({
      gateway: stack.pid('gateway'),
      'org-users': stack.pid('org-users'),
      store: stack.store?.pid,
      jaeger: jaeger.pid,
    });
    async function switchTo(variant: string) {
      for (const service of SERVICES) {
        serviceEnv[service] = { ...base[service], ...variantEnv(variant, jaeger.otlpEndpoint) };
        if (profileDir && (service === 'gateway' || service === 'org-users')) {
          serviceEnv[service].USERGRAPH_CPU_PROFILE_DIR = profileDir;
          serviceEnv[service].NODE_OPTIONS = `--import ${pathToFileURL(distScript('cpu-profile-hook.js')).href}`;
        }
        await stack.restart(service);
      }
    }
    const profiled = (on: boolean) => {
      if (!profileDir) return;
      for (const service of ['gateway', 'org-users'] as const) process.kill(stack.pid(service)!, 'SIGUSR2');
      if (!on) return sleep(1000); // the profiles are written
    };
    const load = (extra: Partial<LoadConfig>): LoadConfig => ({
      url: stack.gatewayUrl,
      connections: CONFIG.connections,
      duration: CONFIG.seconds,
      tokenPool: tokens,
      body: JSON.stringify({ query: P1_QUERY }),
      quietPids: Object.values(pids()).filter((p): p is number => typeof p === 'number'),
      ...extra,
    });

    const fixed: Record<string, Array<{ result: LoadResult; cpu: CpuUse }>> = {};
    const closed: Record<string, Array<{ result: LoadResult; cpu: CpuUse }>> = {};
    for (let round = 0; round < CONFIG.rounds; round++) {
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
        await switchTo(variant);
        // Warm-up (JIT, connection pools, caches), not measured.
        await runJsonChild<LoadResult>('load.js', load({ duration: 3, overallRate: CONFIG.rate }));
        const writesBefore = { gateway: writeCalls(stack.pid('gateway')), 'org-users': writeCalls(stack.pid('org-users')) };
        await profiled(true);
        const atRate = await cpuDuring(pids(), () => runJsonChild<LoadResult>('load.js', load({ overallRate: CONFIG.rate })));
        await profiled(false);
        if (atRate.result.ok < atRate.result.requests * 0.99) throw new Error(`${variant}: ${JSON.stringify(atRate.result.statusCodes)}`);
        (fixed[variant] ??= []).push(atRate);
        const perReq = (k: string) => ((atRate.cpu.seconds[k] ?? 0) * 1000) / atRate.result.ok;
        const writes = (k: 'gateway' | 'org-users') => ((writeCalls(stack.pid(k)) - writesBefore[k]) / atRate.result.ok).toFixed(1);
        let line =
          `round ${round + 1} ${variant}: ${atRate.result.rps.toFixed(0)} req/s, CPU ms/request gateway ${perReq('gateway').toFixed(2)}, ` +
          `org-users ${perReq('org-users').toFixed(2)}, store ${perReq('store').toFixed(2)}; write calls/request gateway ${writes('gateway')}, ` +
          `org-users ${writes('org-users')}`;
        if (CONFIG.closedSeconds > 0) {
          const run = await cpuDuring(pids(), () =>
            runJsonChild<LoadResult>('load.js', load({ connections: CONFIG.closedConnections, duration: CONFIG.closedSeconds, warmup: 2 })),
          );
          (closed[variant] ??= []).push(run);
          line += `; closed loop ${run.result.rps.toFixed(0)} req/s`;
        }
        log(`${line} (machine busy ${(((atRate.cpu.machineBusySeconds ?? 0) / atRate.cpu.elapsedSeconds) * 50).toFixed(0)}%)`);
      }
    }
    const perRequest = (runs: Array<{ result: LoadResult; cpu: CpuUse }>) => {
      const served = runs.reduce((a, r) => a + r.result.ok, 0);
      const out: Record<string, number> = {};
      for (const r of runs)
        for (const [k, v] of Object.entries(r.cpu.seconds)) if (k !== 'bench') out[k] = (out[k] ?? 0) + (v * 1000) / served;
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, +v.toFixed(3)]));
    };
    /** Each round's gateway + org-users CPU per request: the spread says how far to trust a difference. */
    const perRound = (runs: Array<{ result: LoadResult; cpu: CpuUse }>) =>
      runs.map((r) => +((((r.cpu.seconds.gateway ?? 0) + (r.cpu.seconds['org-users'] ?? 0)) * 1000) / r.result.ok).toFixed(2));
    const result = {
      config: CONFIG,
      loadAverage: (await import('node:os')).loadavg(),
      variants: Object.fromEntries(
        variants.map((v) => [
          v,
          {
            env: variantEnv(v, 'OTLP'),
            fixedRateCpuMsPerRequest: perRequest(fixed[v]!),
            gatewayPlusOrgUsersPerRound: perRound(fixed[v]!),
            ...(closed[v]
              ? {
                  closedLoopRps: +(
                    closed[v].reduce((a, r) => a + r.result.ok, 0) / closed[v].reduce((a, r) => a + r.result.seconds, 0)
                  ).toFixed(1),
                  closedLoopCpuMsPerRequest: perRequest(closed[v]),
                }
              : {}),
          },
        ]),
      ),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stack.stop();
    await jaeger.stop();
    if (argv['keep-data']) log(`data and logs kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tracing-cost failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
