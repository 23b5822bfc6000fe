// Builds (once) and locates the embedded MongoDB-compatible store: the Go
// wrapper around FerretDB in tools/ferretdb. The binary is rebuilt only when
// its sources or the Go toolchain change, and concurrent callers (parallel
// test workers, several services starting at once) share one build.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuildEnv } from './env.js';

const BINARY_NAME = 'usergraph-ferretdb';
const LOCK_TIMEOUT_MS = 10 * 60 * 1000;
const LOCK_POLL_MS = 250;
// A lock file whose owner never wrote its pid (crash between open and write).
const EMPTY_LOCK_STALE_MS = 30 * 1000;
const OUTPUT_TAIL_CHARS = 4000;
const PATCHES_DIR = 'patches';

/** The monorepo root, found from this module's location (src/ or dist/). */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Walk up so that the answer does not depend on src/ vs dist/ depth.
  let dir = here;
  for (;;) {
    if (existsSync(join(dir, 'tools', 'ferretdb', 'go.mod'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // packages/embedded-store/{src,dist}/ -> repo root
  return resolve(here, '..', '..', '..');
}

interface Paths {
  toolDir: string;
  binDir: string;
  binary: string;
  hashFile: string;
  lockFile: string;
}

function paths(): Paths {
  const toolDir = join(repoRoot(), 'tools', 'ferretdb');
  const binDir = join(toolDir, 'bin');
  return {
    toolDir,
    binDir,
    binary: join(binDir, BINARY_NAME),
    hashFile: join(binDir, 'source-hash'),
    lockFile: join(binDir, '.build.lock'),
  };
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr as they came, tail only. */
  output: string;
  stdout: string;
}

/** Runs a command, capturing stdout+stderr; rejects only if it cannot start. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Keep memory bounded: only the tail matters for error messages.
      if (output.length > OUTPUT_TAIL_CHARS * 4) output = output.slice(-OUTPUT_TAIL_CHARS * 2);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      collect(chunk);
    });
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output, stdout }));
  });
}

/** A file already gone is what an unlink wanted; any other failure is reported. */
function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

export function tail(text: string): string {
  const t = text.trim();
  return t.length > OUTPUT_TAIL_CHARS ? `...${t.slice(-OUTPUT_TAIL_CHARS)}` : t;
}

function buildError(reason: string, output: string): Error {
  const details = output.trim() ? `\n--- go output (tail) ---\n${tail(output)}\n---` : '';
  return new Error(
    `Cannot build the embedded MongoDB-compatible store (tools/ferretdb): ${reason}.${details}\n` +
      'Install Go >= 1.22 (https://go.dev/dl/) so it can be built, or set MONGODB_URI ' +
      '(e.g. MONGODB_URI=mongodb://127.0.0.1:27017/) to use an existing MongoDB server instead of the embedded store.',
  );
}

/** `go version` output, or null when go is not installed. */
export async function goVersion(toolDir: string): Promise<string | null> {
  try {
    const r = await run('go', ['version'], toolDir, goBuildEnv());
    if (r.code !== 0) throw buildError('`go version` failed', r.output);
    return r.output.trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** sha256 over the wrapper's sources, its patches to FerretDB and the toolchain version. */
async function sourceHash(toolDir: string, version: string): Promise<string> {
  const names = [
    ...(await readdir(toolDir)).filter((n) => n.endsWith('.go') || n === 'go.mod' || n === 'go.sum'),
    ...(await readdir(join(toolDir, PATCHES_DIR))).map((n) => join(PATCHES_DIR, n)),
  ].sort();
  const h = createHash('sha256');
  h.update(`go-version\0${version}\0`);
  for (const name of names) {
    h.update(`${name}\0`);
    h.update(await readFile(join(toolDir, name)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** tools/ferretdb/patches/patches.json: files added to FerretDB's source and edits to it, each with why. */
interface PatchSpec {
  module: string;
  buildTag: string;
  addFiles: Array<{ from: string; to: string }>;
  edits: Array<{ file: string; count: number; replace: string[]; with: string[] }>;
}

/**
 * Copies the FerretDB module from Go's module cache (fetched from the module
 * proxy if missing) into bin/, applies patches/patches.json, and writes a
 * go.mod that replaces the module with that copy. The build uses it through
 * `-modfile`, so tools/ferretdb/go.mod stays the plain one. Returns the
 * go.mod's path and the build tag.
 */
async function preparePatchedSource(p: Paths): Promise<{ goMod: string; buildTag: string }> {
  const patchesDir = join(p.toolDir, PATCHES_DIR);
  const spec = JSON.parse(await readFile(join(patchesDir, 'patches.json'), 'utf8')) as PatchSpec;
  const download = await run('go', ['mod', 'download', '-json', spec.module], p.toolDir, goBuildEnv());
  if (download.code !== 0) throw buildError(`\`go mod download ${spec.module}\` exited with code ${download.code}`, download.output);
  const { Dir: moduleDir, Version: version } = JSON.parse(download.stdout) as { Dir: string; Version: string };

  const patchedRoot = join(p.binDir, 'patched');
  const copy = join(patchedRoot, `${spec.module.split('/').pop()}@${version}`);
  await rm(patchedRoot, { recursive: true, force: true });
  await cp(moduleDir, copy, { recursive: true });
  // The module cache's files are read-only: make the copy editable and removable.
  await chmod(copy, 0o755);
  for (const entry of await readdir(copy, { recursive: true, withFileTypes: true })) {
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
  for (const added of spec.addFiles) await cp(join(patchesDir, added.from), join(copy, added.to));
  for (const edit of spec.edits) {
    const file = join(copy, edit.file);
    const text = await readFile(file, 'utf8');
    const [replace, replacement] = [edit.replace.join('\n'), edit.with.join('\n')];
    const found = text.split(replace).length - 1;
    if (found !== edit.count) {
      throw buildError(
        `patches.json: ${edit.file} of ${spec.module}@${version} has the text to replace ${found} times, not ${edit.count}`,
        '',
      );
    }
    await writeFile(file, text.split(replace).join(replacement));
  }

  const goMod = join(patchedRoot, 'go.mod');
  await writeFile(goMod, `${await readFile(join(p.toolDir, 'go.mod'), 'utf8')}\nreplace ${spec.module} => ${copy}\n`);
  await writeFile(join(patchedRoot, 'go.sum'), await readFile(join(p.toolDir, 'go.sum')));
  return { goMod, buildTag: spec.buildTag };
}

async function isUpToDate(p: Paths, hash: string): Promise<boolean> {
  if (!existsSync(p.binary)) return false;
  try {
    return (await readFile(p.hashFile, 'utf8')).trim() === hash;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True if the existing lock's owner is gone (so the lock may be broken). */
async function lockIsStale(lockFile: string): Promise<boolean> {
  let content: string;
  let mtimeMs: number;
  try {
    content = await readFile(lockFile, 'utf8');
    mtimeMs = (await stat(lockFile)).mtimeMs;
  } catch {
    return false; // vanished: just retry the acquisition
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return Date.now() - mtimeMs > EMPTY_LOCK_STALE_MS;
  if (pid === process.pid) return false;
  // A build never legitimately lasts longer than the wait timeout.
  return !pidAlive(pid) || Date.now() - mtimeMs > LOCK_TIMEOUT_MS;
}

/** Exclusive cross-process lock via O_EXCL create; returns the release fn. */
export async function acquireLock(lockFile: string, log: (line: string) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      const fh = await open(lockFile, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n${new Date().toISOString()}\n`);
      } finally {
        await fh.close();
      }
      return async () => {
        await unlink(lockFile).catch(ignoreMissing);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(lockFile)) {
      log(`Removing stale build lock ${lockFile}`);
      await unlink(lockFile).catch(ignoreMissing);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${LOCK_TIMEOUT_MS / 1000}s waiting for another process to build the embedded store ` +
          `(lock file ${lockFile}). Remove the lock file if no build is running.`,
      );
    }
    if (!announced) {
      log('Waiting for another process building the embedded store...');
      announced = true;
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

export interface EnsureBinaryOptions {
  log?: (line: string) => void;
}

/** Where the binary is, and whether this call had to build it. */
export interface EnsureBinaryResult {
  path: string;
  built: boolean;
}

/**
 * Same as ensureEmbeddedStoreBinary, also telling whether a build happened
 * (used by the CLI to report it).
 */
export async function ensureEmbeddedStoreBinaryDetailed(opts: EnsureBinaryOptions = {}): Promise<EnsureBinaryResult> {
  const log = opts.log ?? (() => undefined);
  const p = paths();

  const version = await goVersion(p.toolDir);
  if (version === null) {
    // Without go we cannot check freshness; an existing binary is still usable.
    if (existsSync(p.binary)) {
      log('`go` not found: using the existing embedded store binary without checking it is up to date.');
      return { path: p.binary, built: false };
    }
    throw buildError('the `go` command was not found on PATH', '');
  }

  // Fast path without the lock: nothing to do.
  if (await isUpToDate(p, await sourceHash(p.toolDir, version))) return { path: p.binary, built: false };

  await mkdir(p.binDir, { recursive: true });
  const release = await acquireLock(p.lockFile, log);
  try {
    // Another process may have built it while we waited for the lock.
    const hash = await sourceHash(p.toolDir, version);
    if (await isUpToDate(p, hash)) return { path: p.binary, built: false };

    log('Building the embedded store (tools/ferretdb)...');
    const tmp = join(p.binDir, `.${BINARY_NAME}.tmp-${process.pid}`);
    let r: RunResult;
    const { goMod, buildTag } = await preparePatchedSource(p);
    try {
      r = await run('go', ['build', '-trimpath', `-modfile=${goMod}`, `-tags=${buildTag}`, '-o', tmp, '.'], p.toolDir, goBuildEnv());
    } catch (err) {
      throw buildError(`could not run \`go build\` (${(err as Error).message})`, '');
    }
    if (r.code !== 0) {
      await rm(tmp, { force: true });
      throw buildError(`\`go build\` exited with code ${r.code}`, r.output);
    }
    // Rename is atomic: a concurrent reader sees the old or the new binary.
    await rename(tmp, p.binary);
    // -mod=mod may have tidied go.mod/go.sum: record the hash of what was built.
    const builtHash = await sourceHash(p.toolDir, version);
    const hashTmp = `${p.hashFile}.tmp-${process.pid}`;
    await writeFile(hashTmp, `${builtHash}\n`);
    await rename(hashTmp, p.hashFile);
    return { path: p.binary, built: true };
  } finally {
    await release();
  }
}

/**
 * Absolute path of tools/ferretdb/bin/usergraph-ferretdb, building it first
 * if it is missing or out of date.
 */
export async function ensureEmbeddedStoreBinary(opts: EnsureBinaryOptions = {}): Promise<string> {
  return (await ensureEmbeddedStoreBinaryDetailed(opts)).path;
}
