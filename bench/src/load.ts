/**
 * The load generator, run in its own process by run.ts:
 *
 *   node bench/dist/load.js '<json LoadConfig>'
 *
 * Runs autocannon programmatically against one loopback URL, bounded by a
 * duration and/or an amount of requests, and prints one line of JSON (a
 * LoadResult) on stdout. Latency percentiles are computed from every response
 * time autocannon reports (fractions of a millisecond kept), not from its
 * 1 ms-resolution histogram.
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Request } from 'autocannon';
import { assertLoopback, percentile, readConfigArg } from './util.js';

export interface LoadConfig {
  url: string;
  connections: number;
  /** Seconds. At least one of duration and amount is required. */
  duration?: number;
  amount?: number;
  /** Requests per second across all connections (open-ish loop); absent: as fast as possible. */
  overallRate?: number;
  /** Seconds of load before the measured run, discarded. */
  warmup?: number;
  headers?: Record<string, string>;
  body: string;
  /**
   * Every occurrence of this text in the body is replaced by a value unique to
   * the request (for registrations that need a fresh email each time).
   */
  uniquePlaceholder?: string;
  /** Seconds before a request counts as a timeout. */
  timeout?: number;
  /**
   * Bearer tokens sent in turn, one per request: many clients rather than one,
   * so no gateway can coalesce identical in-flight requests.
   */
  tokenPool?: string[];
  /** The servers' processes: after a duration ends, wait until they are idle (see settle). */
  quietPids?: number[];
  /** Include every 2xx latency (sorted, ms) in the result, to merge runs. */
  returnLatencies?: boolean;
}

export interface LoadResult {
  connections: number;
  overallRate: number | null;
  seconds: number;
  requests: number;
  /** Responses with status 2xx and no top-level GraphQL `errors`. */
  ok: number;
  /** ok responses per second. */
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  graphqlErrors: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** One response body that carried GraphQL errors, for diagnosis. */
  sampleError?: string;
  latencies?: number[];
  /** Requests the servers handled for this process, warm-up and abandoned ones included (an estimate for CPU per request). */
  servedApprox?: number;
  /** How long the run waited at its end for the requests still in flight (see settle). */
  settledMs?: number;
}

function requestsOf(config: LoadConfig): Request[] | undefined {
  const placeholder = config.uniquePlaceholder;
  const pool = config.tokenPool?.length ? config.tokenPool : undefined;
  if (!placeholder && !pool) return undefined;
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let n = 0;
  let t = 0;
  return [
    {
      method: 'POST',
      setupRequest: (req) => ({
        ...req,
        ...(placeholder ? { body: config.body.split(placeholder).join(`${run}x${(n++).toString(36)}`) } : {}),
        ...(pool ? { headers: { ...req.headers, authorization: `Bearer ${pool[t++ % pool.length]}` } } : {}),
      }),
    },
  ];
}

async function once(config: LoadConfig, seconds: number | undefined, amount: number | undefined, measure: boolean): Promise<LoadResult> {
  const latencies: number[] = [];
  let sampleError: string | undefined;
  const instance = autocannon({
    url: config.url,
    connections: config.connections,
    // autocannon ignores the duration when given an amount: a timer stops it instead.
    ...(amount !== undefined ? { amount } : seconds !== undefined ? { duration: seconds } : {}),
    ...(config.overallRate ? { overallRate: config.overallRate } : {}),
    timeout: config.timeout ?? 30,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...config.headers },
    body: config.body,
    ...(requestsOf(config) ? { requests: requestsOf(config)! } : {}),
    verifyBody: (body: string) => {
      const ok = !body.startsWith('{"errors"') && !body.includes('"errors":[{');
      if (!ok && sampleError === undefined) sampleError = body.slice(0, 500);
      return ok;
    },
  });
  const started = process.hrtime.bigint();
  const stopTimer = amount !== undefined && seconds !== undefined ? setTimeout(() => instance.stop(), seconds * 1000) : undefined;
  if (measure) {
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  }
  const result = await instance;
  clearTimeout(stopTimer);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const twoXx = Object.entries(statusCodes)
    .filter(([c]) => c.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);
  const ok = Math.max(0, twoXx - result.mismatches);
  const measuredSeconds = elapsed;
  latencies.sort((a, b) => a - b);
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : NaN;
  return {
    connections: config.connections,
    overallRate: config.overallRate ?? null,
    seconds: measuredSeconds,
    requests: total,
    ok,
    rps: ok / measuredSeconds,
    latencyMs: {
      mean,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? NaN,
    },
    non2xx: result.non2xx,
    graphqlErrors: result.mismatches,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    ...(sampleError !== undefined ? { sampleError } : {}),
    ...(config.returnLatencies ? { latencies: latencies.map((l) => Math.round(l * 1000) / 1000) } : {}),
  };
}

/**
 * When autocannon stops at the end of a duration, up to `connections` requests
 * are still being served: the server goes on with them after the client has
 * gone. Waiting until the servers' processes are idle (or, without their pids,
 * about as long as they take to serve that many) keeps them out of the next
 * measurement: the next run, or the next side of a comparison, would otherwise
 * queue behind them.
 */
async function settle(r: LoadResult, quietPids: number[] | undefined): Promise<number> {
  const started = Date.now();
  const estimate = Math.min(30_000, Math.round((1.2 * r.connections * 1000) / Math.max(r.rps, 0.1)) + 200);
  if (!quietPids?.length) {
    await sleep(estimate);
    return estimate;
  }
  // Until the servers are quiet: under 15 % of one core in each of two 200 ms windows.
  let last = cpuTicks(quietPids);
  let quiet = 0;
  while (Date.now() - started < 30_000) {
    await sleep(200);
    const now = cpuTicks(quietPids);
    quiet = now - last <= 3 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) break;
  }
  return Date.now() - started;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** utime + stime of these processes, in clock ticks (10 ms). */
function cpuTicks(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(fields[11]) + Number(fields[12]);
      // eslint-disable-next-line no-restricted-syntax -- a process that ended between the list and the read used no more CPU
    } catch {
      // ended: contributes nothing
    }
  }
  return sum;
}

async function main() {
  const config = readConfigArg<LoadConfig>(process.argv[2]);
  assertLoopback(config.url);
  if (config.duration === undefined && config.amount === undefined) throw new Error('a load needs a duration or an amount');
  let warmupRequests = 0;
  if (config.warmup) {
    const warm = await once(config, config.warmup, undefined, false);
    warmupRequests = warm.requests;
    await settle(warm, config.quietPids);
  }
  const result = await once(config, config.duration, config.amount, true);
  // Every request the servers handled for this process: the warm-up's, the run's, and
  // those left in flight when a duration ended (served all the same).
  result.servedApprox =
    warmupRequests +
    result.requests +
    (config.warmup ? config.connections : 0) +
    (config.duration !== undefined && config.amount === undefined ? config.connections : 0);
  if (config.duration !== undefined) result.settledMs = await settle(result, config.quietPids);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`load failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
