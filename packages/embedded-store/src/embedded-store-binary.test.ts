import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureEmbeddedStoreBinary, ensureEmbeddedStoreBinaryDetailed, repoRoot } from './embedded-store-binary.js';

describe.skipIf(!!process.env.MONGODB_URI)('ensureEmbeddedStoreBinary', () => {
  it('finds the repo root', () => {
    expect(existsSync(join(repoRoot(), 'tools', 'ferretdb', 'main.go'))).toBe(true);
  });

  it('builds once, then reuses the binary', async () => {
    const path = await ensureEmbeddedStoreBinary();
    expect(path).toBe(join(repoRoot(), 'tools', 'ferretdb', 'bin', 'usergraph-ferretdb'));
    const before = await stat(path);
    const hash = await readFile(join(repoRoot(), 'tools', 'ferretdb', 'bin', 'source-hash'), 'utf8');
    expect(hash.trim()).toMatch(/^[0-9a-f]{64}$/);

    // Concurrent callers all see it up to date: nothing is rebuilt.
    const again = await Promise.all([1, 2, 3].map(() => ensureEmbeddedStoreBinaryDetailed()));
    for (const r of again) expect(r).toEqual({ path, built: false });
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect(existsSync(join(repoRoot(), 'tools', 'ferretdb', 'bin', '.build.lock'))).toBe(false);
  });
});
