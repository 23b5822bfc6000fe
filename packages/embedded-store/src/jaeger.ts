// Builds (once, cached) and runs Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger,
// pinned in tools/jaeger/go.mod) for the tracing tests: a real OTLP receiver with
// a real query API. Built from the Go module proxy like the embedded store;
// nothing downloads when a test runs once the binary is cached.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, goVersion, repoRoot, run, tail, type EnsureBinaryOptions, type EnsureBinaryResult } from './embedded-store-binary.js';
import { findFreePort } from './embedded-store.js';
import { goBuildEnv } from './env.js';

const JAEGER_PACKAGE = 'github.com/jaegertracing/jaeger/cmd/jaeger';
const READY_TIMEOUT_MS = 30_000;

function jaegerPaths(): { toolDir: string; binDir: string; binary: string; hashFile: string; lockFile: string } {
  const toolDir = join(repoRoot(), 'tools', 'jaeger');
  const binDir = join(toolDir, 'bin');
  return { toolDir, binDir, binary: join(binDir, 'jaeger'), hashFile: join(binDir, 'source-hash'), lockFile: join(binDir, '.build.lock') };
}

async function jaegerSourceHash(toolDir: string, version: string): Promise<string> {
  const h = createHash('sha256');
  h.update(`go-version\0${version}\0`);
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

/** tools/jaeger/bin/jaeger, built first when missing or when go.mod/go.sum or the toolchain changed. */
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
  const release = await acquireLock(p.lockFile, log);
  try {
    const hash = await jaegerSourceHash(p.toolDir, version);
    if (await isBuilt(p.binary, p.hashFile, hash)) return { path: p.binary, built: false };
    log('Building Jaeger (tools/jaeger), a few minutes the first time...');
    const tmp = join(p.binDir, `.jaeger.tmp-${process.pid}`);
    const r = await run('go', ['build', '-trimpath', '-o', tmp, JAEGER_PACKAGE], p.toolDir, goBuildEnv());
    if (r.code !== 0) {
      await rm(tmp, { force: true });
      throw jaegerBuildError(`\`go build\` exited with code ${r.code}`, r.output);
    }
    await rename(tmp, p.binary);
    await writeFile(p.hashFile, `${hash}\n`);
    return { path: p.binary, built: true };
  } finally {
    await release();
  }
}

export interface RunningJaeger {
  /** OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
  /** Query service base URL (`/api/traces`, `/api/services`). */
  queryUrl: string;
  stop(): Promise<void>;
}

/** Jaeger v2's all-in-one settings, with every listener on loopback and an ephemeral port. */
function jaegerConfig(ports: { otlpHttp: number; otlpGrpc: number; query: number; queryGrpc: number; health: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${ports.health}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.query}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${ports.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Starts a built Jaeger on loopback ports and waits until its query API answers. */
export async function startJaeger(opts: { dataDir: string; log?: (line: string) => void }): Promise<RunningJaeger> {
  const { path } = await ensureJaegerBinary(opts);
  const ports = {
    otlpHttp: await findFreePort(),
    otlpGrpc: await findFreePort(),
    query: await findFreePort(),
    queryGrpc: await findFreePort(),
    health: await findFreePort(),
  };
  await mkdir(opts.dataDir, { recursive: true });
  const configFile = join(opts.dataDir, 'jaeger.yaml');
  await writeFile(configFile, jaegerConfig(ports));
  const child: ChildProcess = spawn(path, ['--config', `file:${configFile}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const queryUrl = `http://127.0.0.1:${ports.query}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Jaeger exited with code ${child.exitCode}:\n${tail(output)}`);
    try {
      const res = await fetch(`${queryUrl}/api/services`);
      if (res.ok) break;
    } catch (err) {
      // Not listening yet: only a refused connection is expected while it starts.
      if (!String((err as Error).cause ?? err).includes('ECONNREFUSED')) throw err;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Jaeger did not answer on ${queryUrl} within ${READY_TIMEOUT_MS / 1000}s:\n${tail(output)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { otlpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`, queryUrl, stop };
}
