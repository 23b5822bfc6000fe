import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureEmbeddedStoreBinary } from '@usergraph/embedded-store';
import { stackStateFile } from './stack.js';

/**
 * `usergraph backup` and `usergraph restore` for the embedded store
 * (<dataDir>/ferretdb, one SQLite file per database) and the development
 * secrets (<dataDir>/secrets.json) that encrypt part of it.
 *
 * The copy is made by the store's own binary with SQLite's `VACUUM INTO`
 * (tools/ferretdb/backup.go): consistent per database while the stack runs.
 */
export const MANIFEST = 'manifest.json';
const FORMAT = 'usergraph-embedded-backup/1';
/** Every database a running stack has: a backup without one of them would restore that service empty. */
export const REQUIRED_DATABASES = ['identity.sqlite', 'licensing.sqlite', 'orgusers.sqlite', 'registry.sqlite'];

export interface ManifestFile {
  file: string;
  bytes: number;
  sha256: string;
}
export interface Manifest {
  format: typeof FORMAT;
  createdAt: string;
  /** One entry per database, e.g. identity.sqlite. */
  databases: ManifestFile[];
  /** secrets.json when the data directory had one (the keys the databases' encrypted fields need). */
  secrets?: ManifestFile;
}

/** A backup or restore refused for a reason the operator must fix; `code` names it. */
export class BackupError extends Error {
  constructor(
    readonly code:
      | 'MONGODB_URI_SET'
      | 'OUT_NOT_EMPTY'
      | 'OUT_NOT_DIRECTORY'
      | 'NO_STORE'
      | 'INCOMPLETE_STORE'
      | 'STACK_RUNNING'
      | 'BAD_MANIFEST'
      | 'CHECKSUM_MISMATCH',
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const describe = (dir: string, file: string): ManifestFile => ({
  file,
  bytes: statSync(join(dir, file)).size,
  sha256: sha256(join(dir, file)),
});

export async function backup(dataDir: string, outDir: string, opts: { mongodbUri?: string } = {}): Promise<Manifest> {
  if (opts.mongodbUri) throw new BackupError('MONGODB_URI_SET', 'MONGODB_URI is set: back up MongoDB with mongodump (see the README).');
  const storeDir = join(dataDir, 'ferretdb');
  if (!existsSync(storeDir)) throw new BackupError('NO_STORE', `no embedded store in ${dataDir}`);
  const out = resolve(outDir);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new BackupError('OUT_NOT_DIRECTORY', `${out} is not a directory`);
  if (existsSync(out) && readdirSync(out).length > 0) throw new BackupError('OUT_NOT_EMPTY', `${out} is not empty`);
  // Owner only, even for a directory that already existed: the copies hold password hashes and keys.
  mkdirSync(out, { recursive: true, mode: 0o700 });
  chmodSync(out, 0o700);
  const binary = await ensureEmbeddedStoreBinary();
  await promisify(execFile)(binary, ['backup', '-data-dir', storeDir, '-out', out]);
  const files = readdirSync(out)
    .filter((f) => f.endsWith('.sqlite'))
    .sort();
  const missing = REQUIRED_DATABASES.filter((f) => !files.includes(f));
  if (missing.length > 0)
    throw new BackupError('INCOMPLETE_STORE', `the store in ${storeDir} has no ${missing.join(', ')}: start the stack once first`);
  for (const f of files) chmodSync(join(out, f), 0o600);
  const databases = files.map((f) => describe(out, f));
  let secrets: ManifestFile | undefined;
  if (existsSync(join(dataDir, 'secrets.json'))) {
    copyFileSync(join(dataDir, 'secrets.json'), join(out, 'secrets.json'));
    chmodSync(join(out, 'secrets.json'), 0o600);
    secrets = describe(out, 'secrets.json');
  }
  const manifest: Manifest = { format: FORMAT, createdAt: new Date().toISOString(), databases, ...(secrets ? { secrets } : {}) };
  // Written last: a backup without a manifest is an unfinished one, and restore refuses it.
  writeFileSync(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/** Reads the manifest and checks every file it lists against its size and checksum. */
export function verifyBackup(fromDir: string): Manifest {
  const file = join(fromDir, MANIFEST);
  if (!existsSync(file)) throw new BackupError('BAD_MANIFEST', `${file} is missing: not a finished backup`);
  let parsed: { format?: unknown; databases?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown; databases?: unknown };
  } catch {
    throw new BackupError('BAD_MANIFEST', `${file} is not JSON`);
  }
  if (parsed.format !== FORMAT || !Array.isArray(parsed.databases) || parsed.databases.length === 0)
    throw new BackupError('BAD_MANIFEST', `${file} is not a usergraph embedded-store backup manifest`);
  const manifest = parsed as Manifest;
  const listed = manifest.databases.map((d) => (d as Partial<ManifestFile>).file);
  const missing = REQUIRED_DATABASES.filter((f) => !listed.includes(f));
  if (missing.length > 0)
    throw new BackupError('BAD_MANIFEST', `${file} lists no ${missing.join(', ')}: restoring it would leave those services empty`);
  for (const entry of [...manifest.databases, ...(manifest.secrets ? [manifest.secrets] : [])]) {
    // Names only: a manifest must not point outside its directory.
    if (typeof entry.file !== 'string' || !/^[\w.-]+$/.test(entry.file) || entry.file.startsWith('.'))
      throw new BackupError('BAD_MANIFEST', `bad file name in ${file}`);
    const path = join(fromDir, entry.file);
    if (!existsSync(path) || statSync(path).size !== entry.bytes || sha256(path) !== entry.sha256)
      throw new BackupError('CHECKSUM_MISMATCH', `${entry.file} is missing or differs from the manifest`);
  }
  return manifest;
}

/** Whether a stack (npm start, a test stack) or a store still runs on this data directory. */
export async function stackRunning(dataDir: string): Promise<boolean> {
  const state = stackStateFile(dataDir);
  if (existsSync(state)) {
    const { pid } = JSON.parse(readFileSync(state, 'utf8')) as { pid?: number };
    if (typeof pid === 'number' && pid !== process.pid && processAlive(pid)) return true;
  }
  // The store itself listens on this socket while it runs, whoever started it.
  const socket = join(dataDir, 'ferretdb', 'ferretdb.sock');
  if (!existsSync(socket)) return false;
  return new Promise((done) => {
    const conn = createConnection(socket);
    conn.once('connect', () => {
      conn.destroy();
      done(true);
    });
    conn.once('error', () => done(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Puts the backed-up state back: the manifest is checked first, the current
 * store directory (and secrets) are moved aside, never deleted, and the copies
 * take their place. Refuses while anything runs on the data directory.
 */
export async function restore(
  dataDir: string,
  fromDir: string,
  opts: { mongodbUri?: string } = {},
): Promise<{ manifest: Manifest; previous?: string }> {
  if (opts.mongodbUri) throw new BackupError('MONGODB_URI_SET', 'MONGODB_URI is set: restore MongoDB with mongorestore (see the README).');
  const from = resolve(fromDir);
  const manifest = verifyBackup(from);
  if (await stackRunning(dataDir))
    throw new BackupError('STACK_RUNNING', `a stack is running on ${dataDir}: stop it (Ctrl-C) before restoring`);
  const storeDir = join(dataDir, 'ferretdb');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // Everything is copied next to its place first; only renames follow, so a failed copy changes nothing.
  const staging = join(dataDir, `ferretdb.restoring-${stamp}`);
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  for (const entry of manifest.databases) copyFileSync(join(from, entry.file), join(staging, entry.file));
  const stagedSecrets = join(dataDir, `secrets.restoring-${stamp}.json`);
  if (manifest.secrets) {
    copyFileSync(join(from, manifest.secrets.file), stagedSecrets);
    chmodSync(stagedSecrets, 0o600);
  }
  let previous: string | undefined;
  if (existsSync(storeDir)) {
    previous = join(dataDir, `ferretdb.before-restore-${stamp}`);
    renameSync(storeDir, previous);
  }
  renameSync(staging, storeDir);
  if (manifest.secrets) {
    const secrets = join(dataDir, 'secrets.json');
    if (existsSync(secrets)) renameSync(secrets, join(dataDir, `secrets.before-restore-${stamp}.json`));
    renameSync(stagedSecrets, secrets);
  }
  return { manifest, ...(previous ? { previous } : {}) };
}
