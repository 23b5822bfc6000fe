import mongoose, { Schema, Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from './connection.js';
import type { EmbeddedStore } from './embedded-store.js';
import { isIdOnlyFilter, recordFilters, startTestStore, uniqueDatabaseName } from './testing.js';

describe('isIdOnlyFilter', () => {
  it('accepts exactly { _id: string | ObjectId }', () => {
    expect(isIdOnlyFilter({ _id: 'a' })).toBe(true);
    expect(isIdOnlyFilter({ _id: new Types.ObjectId() })).toBe(true);
    expect(isIdOnlyFilter({ _id: 'a', organizationId: 'o' })).toBe(false);
    expect(isIdOnlyFilter({ _id: { $in: ['a', 'b'] } })).toBe(false);
    expect(isIdOnlyFilter({ _id: 1 })).toBe(false);
    expect(isIdOnlyFilter({})).toBe(false);
    expect(isIdOnlyFilter(undefined)).toBe(false);
  });
});

describe('recordFilters', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('recorder'), appName: 'mongo-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('records the filters mongoose sends to the watched collections only', async () => {
    const Thing = conn.model('Thing', new Schema({ _id: String, org: String }, { collection: 'things' }));
    const Other = conn.model('Other', new Schema({ _id: String }, { collection: 'others' }));
    const recorder = recordFilters(conn, ['things']);
    await Thing.create({ _id: 't1', org: 'o' });
    await Thing.findById('t1').exec();
    await Thing.updateOne({ _id: 't1', org: 'o' }, { $set: { org: 'o' } }).exec();
    await Thing.find({ _id: { $in: ['t1'] } }).exec();
    await Other.findOne({ name: 'x' }).exec();
    recorder.stop();
    await Thing.find({ org: 'o' }).exec();
    expect(recorder.operations.map((o) => o.method)).toEqual(['findOne', 'updateOne', 'find']);
    expect(recorder.scans().map((o) => o.filter)).toEqual([{ _id: 't1', org: 'o' }, { _id: { $in: ['t1'] } }]);
  });
});
