import { Writable } from 'node:stream';
import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@usergraph/service-kit';
import { runOnce } from './command-log.js';
import { connectDatabase } from './connection.js';
import type { EmbeddedStore } from './testing.js';
import { startTestStore, uniqueDatabaseName } from './testing.js';

const logger = createLogger({ service: 'mongo-test', level: 'silent' });

describe('runOnce', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('cmdlog'), appName: 'mongo-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('runs fn once for 20 concurrent calls with one key', async () => {
    let runs = 0;
    const fn = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 200));
      return { id: 'order-1', at: new Date(0) };
    };
    const out = await Promise.all(
      Array.from({ length: 20 }, () => runOnce(conn, { collection: 'command_log', key: 'k-concurrent', logger }, fn)),
    );
    expect(runs).toBe(1);
    expect(out.filter((o) => !o.replayed)).toHaveLength(1);
    // Results are plain JSON data, identical for the runner and the replays.
    for (const o of out) expect(o.result).toEqual({ id: 'order-1', at: '1970-01-01T00:00:00.000Z' });
  });

  it('frees the key when fn throws', async () => {
    const opts = { collection: 'command_log', key: 'k-fail', logger };
    await expect(runOnce(conn, opts, async () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    const second = await runOnce(conn, opts, async () => 42);
    expect(second).toEqual({ result: 42, replayed: false });
    expect(await runOnce(conn, opts, async () => 43)).toEqual({ result: 42, replayed: true });
  });

  it('runs again after the ttl', async () => {
    const opts = { collection: 'command_log', key: 'k-ttl', ttlMs: 100, logger };
    expect(await runOnce(conn, opts, async () => 'a')).toEqual({ result: 'a', replayed: false });
    await new Promise((r) => setTimeout(r, 150));
    expect(await runOnce(conn, opts, async () => 'b')).toEqual({ result: 'b', replayed: false });
  });

  it('reports IDEMPOTENCY_IN_PROGRESS when the first call outlasts the wait', async () => {
    // A 1 s wait (10 s by default): the second caller gives up after it, not at once.
    const opts = { collection: 'command_log', key: 'k-slow', logger, waitMs: 1000 };
    let release!: () => void;
    const slow = runOnce(conn, opts, () => new Promise<string>((r) => (release = () => r('slow'))));
    await new Promise((r) => setTimeout(r, 100));
    const asked = Date.now();
    const err = await runOnce(conn, opts, async () => 'fast').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS' });
    expect(Date.now() - asked).toBeGreaterThanOrEqual(1000);
    release();
    expect(await slow).toEqual({ result: 'slow', replayed: false });
  }, 20_000);

  it('finding 8f: an undo that fails (freeing the key after fn failed) is logged with the key it leaves blocked, never swallowed', async () => {
    const lines: string[] = [];
    const captured = createLogger({
      service: 'mongo-test',
      level: 'info',
      destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }),
    });
    // Its own connection: fn closes it, so the undo (deleteOne) cannot reach the store.
    const doomed = await connectDatabase({ uri: store.uri, dbName: conn.name, appName: 'mongo-test' });
    const err = await runOnce(doomed, { collection: 'command_log', key: 'k-undo', logger: captured }, async () => {
      await doomed.close(true);
      throw new Error('the step failed');
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('the step failed');
    const entry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.undo === 'free idempotency key');
    expect(entry).toMatchObject({
      level: 'error',
      msg: 'undo step failed; what it left behind waits for its repair',
      key: 'k-undo',
      collection: 'command_log',
      repair: 'the marker expires',
    });
    expect(entry!.blockedUntil).toBeTruthy();
  });
});
