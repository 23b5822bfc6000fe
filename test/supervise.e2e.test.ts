/**
 * Issue 15, a supervised `usergraph start`: the real launcher process, run as
 * an operator runs it. A killed store or service comes back (and the console
 * says so); a service that keeps crashing, fast or slowly, makes the launcher
 * give up, stop the rest and exit non-zero, while a run of the stable time
 * clears its count; every variable a service documents reaches it (here
 * NOTIFIER=smtp, delivering a verification code and a reset code to a real SMTP
 * server); Ctrl-C, SIGTERM and SIGHUP (also while starting) and a closed console
 * (`| head -1`) stop everything.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { gql, LOGIN, removeDir, uniqueEmail } from './support/stack.js';
import {
  alive,
  childPid,
  exitWithin,
  launch as launchProcess,
  sleep,
  stackProcesses,
  stopLauncher,
  waitForConsole,
  type Launcher,
} from './support/launcher.js';

const VERIFY = `mutation($o: String!, $e: String!, $c: String!) { verifyEmail(organizationSlug: $o, email: $e, code: $c) { success message } }`;
const REQUEST_RESET = `mutation($o: String!, $e: String!) { requestPasswordReset(organizationSlug: $o, email: $e) { success message } }`;
const RESET =
  `mutation($o: String!, $e: String!, $c: String!, $n: String!) { resetPassword(organizationSlug: $o, ` +
  `email: $e, code: $c, newPassword: $n) { success message } }`;
const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)?.[1];
const ALL = ['store', 'identity', 'org-users', 'licensing', 'registry', 'gateway'];

/** Alive and not a zombie: an orphan that exited may wait a moment for init to reap it. */
const running = (pid: number) => alive(pid) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

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

/** How many times the console shows `pattern`. */
const count = (l: Launcher, pattern: RegExp) => [...l.out().matchAll(new RegExp(pattern.source, 'g'))].length;

