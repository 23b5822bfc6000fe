/**
 * FerretDB v1 runs a conditional update as a query and a separate write; the
 * embedded store's write serializer (tools/ferretdb/serialize.go) makes it
 * atomic, as on MongoDB. Seats, the last-ADMIN invariant, refresh-token
 * rotation and code attempts all rely on this.
 */
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStore, uniqueDatabaseName } from './testing.js';
import type { EmbeddedStore } from './testing.js';

describe('conditional single-document updates under contention', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;

  beforeAll(async () => {
    store = await startTestStore();
    conn = await mongoose.createConnection(store.uri, { dbName: uniqueDatabaseName('atomic') }).asPromise();
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('updateOne: 30 concurrent decrements guarded by $gt: 0 succeed exactly as often as the counter allows', async () => {
    const c = conn.db!.collection<{ _id: string; free: number; used: number }>('counters');
    await c.insertOne({ _id: 'seats', free: 5, used: 0 });
    const results = await Promise.all(
      Array.from({ length: 30 }, () => c.updateOne({ _id: 'seats', free: { $gt: 0 } }, { $inc: { free: -1, used: 1 } })),
    );
    expect(results.filter((r) => r.modifiedCount === 1)).toHaveLength(5);
    expect(await c.findOne({ _id: 'seats' })).toEqual({ _id: 'seats', free: 0, used: 5 });
  });

  it('findOneAndUpdate: 30 concurrent "keep at least one" decrements leave exactly one', async () => {
    const c = conn.db!.collection<{ _id: string; admins: number }>('admins');
    await c.insertOne({ _id: 'org', admins: 10 });
    const results = await Promise.all(
      Array.from({ length: 30 }, () => c.findOneAndUpdate({ _id: 'org', admins: { $gt: 1 } }, { $inc: { admins: -1 } })),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(9);
    expect((await c.findOne({ _id: 'org' }))!.admins).toBe(1);
  });
});
