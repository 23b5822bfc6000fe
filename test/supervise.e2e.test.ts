/**
 * Issue 15, a supervised `usergraph start`: the real launcher process, run as
 * an operator runs it. A killed store or service comes back (and the console
 * says so); a crash-looping service makes the launcher give up, stop the rest
 * and exit non-zero; every variable a service documents reaches it (here
 * NOTIFIER=smtp, delivering a code to a real SMTP server); Ctrl-C stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { repoRoot } from '@usergraph/embedded-store';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { gql, removeDir, uniqueEmail } from './support/stack.js';

const VERIFY = `mutation($o: String!, $e: String!, $c: String!) { verifyEmail(organizationSlug: $o, email: $e, code: $c) { success message } }`;
const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)?.[1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `usergraph start` as a real process, its console collected. */
interface Launcher {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
  dataDir: string;
}

function launch(env: Record<string, string>): Launcher {
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-supervise-'));
  const child = spawn(process.execPath, [join(repoRoot(), 'apps/cli/dist/main.js'), 'start'], {
    cwd: repoRoot(),
    env: {
      PATH: process.env.PATH ?? '',
      USERGRAPH_DATA_DIR: dataDir,
      PORT: '0',
      IDENTITY_PORT: '0',
      ORG_USERS_PORT: '0',
      LICENSING_PORT: '0',
      REGISTRY_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => text, exit, dataDir };
}

/** Waits (bounded) until the console shows `pattern`. */
async function waitForConsole(l: Launcher, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpExecArray> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    const match = pattern.exec(l.out());
    if (match) return match;
    if (l.child.exitCode !== null) break;
  }
  throw new Error(`console never showed ${pattern}:\n${l.out()}`);
}

/** The launcher's children, from /proc: each service by its entry point, the store by its binary. */
function childPid(launcherPid: number, what: string): number | undefined {
  const needle = what === 'store' ? 'usergraph-ferretdb' : `apps/${what}/dist/main.js`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === launcherPid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      continue;
    }
  }
  return undefined;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Registers on `public` (retrying, bounded, while a restarted piece comes back) and returns the email. */
async function registerSomeone(gatewayUrl: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 60; i++) {
    const email = uniqueEmail('supervised');
    const res = await gql(gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null, withVerificationCode: true });
    if (!res.errors && res.data?.register?.user?.id) return email;
    last = res.errors;
    await sleep(500);
  }
  throw new Error(`register never succeeded: ${JSON.stringify(last)}`);
}

describe('usergraph start supervises the stack and passes its configuration through', () => {
  let smtp: SMTPServer;
  let smtpPort: number;
  const mails: Array<{ to: string; text: string }> = [];
  const launchers: Launcher[] = [];
  const start = (env: Record<string, string>) => {
    const l = launch(env);
    launchers.push(l);
    return l;
  };

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), text: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const l of launchers) {
      if (l.child.exitCode === null) {
        l.child.kill('SIGINT');
        await l.exit;
      }
      removeDir(l.dataDir);
    }
    await new Promise<void>((resolve) => smtp.close(resolve));
  });

  it('delivers a code by SMTP, restarts a killed store and a killed service, and stops cleanly on Ctrl-C', async () => {
    const l = start({ NOTIFIER: 'smtp', SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
    const gatewayUrl = (await waitForConsole(l, /gateway\s+(http:\/\/\S+)/))[1]!;
    await waitForConsole(l, /Press Ctrl-C to stop/);
    const launcherPid = l.child.pid!;

    // Configuration: NOTIFIER and SMTP_URL reached identity, so the code comes by mail, and it works.
    const email = await registerSomeone(gatewayUrl);
    for (let i = 0; i < 100 && !mails.some((m) => m.to === email); i++) await sleep(100);
    const code = codeIn(mails.find((m) => m.to === email)?.text ?? '');
    expect(code).toMatch(/^\d{6}$/);
    const verified = await gql(gatewayUrl, VERIFY, { o: 'public', e: email, c: code });
    expect(verified.data?.verifyEmail.success).toBe(true);

    // The store: killed, restarted on its port, and the stack serves again.
    const storePid = childPid(launcherPid, 'store')!;
    expect(storePid).toBeGreaterThan(0);
    process.kill(storePid, 'SIGKILL');
    await waitForConsole(l, /store exited .*restarting it in/);
    await waitForConsole(l, /store is back/);
    expect(childPid(launcherPid, 'store')).not.toBe(storePid);
    await registerSomeone(gatewayUrl);

    // A service: killed, restarted, serving again.
    const identityPid = childPid(launcherPid, 'identity')!;
    expect(identityPid).toBeGreaterThan(0);
    process.kill(identityPid, 'SIGKILL');
    await waitForConsole(l, /identity exited \(SIGKILL\); restarting it in/);
    await waitForConsole(l, /identity is back/);
    const newIdentity = childPid(launcherPid, 'identity');
    expect(newIdentity).toBeGreaterThan(0);
    expect(newIdentity).not.toBe(identityPid);
    const again = await registerSomeone(gatewayUrl);
    for (let i = 0; i < 100 && !mails.some((m) => m.to === again); i++) await sleep(100);
    expect(codeIn(mails.find((m) => m.to === again)?.text ?? '')).toMatch(/^\d{6}$/);

    // Ctrl-C: everything stops, exit 0.
    const pids = ['store', 'identity', 'org-users', 'licensing', 'registry', 'gateway'].map((w) => childPid(launcherPid, w)!);
    expect(pids.every((p) => p > 0)).toBe(true);
    l.child.kill('SIGINT');
    expect(await l.exit).toBe(0);
    expect(l.out()).toMatch(/Stopped\./);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('gives up on a crash-looping service, stops the rest and exits non-zero', async () => {
    const l = start({});
    const identityUrl = (await waitForConsole(l, /identity\s+http:\/\/127\.0\.0\.1:(\d+)/))[1]!;
    await waitForConsole(l, /Press Ctrl-C to stop/);
    const launcherPid = l.child.pid!;
    const pids = ['store', 'org-users', 'licensing', 'registry', 'gateway'].map((w) => childPid(launcherPid, w)!);
    expect(pids.every((p) => p > 0)).toBe(true);

    // Identity dies, and its port is taken before the restart: every restart fails at once, a crash loop.
    const squatter = net.createServer();
    // Its connections (the launcher's readiness probes) are cut on close, or close would wait for them.
    const sockets = new Set<net.Socket>();
    squatter.on('connection', (socket) => sockets.add(socket));
    try {
      process.kill(childPid(launcherPid, 'identity')!, 'SIGKILL');
      await waitForConsole(l, /identity exited/);
      await new Promise<void>((resolve, reject) => {
        squatter.once('error', reject);
        squatter.listen(Number(identityUrl), '127.0.0.1', resolve);
      });
      const code = await Promise.race([l.exit, sleep(60_000).then(() => 'still running')]);
      expect(code, l.out()).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (squatter.listening ? squatter.close(() => resolve()) : resolve()));
    }
    expect(l.out()).toMatch(/identity failed to restart .*crashed 5 times within 60 s, giving up\. See .*identity\.log/);
    expect(l.out()).toMatch(/Stopped\./);
    expect(pids.filter(alive)).toEqual([]);
  }, 180_000);
});
