/**
 * Issue 15, "Backups": `usergraph backup` copies the embedded store while the
 * stack serves and writes go on; `usergraph restore` refuses a running stack
 * and a backup that differs from its manifest, and puts back exactly the
 * backed-up state: what was written before the backup is there, what was
 * written after it is not.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack, type StackOptions } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { bootstrapOrganization, gql, login, LOGIN, openDatabase, removeDir, runCli, startTestStack, uniqueEmail } from './support/stack.js';

const EMBEDDED = !process.env.MONGODB_URI;
const PASSWORD = realisticRegisterVariables('x@example.ca').password;

interface Registered {
  email: string;
  userId: string;
  sessionId: string;
}

describe.skipIf(!EMBEDDED)('usergraph backup and restore (embedded store)', () => {
  let stack: RunningStack;
  let dataDir: string;
  let options: StackOptions;
  let backupDir: string;
  let dbs: { identity: Connection; orgusers: Connection } | undefined;
  const before: Registered[] = [];
  const after: Registered[] = [];

  const cli = (args: string[]) => runCli(args, { ...process.env, USERGRAPH_DATA_DIR: dataDir });
  const register = async (): Promise<Registered> => {
    const email = uniqueEmail('backup');
    const res = await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null });
    expect(res.errors).toBeUndefined();
    return { email, userId: res.data!.register.user.id, sessionId: res.data!.register.session._id };
  };
  const loginCode = async (email: string) => {
    const res = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: PASSWORD });
    return res.errors ? res.errors[0]!.extensions?.code : 'OK';
  };
  const openDbs = async () => ({
    identity: await openDatabase(stack, '', 'identity'),
    orgusers: await openDatabase(stack, '', 'orgusers'),
  });
  const closeDbs = async () => {
    await dbs?.identity.close();
    await dbs?.orgusers.close();
    dbs = undefined;
  };
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  beforeAll(async () => {
    ({ stack, dataDir, options } = await startTestStack());
    backupDir = mkdtempSync(join(tmpdir(), 'usergraph-backup-'));
    rmSync(backupDir, { recursive: true });
    await bootstrapOrganization(dataDir, 'acme');
  });

  afterAll(async () => {
    await closeDbs();
    await stack?.stop();
    if (dataDir) removeDir(dataDir);
    if (backupDir) rmSync(backupDir, { recursive: true, force: true });
  });

  it('backs up while registrations go on, and restore brings back exactly that state', async () => {
    for (let i = 0; i < 3; i++) before.push(await register());

    // Registrations keep running during the backup (bounded: at most 50, and they stop when it ends).
    let backingUp = true;
    let during = 0;
    const writer = (async () => {
      while (backingUp && during < 50) {
        await register();
        during++;
      }
    })();
    // An existing, empty, world-readable directory: the backup makes it and every copy owner-only.
    mkdirSync(backupDir);
    chmodSync(backupDir, 0o755);
    const backup = await cli(['backup', '--out', backupDir, '--json']);
    backingUp = false;
    await writer;
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(during).toBeGreaterThan(0);
    const manifest = JSON.parse(backup.stdout) as {
      createdAt: string;
      databases: Array<{ file: string; sha256: string }>;
      secrets?: unknown;
    };
    expect(manifest.databases.map((d) => d.file)).toEqual(
      expect.arrayContaining(['identity.sqlite', 'orgusers.sqlite', 'licensing.sqlite', 'registry.sqlite']),
    );
    expect(manifest.secrets).toBeDefined();
    expect(statSync(backupDir).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(backupDir)) expect(statSync(join(backupDir, file)).mode & 0o077, file).toBe(0);
    // A second backup into the same directory is refused rather than mixed in.
    expect((await cli(['backup', '--out', backupDir])).stderr).toContain('OUT_NOT_EMPTY');

    // After the backup: new users, and a new session for a user from before.
    for (let i = 0; i < 3; i++) after.push(await register());
    const lateSession = await login(stack.gatewayUrl, 'public', before[0]!.email, PASSWORD);

    // Restore refuses to run over the running stack, and changes nothing.
    const refused = await cli(['restore', '--from', backupDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('STACK_RUNNING');
    expect(await loginCode(after[0]!.email)).toBe('OK');

    await stack.stop();
    // What `npm start` does on Ctrl-C: the state file goes with the stack.
    rmSync(join(dataDir, 'stack.json'), { force: true });

    // A backup that differs from its manifest is refused before anything is touched.
    const tampered = mkdtempSync(join(tmpdir(), 'usergraph-backup-tampered-'));
    try {
      cpSync(backupDir, tampered, { recursive: true });
      appendFileSync(join(tampered, 'identity.sqlite'), 'x');
      const bad = await cli(['restore', '--from', tampered]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('CHECKSUM_MISMATCH');
    } finally {
      rmSync(tampered, { recursive: true, force: true });
    }

    const restored = await cli(['restore', '--from', backupDir]);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    // The store directory now holds exactly the backed-up files, byte for byte.
    const storeDir = join(dataDir, 'ferretdb');
    expect(readdirSync(storeDir).sort()).toEqual(manifest.databases.map((d) => d.file).sort());
    for (const d of manifest.databases) expect(sha256(join(storeDir, d.file))).toBe(d.sha256);

    // The same stack again, on the restored data directory.
    stack = await startStack(options);
    dbs = await openDbs();
    const users = dbs.orgusers.collection<{ _id: string }>('users');
    const sessions = dbs.identity.collection<{ _id: string }>('sessions');
    for (const r of before) {
      expect(await users.countDocuments({ _id: r.userId })).toBe(1);
      expect(await sessions.countDocuments({ _id: r.sessionId })).toBe(1);
      expect(await loginCode(r.email)).toBe('OK');
    }
    for (const r of after) {
      expect(await users.countDocuments({ _id: r.userId })).toBe(0);
      expect(await sessions.countDocuments({ _id: r.sessionId })).toBe(0);
      expect(await loginCode(r.email)).not.toBe('OK');
    }
    expect(await sessions.countDocuments({ _id: lateSession._id })).toBe(0);
  });
});
