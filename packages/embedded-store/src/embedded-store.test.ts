import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingDatabase, startEmbeddedStore } from './embedded-store.js';

describe.skipIf(!!process.env.MONGODB_URI)('embedded store', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'usergraph-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts, answers ping, stops', async () => {
    const logFile = join(dir, 'a.log');
    const store = await startEmbeddedStore({ dataDir: join(dir, 'a'), logFile, logLevel: 'info' });
    expect(store.uri).toBe(`mongodb://127.0.0.1:${store.port}/`);
    expect(store.pid).toBeGreaterThan(0);
    expect(await pingDatabase(store.uri)).toBe(true);
    await store.stop();
    expect(await store.exited).toBe(0); // graceful exit on SIGTERM
    expect(await pingDatabase(store.uri, 300)).toBe(false);
    expect(await readFile(logFile, 'utf8')).toContain('usergraph-ferretdb listening');
    await store.stop(); // idempotent
  });

  it('keeps written data across a kill and a restart on the same dir and port', async () => {
    const dataDir = join(dir, 'b');
    const first = await startEmbeddedStore({ dataDir });
    const client = new mongoose.mongo.MongoClient(first.uri, { serverSelectionTimeoutMS: 2000 });
    try {
      await client.db('restart').collection<{ _id: string; n: number }>('docs').insertOne({ _id: 'kept', n: 1 });
    } finally {
      await client.close();
    }
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = await startEmbeddedStore({ dataDir, port: first.port });
    try {
      expect(second.uri).toBe(first.uri);
      const c2 = new mongoose.mongo.MongoClient(second.uri, { serverSelectionTimeoutMS: 2000 });
      try {
        const doc = await c2.db('restart').collection<{ _id: string; n: number }>('docs').findOne({ _id: 'kept' });
        expect(doc).toMatchObject({ n: 1 });
      } finally {
        await c2.close();
      }
    } finally {
      await second.stop();
    }
  });

  it('fails fast when the port is taken', async () => {
    const store = await startEmbeddedStore({ dataDir: join(dir, 'c') });
    try {
      const started = Date.now();
      await expect(startEmbeddedStore({ dataDir: join(dir, 'd'), port: store.port })).rejects.toThrow(/in use/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await store.stop();
    }
  });
});
