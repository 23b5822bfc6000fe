/**
 * Issue 15: what Prometheus metrics cost P1. One stack; P1's query through the
 * gateway (32 connections, 128 application tokens, closed loop), with metrics
 * off (no METRICS_PORT: no instrumentation at all) and on (METRICS_PORT set on
 * the gateway and the three subgraphs, each `/metrics` scraped every second
 * from this process, as Prometheus would). Between sides every service is
 * restarted with the other setting; sides alternate (off on, on off, ...), so
 * drift in the machine's other work falls on both. Throughput ratio on/off,
 * and CPU per request of each process, which the other work on a shared
 * machine moves less than throughput. Then the same query at a fixed rate
 * (both sides do the same work in the same time: each process's CPU per
 * second compares like with like), and each process's CPU per second while
 * the stack idles (scraped or not): the fixed cost of being scraped.
 *
 *   npm run build && node bench/dist/metrics-cost.js [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startStack, type ServiceName } from '@usergraph/cli';
import type { LoadConfig, LoadResult } from './load.js';
import { prepareP1Organization } from './p1-organization.js';
import { assertLoopback, cpuDuring, percentile, runJsonChild, sleep, type CpuUse } from './util.js';

const { values: argv } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
const CONFIG = {
  connections: 32,
  tokens: 128,
  /** Sides alternate: each round runs both, in turn order off/on then on/off. */
  rounds: argv.quick ? 2 : 4,
  warmupSeconds: argv.quick ? 1 : 3,
  loadSeconds: argv.quick ? 5 : 10,
  /**
   * Then the same query at a fixed rate, well under saturation: both sides serve the same requests in
   * the same time, so each process's CPU compares like with like, whatever else the machine does.
   */
  fixedRate: 60,
  fixedConnections: 8,
  /** After each load, the stack idles this long (still scraped when on): the fixed cost, free of the load's noise. */
  idleSeconds: argv.quick ? 3 : 6,
  scrapeIntervalMs: 1000,
  orgUsers: 100,
};
const P1_QUERY = 'query BenchUsers { users(fullText: "a", first: 20) { nodes { id firstName lastName email } totalCount } }';
const PASSWORD = 'Bench-Password-4711';
const SERVICES = ['identity', 'org-users', 'licensing', 'gateway'] as const satisfies readonly ServiceName[];
type Side = 'off' | 'on';

