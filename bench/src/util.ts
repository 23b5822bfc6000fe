import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inheritedEnv } from './env.js';

/** Nearest-rank percentile of sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Benchmarks send traffic only to this machine. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`refusing to load ${host}: benchmarks target loopback addresses only`);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Machine {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
}

export function machine(): Machine {
  let cpuModel = os.cpus()[0]?.model?.trim() ?? 'unknown';
  // Not on Linux, os.cpus() is enough.
  if (existsSync('/proc/cpuinfo')) {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1]!.trim();
  }
  return {
    cpuModel,
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    node: process.version,
  };
}

/** VmRSS of a process in MiB, from /proc (undefined when it cannot be read). */
export function rssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A child's configuration: inline JSON, or `@<file>` holding it. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the parent wrote the config from the same type
export const readConfigArg = <T>(arg: string | undefined): T =>
  JSON.parse(arg?.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : (arg ?? '')) as T;

/** A script of this package's dist folder. */
export const distScript = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

/**
 * Runs `node <script> <json config>` in its own process and parses the one
 * JSON line it prints. The child's stderr is passed through.
 */
export function runJsonChild<T>(script: string, config: unknown, env: NodeJS.ProcessEnv = inheritedEnv()): Promise<T> {
  // A long configuration (a pool of tokens) goes through a file: one argument is limited to 128 KiB.
  let arg = JSON.stringify(config);
  let file: string | undefined;
  if (arg.length > 16_000) {
    file = join(mkdtempSync(join(tmpdir(), 'usergraph-bench-load-')), 'config.json');
    writeFileSync(file, arg, { mode: 0o600 });
    arg = `@${file}`;
  }
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [distScript(script), arg], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (file) rmSync(dirname(file), { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number | 'self' | undefined, withExitedChildren = false): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces:
    // utime, stime, then cutime, cstime (children that have exited and been waited for).
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = fields[11]! + fields[12]!;
    return (withExitedChildren ? own + fields[13]! + fields[14]! : own) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The whole machine's busy and total CPU seconds, from /proc/stat. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const n = v.map(Number);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = n[3]! + n[4]!;
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

export interface CpuUse {
  /** CPU seconds used by each named process during the work, and by the bench itself (`bench`: this process and the load generators that ended). */
  seconds: Record<string, number>;
  /** CPU seconds the whole machine was busy, and what none of those accounts for (other work on the machine). */
  machineBusySeconds?: number;
  othersSeconds?: number;
  elapsedSeconds: number;
}

/** Measures the CPU each process uses while `work` runs. */
export async function cpuDuring<T>(pids: Record<string, number | undefined>, work: () => Promise<T>): Promise<{ result: T; cpu: CpuUse }> {
  const benchBefore = cpuSecondsOf('self', true);
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSecondsOf(p)]));
  const machineBefore = machineCpu();
  const t0 = process.hrtime.bigint();
  const result = await work();
  const elapsedSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const machineAfter = machineCpu();
  const seconds: Record<string, number> = {};
  for (const [k, p] of Object.entries(pids)) {
    const a = cpuSecondsOf(p);
    const b = before[k];
    if (a !== undefined && b !== undefined) seconds[k] = a - b;
  }
  const benchAfter = cpuSecondsOf('self', true);
  if (benchAfter !== undefined && benchBefore !== undefined) seconds.bench = benchAfter - benchBefore;
  const machineBusySeconds = machineBefore && machineAfter ? machineAfter.busy - machineBefore.busy : undefined;
  const ours = Object.values(seconds).reduce((x, y) => x + y, 0);
  return {
    result,
    cpu: {
      seconds,
      elapsedSeconds,
      ...(machineBusySeconds !== undefined ? { machineBusySeconds, othersSeconds: Math.max(0, machineBusySeconds - ours) } : {}),
    },
  };
}
