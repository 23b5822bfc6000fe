import { Writable } from 'node:stream';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@usergraph/service-kit';
import { runOnce } from './command-log.js';
import { connectDatabase } from './connection.js';
import type { EmbeddedStore } from './testing.js';
import { IDEMPOTENCY_KEYS_EXPIRY, startExpiry, supportsTtlIndexes, type ExpiringCollection } from './expiry.js';
import { startTestStore, uniqueDatabaseName } from './testing.js';

const silent = createLogger({ service: 'mongo-test', level: 'silent' });
const HOUR = 3_600_000;
const EMBEDDED = !process.env.MONGODB_URI;
/** Long enough that the timer never fires on its own in the sweepOnce tests. */
const NEVER = 24 * HOUR;

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'mongo-test',
    level: 'debug',
    destination: new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) }),
  });
  return { logger, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('expiry (TTL indexes on MongoDB, the sweeper on the embedded store)', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('expiry'), appName: 'mongo-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  const col = (name: string) => conn.db!.collection<{ _id: string; at?: Date }>(name);
  const ids = async (name: string) =>
    (
      await col(name)
        .find({}, { projection: { _id: 1 } })
        .toArray()
    )
      .map((d) => d._id)
      .sort();

  it('detects the store once: the embedded store has no TTL indexes and gets the sweeper; MongoDB gets TTL indexes', async () => {
    expect(await supportsTtlIndexes(conn)).toBe(!EMBEDDED);
    const spec: ExpiringCollection = { collection: 'detect', field: 'at', afterSeconds: 0 };
    const expiry = await startExpiry(conn, [spec], { intervalMs: NEVER, logger: silent });
    try {
      expect(expiry.mode).toBe(EMBEDDED ? 'sweeper' : 'ttl-index');
      if (EMBEDDED) {
        // Why the sweeper: the embedded store refuses the index outright.
        await expect(col('ttl_probe').createIndex({ at: 1 }, { expireAfterSeconds: 0 })).rejects.toThrow(/expireAfterSeconds/);
      } else {
        const index = (await col('detect').indexes()).find((i) => i.key.at === 1);
        expect(index?.expireAfterSeconds).toBe(0);
      }
    } finally {
      await expiry.stop();
    }
  });

  describe.skipIf(!EMBEDDED)('the sweeper', () => {
    it('deletes expired idempotency records and keeps live ones; an expired key runs its command again', async () => {
      const opts = (key: string, ttlMs?: number) => ({
        collection: IDEMPOTENCY_KEYS_EXPIRY.collection,
        key,
        logger: silent,
        ...(ttlMs ? { ttlMs } : {}),
      });
      await runOnce(conn, opts('expired', 1), async () => 'first');
      await runOnce(conn, opts('live'), async () => 'first');
      await sleep(5);
      const expiry = await startExpiry(conn, [IDEMPOTENCY_KEYS_EXPIRY], { intervalMs: NEVER, logger: silent });
      try {
        expect(await expiry.sweepOnce()).toEqual({ idempotency_keys: 1 });
        expect(await ids('idempotency_keys')).toEqual(['live']);
        expect(await runOnce(conn, opts('expired'), async () => 'second')).toEqual({ result: 'second', replayed: false });
        expect(await runOnce(conn, opts('live'), async () => 'second')).toEqual({ result: 'first', replayed: true });
      } finally {
        await expiry.stop();
      }
    });

    it('a retention on a creation time deletes what is older than it, and nothing younger', async () => {
      const now = Date.now();
      await col('retained').insertMany([
        { _id: 'old', at: new Date(now - 2 * HOUR) },
        { _id: 'young', at: new Date(now - HOUR / 6) },
        { _id: 'no-date' },
      ]);
      const expiry = await startExpiry(conn, [{ collection: 'retained', field: 'at', afterSeconds: 3600 }], {
        intervalMs: NEVER,
        logger: silent,
      });
      try {
        expect(await expiry.sweepOnce()).toEqual({ retained: 1 });
        expect(await ids('retained')).toEqual(['no-date', 'young']);
        // Two hours on, the young one has aged out too.
        const later = await startExpiry(conn, [{ collection: 'retained', field: 'at', afterSeconds: 3600 }], {
          intervalMs: NEVER,
          logger: silent,
          now: () => new Date(now + 2 * HOUR),
        });
        expect(await later.sweepOnce()).toEqual({ retained: 1 });
        await later.stop();
        expect(await ids('retained')).toEqual(['no-date']);
      } finally {
        await expiry.stop();
      }
    });

    it('works in bounded batches: each find is limited and each delete names its _ids, so a backlog takes several passes', async () => {
      const past = new Date(Date.now() - HOUR);
      const future = new Date(Date.now() + HOUR);
      await col('backlog').insertMany([
        ...Array.from({ length: 1200 }, (_, i) => ({ _id: `e${i}`, at: past })),
        ...Array.from({ length: 10 }, (_, i) => ({ _id: `l${i}`, at: future })),
      ]);
      // Its own connection with command monitoring: what the sweeper really sends.
      const watched = await mongoose.createConnection(store.uri, { dbName: conn.name, monitorCommands: true }).asPromise();
      const sent: Array<{ name: string; command: Record<string, unknown> }> = [];
      watched.getClient().on('commandStarted', (e) => {
        if (e.commandName === 'find' || e.commandName === 'delete') sent.push({ name: e.commandName, command: e.command });
      });
      const expiry = await startExpiry(watched, [{ collection: 'backlog', field: 'at', afterSeconds: 0 }], {
        intervalMs: NEVER,
        logger: silent,
        batchSize: 500,
        maxBatchesPerPass: 2,
      });
      try {
        expect(await expiry.sweepOnce()).toEqual({ backlog: 1000 });
        expect(await expiry.sweepOnce()).toEqual({ backlog: 200 });
        expect(await expiry.sweepOnce()).toEqual({ backlog: 0 });
        expect((await ids('backlog')).length).toBe(10);
        const finds = sent.filter((s) => s.name === 'find');
        const deletes = sent.filter((s) => s.name === 'delete');
        expect(finds.length).toBe(4); // 500, 500 | 200 (a short batch ends the pass) | 0
        for (const f of finds) expect(f.command.limit).toBe(500);
        expect(deletes.length).toBe(3);
        for (const d of deletes) {
          const [statement] = d.command.deletes as Array<{ q: { _id: { $in: string[] } } }>;
          expect(statement!.q._id.$in.length).toBeLessThanOrEqual(500);
        }
      } finally {
        await expiry.stop();
        await watched.close();
      }
    });

    it('runs by itself, logs its counts at debug, survives a store outage (warn, no throw) and stops on stop()', async () => {
      await col('timed').insertOne({ _id: 'gone', at: new Date(Date.now() - HOUR) });
      const { logger, lines } = capturingLogger();
      const own = await connectDatabase({ uri: store.uri, dbName: conn.name, appName: 'mongo-test' });
      const expiry = await startExpiry(own, [{ collection: 'timed', field: 'at', afterSeconds: 0 }], { intervalMs: 30, logger });
      const deadline = Date.now() + 5000;
      while ((await ids('timed')).length > 0 && Date.now() < deadline) await sleep(20);
      expect(await ids('timed')).toEqual([]);
      const counted = () =>
        lines.some((l) => l.msg === 'expiry sweep' && l.level === 'debug' && (l.deleted as Record<string, number>).timed === 1);
      while (!counted() && Date.now() < deadline) await sleep(20);
      expect(counted()).toBe(true);

      // The store goes away under it: each pass fails, is logged, and the next one is still scheduled.
      await own.close();
      const failuresBefore = lines.filter((l) => l.msg === 'expiry sweep failed; retried at the next pass').length;
      await sleep(300);
      const failures = lines.filter((l) => l.msg === 'expiry sweep failed; retried at the next pass');
      expect(failures.length).toBeGreaterThan(failuresBefore + 1);
      expect(failures[0]!.level).toBe('warn');

      await expiry.stop();
      const afterStop = lines.length;
      await sleep(150);
      expect(lines.length).toBe(afterStop);
    });
    it('a collection where a pass finds nothing is read less often (backing off to one pass in 17), and swept again once something expires', async () => {
      await col('idle').insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `live${i}`, at: new Date(Date.now() + HOUR) })));
      const watched = await mongoose.createConnection(store.uri, { dbName: conn.name, monitorCommands: true }).asPromise();
      let finds = 0;
      watched.getClient().on('commandStarted', (e) => {
        if (e.commandName === 'find' && e.command.find === 'idle') finds++;
      });
      const { logger, lines } = capturingLogger();
      const expiry = await startExpiry(watched, [{ collection: 'idle', field: 'at', afterSeconds: 0 }], { intervalMs: 10, logger });
      try {
        const passes = () => lines.filter((l) => l.msg === 'expiry sweep').length;
        const deadline = Date.now() + 10_000;
        while (passes() < 40 && Date.now() < deadline) await sleep(20);
        // Passes 1, 3, 6, 11, 20, 37 read it (skips of 1, 2, 4, 8, 16): 6 reads in 40 passes, not 40.
        expect(passes()).toBeGreaterThanOrEqual(40);
        expect(finds).toBeGreaterThanOrEqual(5);
        expect(finds).toBeLessThanOrEqual(8);
        await col('idle').insertOne({ _id: 'expired', at: new Date(Date.now() - HOUR) });
        while ((await ids('idle')).includes('expired') && Date.now() < deadline) await sleep(20);
        expect(await ids('idle')).not.toContain('expired');
        expect((await ids('idle')).length).toBe(20);
      } finally {
        await expiry.stop();
        await watched.close();
      }
    });
  });
});