const log = (msg: string) => process.stderr.write(`[metrics-cost ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Scrapes every `/metrics` once per interval until stopped, as Prometheus would; every failure is kept. */
function startScraper(ports: Record<string, number>) {
  const scrapes: Record<string, { ms: number[]; bytes: number; failures: number }> = {};
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const tick = Date.now();
      await Promise.all(
        Object.entries(ports).map(async ([service, port]) => {
          const s = (scrapes[service] ??= { ms: [], bytes: 0, failures: 0 });
          const t0 = performance.now();
          try {
            const res = await request(`http://127.0.0.1:${port}/metrics`);
            const body = await res.body.text();
            if (res.statusCode !== 200 || !body.includes('usergraph_graphql_requests_total')) s.failures++;
            else {
              s.ms.push(performance.now() - t0);
              s.bytes = body.length;
            }
          } catch {
            s.failures++;
          }
        }),
      );
      await sleep(Math.max(0, CONFIG.scrapeIntervalMs - (Date.now() - tick)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return scrapes;
    },
  };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-metrics-cost-'));
  const metricsPorts = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)));
  // startStack reads each service's serviceEnv when it (re)starts it: the sides set or remove METRICS_PORT here.
  const serviceEnv: Record<ServiceName, Record<string, string>> = {
    identity: { RATE_LIMIT_PER_IP: '1000000000', RATE_LIMIT_PER_ACCOUNT: '1000000000', ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1' },
    'org-users': {},
    licensing: {},
    gateway: {},
    registry: {},
  };
  const stack = await startStack({
    dataDir,
    ports: { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 },
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    serviceEnv,
  });
  try {
    assertLoopback(stack.gatewayUrl);
    const tokens = await prepareP1Organization(stack, { users: CONFIG.orgUsers, tokens: CONFIG.tokens, password: PASSWORD });

    async function switchTo(side: Side) {
      for (const service of SERVICES) {
        if (side === 'on') serviceEnv[service].METRICS_PORT = String(metricsPorts[service]);
        else delete serviceEnv[service].METRICS_PORT;
        await stack.restart(service);
      }
    }
    const pids = () => Object.fromEntries([...SERVICES.map((s) => [s, stack.pid(s)]), ['store', stack.store?.pid]]);

    const runs: Record<Side, Array<{ result: LoadResult; cpu: CpuUse }>> = { off: [], on: [] };
    const idle: Record<Side, CpuUse[]> = { off: [], on: [] };
    const fixed: Record<Side, Array<{ result: LoadResult; cpu: CpuUse }>> = { off: [], on: [] };
    const scrapeStats: Record<string, { ms: number[]; bytes: number; failures: number }> = {};
    for (let round = 0; round < CONFIG.rounds; round++) {
      for (const side of (round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) as Side[]) {
        await switchTo(side);
        const scraper = side === 'on' ? startScraper(metricsPorts) : undefined;
        const config: LoadConfig = {
          url: stack.gatewayUrl,
          connections: CONFIG.connections,
          duration: CONFIG.loadSeconds,
          warmup: CONFIG.warmupSeconds,
          tokenPool: tokens,
          body: JSON.stringify({ query: P1_QUERY }),
          returnLatencies: true,
          quietPids: Object.values(pids()).filter((p): p is number => typeof p === 'number'),
        };
        try {
          const { result, cpu } = await cpuDuring(pids(), () => runJsonChild<LoadResult>('load.js', config));
          if (result.ok === 0 || result.ok < result.requests * 0.99)
            throw new Error(
              `${side}: ${result.ok} of ${result.requests} answered ${JSON.stringify(result.statusCodes)} ${result.sampleError ?? ''}`,
            );
          runs[side].push({ result, cpu });
          log(`round ${round + 1} ${side}: ${result.rps.toFixed(0)} req/s, p99 ${result.latencyMs.p99.toFixed(0)} ms`);
          const atRate = await cpuDuring(pids(), () =>
            runJsonChild<LoadResult>('load.js', {
              ...config,
              connections: CONFIG.fixedConnections,
              overallRate: CONFIG.fixedRate,
              warmup: 1,
            } satisfies LoadConfig),
          );
          if (atRate.result.ok < atRate.result.requests * 0.99) throw new Error(`${side} at a fixed rate: failures`);
          fixed[side].push(atRate);
          idle[side].push((await cpuDuring(pids(), () => sleep(CONFIG.idleSeconds * 1000))).cpu);
        } finally {
          const scrapes = await scraper?.stop();
          for (const [service, s] of Object.entries(scrapes ?? {})) {
            const all = (scrapeStats[service] ??= { ms: [], bytes: 0, failures: 0 });
            all.ms.push(...s.ms);
            all.bytes = s.bytes;
            all.failures += s.failures;
          }
        }
      }
    }

    /** CPU milliseconds each process used per second of idling. */
    const idleCpu = (side: Side) => {
      const seconds = idle[side].reduce((a, u) => a + u.elapsedSeconds, 0);
      const out: Record<string, number> = {};
      for (const u of idle[side]) for (const [k, v] of Object.entries(u.seconds)) out[k] = (out[k] ?? 0) + (v * 1000) / seconds;
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, +v.toFixed(2)]));
    };
    /** At the fixed rate: requests served per second, p99, and each process's CPU milliseconds per second. */
    const atFixedRate = (side: Side) => {
      const rs = fixed[side];
      const seconds = rs.reduce((a, r) => a + r.cpu.elapsedSeconds, 0);
      const cpu: Record<string, number> = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.cpu.seconds)) cpu[k] = (cpu[k] ?? 0) + (v * 1000) / seconds;
      const latencies = rs.flatMap((r) => r.result.latencies ?? []).sort((a, b) => a - b);
      return {
        rps: +(rs.reduce((a, r) => a + r.result.ok, 0) / rs.reduce((a, r) => a + r.result.seconds, 0)).toFixed(1),
        p99Ms: +percentile(latencies, 99).toFixed(1),
        cpuMsPerSecond: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, +v.toFixed(1)])),
        stackCpuMsPerSecond: +Object.entries(cpu)
          .filter(([k]) => k !== 'bench')
          .reduce((a, [, v]) => a + v, 0)
          .toFixed(1),
      };
    };
    const sideSummary = (side: Side) => {
      const rs = runs[side];
      const ok = rs.reduce((a, r) => a + r.result.ok, 0);
      const seconds = rs.reduce((a, r) => a + r.result.seconds, 0);
      const served = rs.reduce((a, r) => a + (r.result.servedApprox ?? r.result.requests), 0);
      const latencies = rs.flatMap((r) => r.result.latencies ?? []).sort((a, b) => a - b);
      const cpuMsPerRequest: Record<string, number> = {};
      for (const r of rs)
        for (const [k, v] of Object.entries(r.cpu.seconds)) cpuMsPerRequest[k] = (cpuMsPerRequest[k] ?? 0) + (v * 1000) / served;
      const stackMs = Object.entries(cpuMsPerRequest)
        .filter(([k]) => k !== 'bench')
        .reduce((a, [, v]) => a + v, 0);
      const round = (v: number) => +v.toFixed(3);
      return {
        rps: +(ok / seconds).toFixed(1),
        perRun: rs.map((r) => +r.result.rps.toFixed(1)),
        p50Ms: +percentile(latencies, 50).toFixed(1),
        p99Ms: +percentile(latencies, 99).toFixed(1),
        cpuMsPerRequest: Object.fromEntries(Object.entries(cpuMsPerRequest).map(([k, v]) => [k, round(v)])),
        stackCpuMsPerRequest: round(stackMs),
        otherWorkOnMachineSeconds: +rs.reduce((a, r) => a + (r.cpu.othersSeconds ?? 0), 0).toFixed(1),
        idleCpuMsPerSecond: idleCpu(side),
        atFixedRate: atFixedRate(side),
      };
    };
    const off = sideSummary('off');
    const on = sideSummary('on');
    const result = {
      config: CONFIG,
      off,
      on,
      throughputOnOverOff: +(on.rps / off.rps).toFixed(3),
      stackCpuPerRequestOnOverOff: +(on.stackCpuMsPerRequest / off.stackCpuMsPerRequest).toFixed(3),
      stackCpuAtFixedRateOnOverOff: +(on.atFixedRate.stackCpuMsPerSecond / off.atFixedRate.stackCpuMsPerSecond).toFixed(3),
      scrapes: Object.fromEntries(
        Object.entries(scrapeStats).map(([service, s]) => [
          service,
          {
            scrapes: s.ms.length,
            failures: s.failures,
            p50Ms: +percentile(
              s.ms.sort((a, b) => a - b),
              50,
            ).toFixed(2),
            bytes: s.bytes,
          },
        ]),
      ),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`metrics-cost failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
