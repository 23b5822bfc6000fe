// Builds (once, cached) and runs Jaeger for the tracing tests and the bench: a
// real OTLP receiver with a real query API (/api/traces), from the Go module
// proxy like the embedded store (pinned in tools/jaeger/go.mod). It is Jaeger
// v1's all-in-one with its memory store: on 2 cores and a cold Go build cache it
// builds in about two thirds of the CPU time of v2's cmd/jaeger (bench/README.md).
// `npm test` starts the build in the background (startJaegerBuildInBackground)
// so that it overlaps the rest of the suite; the tracing test waits for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock, goVersion, repoRoot, run, tail, type EnsureBinaryOptions, type EnsureBinaryResult } from './embedded-store-binary.js';
import { findFreePort } from './embedded-store.js';
import { goBuildEnv } from './env.js';

const JAEGER_PACKAGE = 'github.com/jaegertracing/jaeger/cmd/all-in-one';
const BUILD_FLAGS = ['-trimpath', '-ldflags=-s -w'];
/** A cold build on 2 busy cores took 6 minutes; a waiter gives up (and a lock counts as stale) after this. */
const BUILD_TIMEOUT_MS = 20 * 60_000;
const READY_TIMEOUT_MS = 30_000;

function jaegerPaths() {
  const toolDir = join(repoRoot(), 'tools', 'jaeger');
  const binDir = join(toolDir, 'bin');
  return {
    toolDir,
    binDir,
    binary: join(binDir, 'jaeger-all-in-one'),
    hashFile: join(binDir, 'source-hash'),
    lockFile: join(binDir, '.build.lock'),
    /** Written when a build fails (go's output), so a process that waited for it can say why. */
    failedFile: join(binDir, 'build-failed'),
    /** The background build's output. */
    logFile: join(binDir, 'build.log'),
  };
}

async function jaegerSourceHash(toolDir: string, version: string): Promise<string> {
  const h = createHash('sha256');
  h.update(`go-version\0${version}\0${JAEGER_PACKAGE}\0${BUILD_FLAGS.join(' ')}\0`);
  for (const name of ['go.mod', 'go.sum']) h.update(`${name}\0${await readFile(join(toolDir, name), 'utf8')}\0`);
  return h.digest('hex');
}

async function isBuilt(binary: string, hashFile: string, hash: string): Promise<boolean> {
  if (!existsSync(binary)) return false;
  return existsSync(hashFile) && (await readFile(hashFile, 'utf8')).trim() === hash;
}

function jaegerBuildError(reason: string, output: string): Error {
  const details = output.trim() ? `\n--- go output (tail) ---\n${tail(output)}\n---` : '';
  return new Error(`Cannot build Jaeger (tools/jaeger): ${reason}.${details}\nInstall Go >= 1.24 so it can be built.`);
}

/** go's output of a build that failed after `since` (the build this process waited for), if any. */
async function failureSince(failedFile: string, since: number): Promise<string | undefined> {
  if (!existsSync(failedFile)) return undefined;
  if ((await stat(failedFile)).mtimeMs < since) return undefined;
  return readFile(failedFile, 'utf8');
}

/**
 * tools/jaeger/bin/jaeger-all-in-one, built first when missing or when go.mod/go.sum or the
 * toolchain changed. While another process builds it, waits for that build; if that build
 * failed, fails with its output instead of building again.
 */