describe('usergraph start supervises the stack and passes its configuration through', () => {
  let smtp: SMTPServer;
  let smtpPort: number;
  const mails: Array<{ to: string; subject: string; text: string }> = [];
  const launchers: Launcher[] = [];
  const launch = (env: Record<string, string>, command?: string) => {
    const l = launchProcess(env, command);
    launchers.push(l);
    return l;
  };
  /** The code in the first mail to `to` with `subject`, from what the SMTP server received (bounded wait). */
  async function mailedCode(to: string, subject: string): Promise<string | undefined> {
    const find = () => mails.find((m) => m.to === to && m.subject === subject);
    for (let i = 0; i < 100 && !find(); i++) await sleep(100);
    return codeIn(find()?.text ?? '');
  }

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const subject = /^Subject: (.*)$/im.exec(text)?.[1]?.trim() ?? '';
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), subject, text });
          callback();
        });
      },
    });
    // A client killed mid-connection (identity, SIGKILLed below) resets it: the server reports that as an error event.
    smtp.on('error', (err: NodeJS.ErrnoException) => console.warn(`smtp-server: connection error ${err.code ?? err.message}`));
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const l of launchers) {
      await stopLauncher(l);
      removeDir(l.dataDir);
    }
    await new Promise<void>((resolve) => smtp.close(resolve));
  });

  it('mails a verification code and a reset code by SMTP, restarts a killed store and service, and stops on Ctrl-C', async () => {
    // Info: each service logs its "shutting down" (and the signal that began it).
    const l = launch({ NOTIFIER: 'smtp', SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, LOG_LEVEL: 'info' });
    const gatewayUrl = (await waitForConsole(l, /gateway\s+(http:\/\/\S+)/))[1]!;
    await waitForConsole(l, /Press Ctrl-C to stop/);
    const launcherPid = l.child.pid!;

    // Configuration: NOTIFIER and SMTP_URL reached identity, so the codes come by mail, and they work.
    const email = await registerSomeone(gatewayUrl);
    const code = await mailedCode(email, 'Your verification code');
    expect(code).toMatch(/^\d{6}$/);
    const verified = await gql(gatewayUrl, VERIFY, { o: 'public', e: email, c: code });
    expect(verified.data?.verifyEmail.success).toBe(true);
    const asked = await gql(gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
    expect(asked.data?.requestPasswordReset.success).toBe(true);
    const resetCode = await mailedCode(email, 'Your password reset code');
    expect(resetCode).toMatch(/^\d{6}$/);
    const reset = await gql(gatewayUrl, RESET, { o: 'public', e: email, c: resetCode, n: 'Lighthouse-Keeper-1913' });
    expect(reset.data?.resetPassword.success).toBe(true);
    const loggedIn = await gql(gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: 'Lighthouse-Keeper-1913' });
    expect(loggedIn.data?.login.jwt).toEqual(expect.any(String));

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
    await waitForConsole(l, /identity exited \(SIGKILL\) after [\d.]+ s; restarting it in 0\.5 s \(crash 1 in a row of 5 allowed/);
    await waitForConsole(l, /identity is back/);
    const newIdentity = childPid(launcherPid, 'identity');
    expect(newIdentity).toBeGreaterThan(0);
    expect(newIdentity).not.toBe(identityPid);
    const again = await registerSomeone(gatewayUrl);
    expect(await mailedCode(again, 'Your verification code')).toMatch(/^\d{6}$/);

    // Ctrl-C as a terminal sends it: SIGINT to the launcher's process group (each service has its own, so the
    // launcher stops them in order). Everything stops, nothing restarts, exit 0.
    const pids = ALL.map((w) => childPid(launcherPid, w)!);
    expect(pids.every((p) => p > 0)).toBe(true);
    const restartsBefore = count(l, /restarting it in/);
    process.kill(-launcherPid, 'SIGINT');
    expect(await exitWithin(l, 30_000)).toBe(0);
    expect(l.out()).toMatch(/Stopped\./);
    expect(count(l, /restarting it in/)).toBe(restartsBefore);
    expect(pids.filter(alive)).toEqual([]);
    // Cleanly: each service was told once, by the launcher (SIGTERM), the gateway before the rest.
    const stoppedAt = Object.fromEntries(
      ['gateway', 'identity', 'org-users', 'licensing', 'registry'].map((name) => {
        const lines = readFileSync(join(l.dataDir, 'logs', `${name}.log`), 'utf8')
          .split('\n')
          .filter((line) => line.includes('"msg":"shutting down"'))
          .map((line) => JSON.parse(line) as { time: string; signal: string });
        expect(
          lines.map((line) => line.signal),
          name,
        ).toEqual(['SIGTERM']);
        return [name, Date.parse(lines[0]!.time)];
      }),
    );
    for (const name of ['identity', 'org-users', 'licensing', 'registry'])
      expect(stoppedAt[name]).toBeGreaterThanOrEqual(stoppedAt.gateway!);
  });

  it('gives up on a slow crash loop (a run shorter than the stable time) once 4 crash in a row; a stable run clears the count', async () => {
    // Compressed: 3 s is "stable" here (60 s by default), and 4 crashes in a row give up (5 by default): enough to
    // see the backoff double twice (0.5 s, 1 s, 2 s), without the 4 s wait of a fifth.
    const l = launch({ SUPERVISE_STABLE_SECONDS: '3', SUPERVISE_MAX_CRASHES: '4' });
    await waitForConsole(l, /Press Ctrl-C to stop/);
    const launcherPid = l.child.pid!;
    const others = ['store', 'org-users', 'licensing', 'registry', 'gateway'].map((w) => childPid(launcherPid, w)!);
    expect(others.every((p) => p > 0)).toBe(true);
    const killIdentity = () => process.kill(childPid(launcherPid, 'identity')!, 'SIGKILL');

    // A crash after a stable run is crash 1, every time.
    killIdentity();
    await waitForConsole(l, /identity is back/);
    await sleep(3500);
    killIdentity();
    await waitForConsole(l, /identity is back[\s\S]*identity is back/);
    expect(count(l, /\(crash 1 in a row of 4 allowed; a run of 3\.0 s clears them/)).toBe(2);

    // Then it crashes after each short run (1 s up): the backoff doubles, and the fourth in a row ends it.
    for (let backs = 2; l.child.exitCode === null && backs < 10; backs++) {
      await sleep(1000);
      if (l.child.exitCode !== null) break;
      killIdentity();
      // Back once more, or the launcher gave up (bounded).
      for (let i = 0; i < 300 && l.child.exitCode === null && count(l, /identity is back/) <= backs; i++) await sleep(100);
    }
    expect(await exitWithin(l, 30_000), l.out()).toBe(1);
    for (const n of [2, 3]) expect(l.out()).toMatch(new RegExp(`restarting it in ${0.5 * 2 ** (n - 1)}\\.0 s \\(crash ${n} in a row of 4`));
    expect(count(l, /restarting it in/)).toBe(4);
    expect(l.out()).toMatch(
      /usergraph: identity exited \(SIGKILL\) after [\d.]+ s: 4 crashes in a row, none after a run of 3\.0 s: a crash loop, giving up\. See .*identity\.log\. Stopping everything\./,
    );
    expect(l.out()).toMatch(/Stopped\./);
    expect(others.filter(alive)).toEqual([]);
  }, 180_000);

  it('gives up on a service that cannot restart at all, stops the rest and exits non-zero', async () => {
    // 3 crashes in a row give up (5 by default; the slow crash loop above counts the backoff): 1.5 s of backoff, not 7.5 s.
    const l = launch({ SUPERVISE_MAX_CRASHES: '3' });
    const identityPort = (await waitForConsole(l, /identity\s+http:\/\/127\.0\.0\.1:(\d+)/))[1]!;
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
        squatter.listen(Number(identityPort), '127.0.0.1', resolve);
      });
      expect(await exitWithin(l, 60_000), l.out()).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (squatter.listening ? squatter.close(() => resolve()) : resolve()));
    }
    expect(l.out()).toMatch(
      /identity failed to restart .*: 3 crashes in a row, none after a run of 60\.0 s: a crash loop, giving up\. See .*identity\.log/,
    );
    expect(l.out()).toMatch(/Stopped\./);
    expect(pids.filter(alive)).toEqual([]);
  }, 180_000);

  // SIGTERM: a process manager's stop; SIGHUP: the terminal closed (the services, in their own process groups, get neither).
  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'stops everything on %s while still starting',
    async (signal) => {
      const l = launch({});
      // As soon as the first services run, before the stack is ready.
      let seen = new Map<string, number>();
      for (let i = 0; i < 600 && seen.size < 2 && l.child.exitCode === null; i++) {
        seen = stackProcesses(l.child.pid!);
        await sleep(25);
      }
      expect([...seen.keys()]).toContain('store');
      expect(seen.size).toBeGreaterThanOrEqual(2);
      process.kill(l.child.pid!, signal);
      expect(await exitWithin(l, 30_000), l.out()).toBe(0);
      expect(l.out()).not.toMatch(/usergraph is ready/);
      expect(l.out()).toMatch(/Stopping\.\.\.\nStopped\./);
      expect([...seen.values()].filter(alive)).toEqual([]);
    },
    120_000,
  );

  it('stops everything and exits when its console is closed (usergraph start | head -1), instead of dying on EPIPE', async () => {
    const l = launch({}, '$LAUNCHER start | head -1');
    // Every piece the launcher ran, seen while it runs (the pipeline's shell is the root).
    const seen = new Map<string, number>();
    for (let i = 0; i < 900 && l.child.exitCode === null; i++) {
      for (const [what, pid] of stackProcesses(l.child.pid!)) seen.set(`${what}:${pid}`, pid);
      await sleep(100);
    }
    expect(await exitWithin(l, 30_000), l.out()).toBe(0);
    // head printed the first line; the launcher found its console gone at the next write (the ready banner).
    expect(l.out()).toMatch(/^Starting the embedded store/);
    expect(l.out()).toMatch(/usergraph: stdout failed \(EPIPE\): stopping everything\./);
    expect(l.out()).not.toMatch(/Error: write EPIPE/);
    expect([...seen.keys()].map((k) => k.split(':')[0])).toEqual(expect.arrayContaining(ALL));
    expect([...seen.values()].filter(alive)).toEqual([]);
  }, 180_000);

  it('a launcher killed outright (SIGKILL, as by the OOM killer) leaves nothing running: the store and every service stop by themselves', async () => {
    const l = launch({});
    await waitForConsole(l, /Press Ctrl-C to stop/);
    const pieces = stackProcesses(l.child.pid!);
    expect([...pieces.keys()].sort()).toEqual([...ALL].sort());
    process.kill(l.child.pid!, 'SIGKILL');
    let left = [...pieces.values()];
    for (const deadline = Date.now() + 30_000; left.length > 0 && Date.now() < deadline; await sleep(250)) left = left.filter(running);
    expect(left).toEqual([]);
  }, 120_000);
});
