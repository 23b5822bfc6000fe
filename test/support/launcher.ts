/**
 * `usergraph start` (what `npm start` runs) as a real process, as an operator
 * runs it: its console collected, its process tree read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@usergraph/embedded-store';

export const LAUNCHER = join(repoRoot(), 'apps/cli/dist/main.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Launcher {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
  dataDir: string;
}

/** Every port ephemeral, a fresh data directory, warnings only in the service logs. */
export function launcherEnv(dataDir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    USERGRAPH_DATA_DIR: dataDir,
    PORT: '0',
    IDENTITY_PORT: '0',
    ORG_USERS_PORT: '0',
    LICENSING_PORT: '0',
    REGISTRY_PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  };
}

/**
 * Starts `usergraph start`, or `command` run by sh with it (`"$LAUNCHER" start | head -1`).
 * Detached: its own process group, so a test can send Ctrl-C to the group as a terminal does.
 */
export function launch(env: Record<string, string>, command?: string): Launcher {
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-launcher-'));
  const [file, args] = command === undefined ? [process.execPath, [LAUNCHER, 'start']] : ['sh', ['-c', command]];
  const child = spawn(file, args, {
    cwd: repoRoot(),
    env: { ...launcherEnv(dataDir, env), LAUNCHER: `${process.execPath} ${LAUNCHER}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => text, exit, dataDir };
}

/** Waits (bounded) until the console shows `pattern`. */
export async function waitForConsole(l: Launcher, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpExecArray> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    const match = pattern.exec(l.out());
    if (match) return match;
    if (l.child.exitCode !== null) break;
  }
  throw new Error(`console never showed ${pattern}:\n${l.out()}`);
}

/** Each live process's parent and command line, from /proc. */
function processTable(): Array<{ pid: number; ppid: number; cmdline: string }> {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.push({ pid: Number(entry), ppid, cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // Gone between the listing and the read: not a process of ours any more.
      continue;
    }
  }
  return table;
}

/** What a store or service process runs: the store's binary, or a service's entry point. */
const needleOf = (what: string) => (what === 'store' ? 'usergraph-ferretdb' : `apps/${what}/dist/main.js`);

/** The launcher's child running `what` ('store', 'identity', ...), if any. */
export function childPid(launcherPid: number, what: string): number | undefined {
  return processTable().find((p) => p.ppid === launcherPid && p.cmdline.includes(needleOf(what)))?.pid;
}

/** Every store and service process under `rootPid`, at any depth, by what it runs. */
export function stackProcesses(rootPid: number): Map<string, number> {
  const table = processTable();
  const under = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of table)
      if (under.has(p.ppid) && !under.has(p.pid)) {
        under.add(p.pid);
        grew = true;
      }
  }
  const found = new Map<string, number>();
  for (const what of ['store', 'identity', 'org-users', 'licensing', 'registry', 'gateway']) {
    const p = table.find((q) => under.has(q.pid) && q.cmdline.includes(needleOf(what)));
    if (p) found.set(what, p.pid);
  }
  return found;
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits (bounded) for the launcher to exit; `timeout` if it does not. */
export const exitWithin = (l: Launcher, ms: number) => Promise.race([l.exit, sleep(ms).then(() => 'timeout' as const)]);

/** Stops a launcher a test left running (Ctrl-C to its group), bounded. */
export async function stopLauncher(l: Launcher): Promise<void> {
  if (l.child.exitCode !== null || l.child.signalCode !== null) return;
  process.kill(-l.child.pid!, 'SIGINT');
  if ((await exitWithin(l, 30_000)) === 'timeout') process.kill(-l.child.pid!, 'SIGKILL');
}
