// Test helpers, exported as "@usergraph/mongo/testing" (kept out of the main
// entry so services do not ship them in their runtime import graph).
import { spawn, type ChildProcess } from 'node:child_process';
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

/**
 * Another instance, in its own process (the built package): takes the lease
 * `name` (renewed while it lives), runs `then` (a JS body with `conn` in
 * scope: e.g. half a build) and stays alive until killed. Resolves once it
 * holds the lease; the caller kills it (SIGKILL) to play a holder that died.
 */
export async function spawnLeaseHolder(opts: {
  uri: string;
  dbName: string;
  name: string;
  ttlMs: number;
  then?: string;
}): Promise<ChildProcess> {
  const built = new URL('../dist/index.js', import.meta.url).href;
  const script = `
    const { connectDatabase, acquireLease } = await import(${JSON.stringify(built)});
    const conn = await connectDatabase({ uri: ${JSON.stringify(opts.uri)}, dbName: ${JSON.stringify(opts.dbName)}, appName: 'lease-holder' });
    const logger = { error: (fields, message) => console.error(message) };
    while (!(await acquireLease(conn, ${JSON.stringify(opts.name)}, { ttlMs: ${opts.ttlMs}, logger }))) await new Promise((r) => setTimeout(r, 50));
    ${opts.then ?? ''}
    console.log('held');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!out.includes('held')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw new Error(`the lease holder process did not take the lease (exit ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}
