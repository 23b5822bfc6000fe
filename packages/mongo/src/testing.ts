// Test helpers, exported as "@usergraph/mongo/testing" (kept out of the main
// entry so services do not ship them in their runtime import graph).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedStore, type EmbeddedStore } from '@usergraph/embedded-store';

export type { EmbeddedStore } from '@usergraph/embedded-store';
export { isKeyedFilter, recordFilters } from './filter-recorder.js';
export type { FilterRecorder, RecordedOperation } from './filter-recorder.js';

/**
 * A store for one test file: the server at MONGODB_URI when set (stop() is a
 * no-op), else a fresh embedded store in a temp dir removed on stop().
 */
export async function startTestStore(): Promise<EmbeddedStore> {
  const external = process.env.MONGODB_URI;
  if (external) {
    const url = new URL(external);
    return {
      uri: external,
      port: Number(url.port || 27017),
      pid: 0,
      dataDir: '',
      stop: async () => undefined,
      kill: () => {
        throw new Error('Cannot kill the server at MONGODB_URI: it is not owned by the test.');
      },
      // An external server never exits from our point of view.
      exited: new Promise<number | null>(() => undefined),
    };
  }

  const dir = await mkdtemp(join(tmpdir(), 'usergraph-test-'));
  let store: EmbeddedStore;
  try {
    store = await startEmbeddedStore({ dataDir: join(dir, 'data'), logFile: join(dir, 'store.log') });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...store,
    stop: async () => {
      await store.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A database name unique to this run: FerretDB allows only [A-Za-z0-9_-],
 * at most 63 characters.
 */
export function uniqueDatabaseName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) || 'db';
  const suffix = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  return `${clean}_${suffix}`;
}
