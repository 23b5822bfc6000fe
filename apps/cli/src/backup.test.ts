import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup, restore, verifyBackup } from './backup.js';

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

  it('accepts files that match their size and checksum', () => {
    writeFileSync(join(dir, 'identity.sqlite'), 'data');
    writeManifest([{ file: 'identity.sqlite', bytes: 4, sha256: sha256('data') }]);
    expect(verifyBackup(dir).databases).toHaveLength(1);
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
    writeManifest([{ file: '../identity.sqlite', bytes: 4, sha256: sha256('data') }]);
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
  });

  it('refuses a file that is missing or changed', () => {
    writeManifest([{ file: 'identity.sqlite', bytes: 4, sha256: sha256('data') }]);
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
    writeFileSync(join(dir, 'identity.sqlite'), 'dat4');
    expect(() => verifyBackup(dir)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
  });

  it('sends MongoDB to mongodump and mongorestore', async () => {
    await expect(backup(dir, join(dir, 'out'), { mongodbUri: 'mongodb://127.0.0.1' })).rejects.toMatchObject({ code: 'MONGODB_URI_SET' });
    await expect(restore(dir, dir, { mongodbUri: 'mongodb://127.0.0.1' })).rejects.toMatchObject({ code: 'MONGODB_URI_SET' });
  });
});
