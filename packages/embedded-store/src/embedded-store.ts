// Runs the embedded store (FerretDB + SQLite) as a child process on a
// loopback port, for development and tests when no MONGODB_URI is given.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import mongoose from 'mongoose';
import { ensureEmbeddedStoreBinary } from './embedded-store-binary.js';

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const STDERR_TAIL_CHARS = 4_000;

export interface EmbeddedStore {
  uri: string;
  port: number;
  pid: number;
  dataDir: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** Exit code, or null when ended by a signal. Never rejects. */
  exited: Promise<number | null>;
}

export interface StartEmbeddedStoreOptions {
  dataDir: string;
  port?: number;
  logFile?: string;
  logLevel?: string;
  /** Its own process group: a terminal's Ctrl-C reaches only the launcher, which stops the store last. */
  detached?: boolean;
}

/** A free loopback port, chosen by the kernel. */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** True if a server at `uri` answers `ping` within timeoutMs. */
export async function pingDatabase(uri: string, timeoutMs = 2000): Promise<boolean> {
  const client = new mongoose.mongo.MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
    maxPoolSize: 1,
  });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    return res.ok === 1;
  } catch {
    return false;
  } finally {
    // eslint-disable-next-line no-restricted-syntax -- a probe that could not connect fails to close the same way; the ping already answered
    await client.close(true).catch(() => undefined);
  }
}

/** Whether something accepts TCP connections on the port (fails fast when refused). */
function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      r(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

// Children still running when this Node process exits are killed, so that a
// crashed test run does not leave stores behind.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

class StartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

async function startOnce(binary: string, opts: StartEmbeddedStoreOptions, port: number): Promise<EmbeddedStore> {
  // Otherwise a ping could be answered by whatever already listens there.
  if (await tcpAccepts(port)) {
    throw new StartError(`Cannot start the embedded store: 127.0.0.1:${port} is already in use.`, true);
  }

  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  let log: WriteStream | undefined;
  if (opts.logFile) {
    await mkdir(dirname(resolve(opts.logFile)), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
  }

  // -parent-pid: the store stops when this process is gone, even killed outright (SIGKILL, OOM).
  const args = [
    '-listen',
    `127.0.0.1:${port}`,
    '-data-dir',
    dataDir,
    '-log-level',
    opts.logLevel ?? 'error',
    '-parent-pid',
    String(process.pid),
  ];
  const child = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: opts.detached === true,
  });
  trackChild(child);

  // stderr is always drained (so the child never blocks on a full pipe) and
  // its tail kept to explain a failed start.
  let stderrTail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log?.write(chunk);
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  });

  // Set by the exit listener, so tsc cannot see it change: typed wide on purpose.
  let hasExited = false as boolean;
  const exited = new Promise<number | null>((resolveExit) => {
    const done = (code: number | null): void => {
      hasExited = true;
      liveChildren.delete(child);
      log?.end();
      resolveExit(code);
    };
    child.once('exit', (code) => done(code));
    // 'error' without 'exit' happens when the binary cannot be spawned at all.
    child.once('error', (err) => {
      stderrTail += `\n${err.message}`;
      if (child.pid === undefined) done(null);
    });
  });

  const uri = `mongodb://127.0.0.1:${port}/`;
  const kill = (signal: NodeJS.Signals = 'SIGTERM'): void => {
    if (!hasExited) child.kill(signal);
  };
  const stop = async (): Promise<void> => {
    if (hasExited) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  };

  // Wait until it answers ping, failing fast if the process dies.
  const deadline = Date.now() + START_TIMEOUT_MS;
  let delay = 25;
  for (;;) {
    if (hasExited) break;
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    // The TCP probe is cheap and fails at once while the port is closed; the
    // driver would instead wait for its whole server selection timeout.
    const ok = await Promise.race([
      tcpAccepts(port).then((open) => open && pingDatabase(uri, Math.min(2000, remaining))),
      exited.then(() => false),
    ]);
    if (ok) {
      return { uri, port, pid: child.pid ?? 0, dataDir, stop, kill, exited };
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the exit listener may have set it during the await above
    if (hasExited) break;
    await Promise.race([new Promise((r) => setTimeout(r, delay)), exited]);
    delay = Math.min(delay * 2, 250);
  }

  const tail = stderrTail.trim();
  if (hasExited) {
    const code = await exited;
    throw new StartError(
      `The embedded store exited during start (code ${code}) on 127.0.0.1:${port}, data dir ${dataDir}.` + (tail ? `\n${tail}` : ''),
      /address already in use/i.test(tail),
    );
  }
  await stop();
  throw new StartError(
    `The embedded store did not answer ping within ${START_TIMEOUT_MS / 1000}s on 127.0.0.1:${port}.` + (tail ? `\n${tail}` : ''),
    false,
  );
}

/** Starts the embedded store; resolves once it answers `ping`. */
export async function startEmbeddedStore(opts: StartEmbeddedStoreOptions): Promise<EmbeddedStore> {
  const binary = await ensureEmbeddedStoreBinary();
  if (opts.port !== undefined) return startOnce(binary, opts, opts.port);
  // A port picked by us can be taken by someone else before the child binds
  // it: pick another one a couple of times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, opts, await findFreePort());
    } catch (err) {
      if (!(err instanceof StartError && err.addressInUse && attempt < 3)) throw err;
    }
  }
}
