import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, isDatabaseReady, isDatabaseUnavailableError } from './connection.js';
import type { EmbeddedStore } from './testing.js';
import { startTestStore, uniqueDatabaseName } from './testing.js';

describe('connection', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('conn'), appName: 'mongo-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('is ready', async () => {
    expect(await isDatabaseReady(conn)).toBe(true);
  });

  it('drops filter paths that are not in the schema (strictQuery)', async () => {
    const Account = conn.model('Account', new mongoose.Schema({ email: String }));
    await Account.create({ email: 'a@example.com' });
    // An unknown path is ignored rather than matched against.
    expect(await Account.countDocuments({ notInSchema: 'x' })).toBe(1);
    expect(await Account.findOne({ email: 'a@example.com' })).not.toBeNull();
  });

  it('gives unique, valid database names', () => {
    const a = uniqueDatabaseName('some.prefix/with bad chars and a very long tail that goes on and on');
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,63}$/);
    expect(a).not.toBe(uniqueDatabaseName('some.prefix/with bad chars and a very long tail that goes on and on'));
  });

  it('classifies errors', () => {
    expect(isDatabaseUnavailableError(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailableError(Object.assign(new Error('dup'), { code: 11000 }))).toBe(false);
    expect(isDatabaseUnavailableError(new mongoose.mongo.MongoNetworkError('down'))).toBe(true);
    expect(isDatabaseUnavailableError(new Error('wrapped', { cause: new mongoose.mongo.MongoNetworkError('x') }))).toBe(true);
  });

  it.skipIf(!!process.env.MONGODB_URI)('reports unavailability once the store is killed', async () => {
    store.kill('SIGKILL');
    await store.exited;
    const col = conn.db!.collection('things');
    // First the pooled socket fails (EPIPE), then server selection times out.
    for (let i = 0; i < 2; i++) {
      const err = await col.findOne({}).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeTruthy();
      expect(isDatabaseUnavailableError(err)).toBe(true);
    }
    expect(await isDatabaseReady(conn)).toBe(false);
  });
});
