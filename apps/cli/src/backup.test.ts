import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup, REQUIRED_DATABASES, restore, verifyBackup } from './backup.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('backup manifests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'usergraph-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeManifest = (databases: unknown[]) =>
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ format: 'usergraph-embedded-backup/1', createdAt: new Date().toISOString(), databases }),
    );

  /** A copy of every database a stack has, each holding `data`, and their manifest entries. */
  const writeDatabases = () =>
    REQUIRED_DATABASES.map((file) => {
      writeFileSync(join(dir, file), 'data');
      return { file, bytes: 4, sha256: sha256('data') };
    });

  it('accepts files that match their size and checksum', () => {
    writeManifest(writeDatabases());
    expect(verifyBackup(dir).databases).toHaveLength(REQUIRED_DATABASES.length);
  });

  it('refuses a manifest that leaves out a database (restoring it would start that service empty)', () => {
    writeManifest(writeDatabases().filter((d) => d.file !== 'orgusers.sqlite'));
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
  });

  it('refuses an unfinished backup (no manifest), a foreign manifest and an empty one', () => {
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'other', databases: [] }));
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
    writeManifest([]);
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
  });

  it('refuses a manifest naming a file outside the backup directory', () => {
    // Restore copies each listed file into the store directory by this name.
    writeManifest([...writeDatabases(), { file: '../identity.sqlite', bytes: 4, sha256: sha256('data') }]);
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
  });

  it('refuses a file that is missing or changed', () => {
    writeManifest([...writeDatabases(), { file: 'extra.sqlite', bytes: 4, sha256: sha256('data') }]);
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
    writeManifest(writeDatabases());
    writeFileSync(join(dir, 'identity.sqlite'), 'dat4');
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
  });

  it('refuses to write a backup over a file', async () => {
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    mkdirSync(join(dir, 'ferretdb'));
    await expect(backup(dir, join(dir, 'not-a-dir'))).rejects.toMatchObject({ code: 'OUT_NOT_DIRECTORY' });
  });

  it('sends MongoDB to mongodump and mongorestore', async () => {
    await expect(backup(dir, join(dir, 'out'), { mongodbUri: 'mongodb://127.0.0.1' })).rejects.toMatchObject({ code: 'MONGODB_URI_SET' });
    await expect(restore(dir, dir, { mongodbUri: 'mongodb://127.0.0.1' })).rejects.toMatchObject({ code: 'MONGODB_URI_SET' });
  });
});
