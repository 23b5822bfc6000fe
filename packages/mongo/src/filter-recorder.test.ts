import type mongoose from 'mongoose';
import { Schema, Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from './connection.js';
import type { EmbeddedStore } from './testing.js';
import { isKeyedFilter, recordFilters, startTestStore, uniqueDatabaseName } from './testing.js';

describe('isKeyedFilter', () => {
  it('accepts a filter with _id equal to, or $in, strings or ObjectIds, whatever else it holds', () => {
    expect(isKeyedFilter({ _id: 'a' })).toBe(true);
    expect(isKeyedFilter({ _id: new Types.ObjectId() })).toBe(true);
    expect(isKeyedFilter({ _id: 'a', organizationId: 'o', rev: { $lt: 3 } })).toBe(true);
    expect(isKeyedFilter({ _id: { $in: ['a', new Types.ObjectId()] }, organizationId: 'o' })).toBe(true);
    expect(isKeyedFilter({ _id: { $in: Array.from({ length: 1001 }, (_, i) => `id${i}`) } })).toBe(false);
    expect(isKeyedFilter({ _id: { $in: ['a', /b/] } })).toBe(false);
    expect(isKeyedFilter({ _id: { $in: ['a'], $ne: 'b' } })).toBe(false);
    expect(isKeyedFilter({ _id: { $gt: 'a' } })).toBe(false);
    expect(isKeyedFilter({ _id: 1 })).toBe(false);
    expect(isKeyedFilter({ organizationId: 'o' })).toBe(false);
    expect(isKeyedFilter({})).toBe(false);
    expect(isKeyedFilter(undefined)).toBe(false);
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
    await Thing.find({ _id: { $gte: 't1' } }).exec();
    await Other.findOne({ name: 'x' }).exec();
    recorder.stop();
    await Thing.find({ org: 'o' }).exec();
    expect(recorder.operations.map((o) => o.method)).toEqual(['findOne', 'updateOne', 'find', 'find']);
    expect(recorder.scans().map((o) => o.filter)).toEqual([{ _id: { $gte: 't1' } }]);
  });
});
