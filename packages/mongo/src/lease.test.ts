import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@usergraph/service-kit';
import { connectDatabase } from './connection.js';
import { acquireLease, LEASES_COLLECTION, runStartupBuild, type Lease, type LeaseDoc } from './lease.js';
import type { EmbeddedStore } from './testing.js';
import { spawnLeaseHolder, startTestStore, uniqueDatabaseName } from './testing.js';

const logger = createLogger({ service: 'mongo-test', level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('leases', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  let dbName: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    store = await startTestStore();
    dbName = uniqueDatabaseName('leases');
    conn = await connectDatabase({ uri: store.uri, dbName, appName: 'mongo-test' });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await conn?.close();
    await store?.stop();
  });

  const holderProcess = async (name: string, ttlMs: number, then?: string) => {
    const child = await spawnLeaseHolder({ uri: store.uri, dbName, name, ttlMs, ...(then ? { then } : {}) });
    children.push(child);
    return child;
  };

  it('of 10 instances racing for one lease, exactly one holds it; released, it can be taken again', async () => {
    const conns = await Promise.all(Array.from({ length: 3 }, () => connectDatabase({ uri: store.uri, dbName, appName: 'racer' })));
    try {
      const leases = await Promise.all(
        Array.from({ length: 10 }, (_, i) => acquireLease(conns[i % 3]!, 'race', { ttlMs: 10_000, logger })),
      );
      const holders = leases.filter((l) => l !== null);
      expect(holders).toHaveLength(1);
      expect((await conn.collection<LeaseDoc>(LEASES_COLLECTION).findOne({ _id: 'race' }))?.holder).toBe(holders[0]!.holder);
      await holders[0]!.release();
      const again = await acquireLease(conn, 'race', { ttlMs: 10_000, logger });
      expect(again).not.toBeNull();
      await again!.release();
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it('a live holder keeps its lease past its duration; once it is killed, the lease expires and another instance takes it', async () => {
    const ttlMs = 600;
    const child = await holderProcess('killed', ttlMs);
    await sleep(3 * ttlMs); // renewed meanwhile
    expect(await acquireLease(conn, 'killed', { ttlMs, logger })).toBeNull();
    child.kill('SIGKILL');
    await once(child, 'exit');
    const killedAt = Date.now();
    let lease: Lease | null = null;
    while (!lease && Date.now() - killedAt < 10 * ttlMs) lease = await acquireLease(conn, 'killed', { ttlMs, logger });
    expect(lease).not.toBeNull();
    expect(Date.now() - killedAt).toBeLessThan(2 * ttlMs + 500);
    await lease!.release();
  });

  it("a holder that stalled past its expiry learns it lost the lease, and its late release leaves the new holder's alone", async () => {
    const stalled = await acquireLease(conn, 'stalled', { ttlMs: 300, logger });
    expect(stalled?.held()).toBe(true);
    // Taken over by another instance while this one stalled (as acquireLease does once it expired).
    await conn
      .collection<LeaseDoc>(LEASES_COLLECTION)
      .updateOne({ _id: 'stalled' }, { $set: { holder: 'next', expiresAt: new Date(Date.now() + 60_000) } });
    await sleep(400); // a renewal runs every 100 ms
    expect(stalled!.held()).toBe(false);
    await stalled!.release();
    expect((await conn.collection<LeaseDoc>(LEASES_COLLECTION).findOne({ _id: 'stalled' }))?.holder).toBe('next');
  });

  describe('runStartupBuild', () => {
    const markerOf = (name: string) => async () => (await conn.collection<{ _id: string }>('markers').findOne({ _id: name })) !== null;

    it('of two instances starting at once, one builds and the other waits for it to finish', async () => {
      let builds = 0;
      const other = await connectDatabase({ uri: store.uri, dbName, appName: 'second' });
      try {
        const start = (c: mongoose.Connection) =>
          runStartupBuild(c, {
            name: 'both',
            done: markerOf('both'),
            build: async () => {
              builds++;
              await sleep(500);
              return 'built';
            },
            markDone: async () => {
              await c.collection<{ _id: string }>('markers').insertOne({ _id: 'both' });
            },
            ttlMs: 2_000,
            waitMs: 10_000,
            logger,
          });
        const outcomes = await Promise.all([start(conn), start(other)]);
        expect(outcomes.map((o) => o.outcome).sort()).toEqual(['built', 'done']);
        expect(builds).toBe(1);
        expect(await conn.collection<LeaseDoc>(LEASES_COLLECTION).findOne({ _id: 'both' })).toBeNull();
      } finally {
        await other.close();
      }
    });

    it('takes over the build of a holder killed midway once its lease expires, and finishes it', async () => {
      const child = await holderProcess('resume', 600, `await conn.collection('parts').insertOne({ _id: 'first-half' });`);
      const waiting = runStartupBuild(conn, {
        name: 'resume',
        done: markerOf('resume'),
        build: async () => {
          await conn
            .collection<{ _id: string; redone?: boolean }>('parts')
            .updateOne({ _id: 'first-half' }, { $set: { redone: true } }, { upsert: true });
          await conn.collection<{ _id: string; redone?: boolean }>('parts').insertOne({ _id: 'second-half' });
          return await conn.collection<{ _id: string; redone?: boolean }>('parts').countDocuments();
        },
        markDone: async () => {
          await conn.collection<{ _id: string }>('markers').insertOne({ _id: 'resume' });
        },
        ttlMs: 600,
        waitMs: 20_000,
        logger,
      });
      await sleep(1_500);
      expect(await markerOf('resume')()).toBe(false); // still waiting for the live holder
      child.kill('SIGKILL');
      expect(await waiting).toEqual({ outcome: 'built', result: 2 });
      expect(await markerOf('resume')()).toBe(true);
    });

    it('a holder whose lease was taken over while it built does not write the marker; it waits for the new holder instead', async () => {
      let marked = 0;
      const outcome = await runStartupBuild(conn, {
        name: 'overtaken',
        done: markerOf('overtaken'),
        build: async (lease) => {
          // This instance stalled past its expiry and another took the lease over (as acquireLease does)
          // just before the marker: no renewal has run since, so only a check at the marker can see it.
          await conn
            .collection<LeaseDoc>(LEASES_COLLECTION)
            .updateOne({ _id: 'overtaken' }, { $set: { holder: 'next', expiresAt: new Date(Date.now() + 60_000) } });
          expect(lease.held()).toBe(true);
          // The new holder finishes a little later (its marker, then its release).
          setTimeout(() => {
            void conn
              .collection<{ _id: string }>('markers')
              .insertOne({ _id: 'overtaken' })
              .then(() => conn.collection<LeaseDoc>(LEASES_COLLECTION).deleteOne({ _id: 'overtaken', holder: 'next' }));
          }, 300);
          return 'stale';
        },
        markDone: async () => {
          marked++;
          await conn.collection<{ _id: string }>('markers').insertOne({ _id: 'overtaken-by-the-stale-holder' });
        },
        ttlMs: 30_000,
        waitMs: 5_000,
        pollMs: 50,
        logger,
      });
      expect(outcome).toEqual({ outcome: 'done' });
      expect(marked).toBe(0);
      expect(await markerOf('overtaken-by-the-stale-holder')()).toBe(false);
      expect((await conn.collection<LeaseDoc>(LEASES_COLLECTION).findOne({ _id: 'overtaken' }))?.holder).not.toBe('next');
    });

    it('gives up waiting after waitMs while the holder is alive, and says so', async () => {
      const holder = await acquireLease(conn, 'slow', { ttlMs: 400, logger });
      try {
        const started = Date.now();
        const outcome = await runStartupBuild(conn, {
          name: 'slow',
          done: markerOf('slow'),
          build: async () => 'never',
          markDone: async () => {
            throw new Error('not the holder');
          },
          ttlMs: 400,
          waitMs: 1_000,
          logger,
        });
        expect(outcome).toEqual({ outcome: 'timed-out' });
        expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      } finally {
        await holder!.release();
      }
    });
  });
});