export async function ensureJaegerBinary(opts: EnsureBinaryOptions = {}): Promise<EnsureBinaryResult> {
  const log = opts.log ?? (() => undefined);
  const p = jaegerPaths();
  const version = await goVersion(p.toolDir);
  if (version === null) {
    if (existsSync(p.binary)) return { path: p.binary, built: false };
    throw jaegerBuildError('the `go` command was not found on PATH', '');
  }
  if (await isBuilt(p.binary, p.hashFile, await jaegerSourceHash(p.toolDir, version))) return { path: p.binary, built: false };

  await mkdir(p.binDir, { recursive: true });
  const waitingSince = Date.now();
  const release = await acquireLock(p.lockFile, log, { what: 'Jaeger (tools/jaeger)', timeoutMs: BUILD_TIMEOUT_MS });
  try {
    const hash = await jaegerSourceHash(p.toolDir, version);
    if (await isBuilt(p.binary, p.hashFile, hash)) return { path: p.binary, built: false };
    const failed = await failureSince(p.failedFile, waitingSince);
    if (failed !== undefined) throw jaegerBuildError(`the build another process ran failed (its log: ${p.logFile})`, failed);
    await rm(p.failedFile, { force: true });
    log('Building Jaeger (tools/jaeger): minutes on a cold Go build cache...');
    const tmp = join(p.binDir, `.jaeger.tmp-${process.pid}`);
    const r = await run('go', ['build', ...BUILD_FLAGS, '-o', tmp, JAEGER_PACKAGE], p.toolDir, goBuildEnv());
    if (r.code !== 0) {
      await rm(tmp, { force: true });
      await writeFile(p.failedFile, tail(r.output));
      throw jaegerBuildError(`\`go build\` exited with code ${r.code}`, r.output);
    }
    await rename(tmp, p.binary);
    await writeFile(p.hashFile, `${hash}\n`);
    return { path: p.binary, built: true };
  } finally {
    await release();
  }
}

/**
 * Starts `node build-jaeger-cli.js` detached, its output in tools/jaeger/bin/build.log, and
 * returns at once: `npm test` calls it so that the build overlaps the suite. It outlives
 * its caller; a process that needs the binary waits on the build lock.
 */
export async function startJaegerBuildInBackground(): Promise<{ pid: number | undefined; logFile: string }> {
  const p = jaegerPaths();
  await mkdir(p.binDir, { recursive: true });
  const out = openSync(p.logFile, 'w');
  try {
    const cli = fileURLToPath(new URL('./build-jaeger-cli.js', import.meta.url));
    const child = spawn(process.execPath, [cli], { cwd: p.toolDir, detached: true, stdio: ['ignore', out, out] });
    child.on('error', (err) => process.stderr.write(`Jaeger's background build did not start: ${err.message}\n`));
    child.unref();
    return { pid: child.pid, logFile: p.logFile };
  } finally {
    closeSync(out);
  }
}

export interface RunningJaeger {
  /** OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
  /** Query service base URL (`/api/traces`, `/api/services`). */
  queryUrl: string;
  /** Its process, for CPU accounting (the bench). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts a built Jaeger on loopback ports (memory store) and waits until its query API answers. */
export async function startJaeger(opts: { log?: (line: string) => void } = {}): Promise<RunningJaeger> {
  const { path } = await ensureJaegerBinary(opts);
  const listeners = [
    'collector.otlp.http',
    'collector.otlp.grpc',
    'collector.http-server',
    'collector.grpc-server',
    'query.http-server',
    'query.grpc-server',
    'admin.http',
  ];
  const ports: Record<string, number> = {};
  for (const name of listeners) ports[name] = await findFreePort();
  const args = [
    ...listeners.map((name) => `--${name}.host-port=127.0.0.1:${ports[name]}`),
    '--memory.max-traces=10000',
    '--log-level=warn',
  ];
  // A clean environment: Jaeger v1 reads its flags from environment variables too. It traces itself
  // to localhost:4317, where nothing listens: not sampling, it has nothing to flush when stopped
  // (sampling, SIGTERM waited 10 s for that export to time out, in every test and bench run).
  const env = { SPAN_STORAGE_TYPE: 'memory', OTEL_TRACES_SAMPLER: 'always_off' };
  const child: ChildProcess = spawn(path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const queryUrl = `http://127.0.0.1:${ports['query.http-server']}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`Jaeger (${path}) did not start: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`Jaeger exited with code ${child.exitCode}:\n${tail(output)}`);
    try {
      const res = await fetch(`${queryUrl}/api/services`);
      if (res.ok) break;
    } catch (err) {
      // Not listening yet: only a refused connection is expected while it starts.
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code !== 'ECONNREFUSED') throw err;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Jaeger did not answer on ${queryUrl} within ${READY_TIMEOUT_MS / 1000}s:\n${tail(output)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { otlpEndpoint: `http://127.0.0.1:${ports['collector.otlp.http']}`, queryUrl, pid: child.pid, stop };
}
