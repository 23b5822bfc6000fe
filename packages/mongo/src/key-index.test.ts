/**
 * FerretDB v1 pushes `{ _id }` filters down as `_ferretdb_sjson->'$._id'`, an
 * expression its own _id index does not cover, so every read and write by
 * `_id` scanned the table. The embedded store (tools/ferretdb/key_index.go)
 * indexes that very expression; SQLite's own query plan, which FerretDB's
 * `explain` returns, shows it in use. (On a table of a few rows SQLite
 * rightly prefers a scan: the collections here hold a few thousand.)
 *
 * Stock FerretDB pushes `_id` down only when `{ _id: <string | ObjectId> }`
 * is the whole filter; the embedded store is built with
 * tools/ferretdb/patches/, which also pushes it down beside other conditions
 * (`{ _id, token }`) and for `_id: { $in }`, and looks up a string equality
 * on a field that leads a declared index through an index of its own,
 * FerretDB still applying the whole filter.
 */
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStore, uniqueDatabaseName } from './testing.js';
import type { EmbeddedStore } from './testing.js';

describe('key lookups on the embedded store', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;

  beforeAll(async () => {
    store = await startTestStore();
    conn = await mongoose.createConnection(store.uri, { dbName: uniqueDatabaseName('id_index') }).asPromise();
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  /**
   * SQLite's plan for `find({ _id })`, as FerretDB's explain reports it. The
   * find first: a pooled SQLite connection notices a new index when it next
   * reads, and EXPLAIN alone does not read.
   */
  async function planOf(collection: string, id: unknown, otherConditions: Record<string, unknown> = {}): Promise<string> {
    // `id` may be an operator document (`{ $in: [...] }`).
    const filter = id === undefined ? otherConditions : { _id: id, ...otherConditions };
    await conn.db!.collection<Record<string, unknown>>(collection).findOne(filter);
    const res = await conn.db!.command({ explain: { find: collection, filter }, verbosity: 'queryPlanner' });
    return JSON.stringify(res.queryPlanner);
  }

  /** The indexer sweeps a moment after a collection or an index is created: wait for it, bounded. */
  async function waitForPlan(
    collection: string,
    id: unknown,
    pattern: RegExp,
    otherConditions: Record<string, unknown> = {},
  ): Promise<string> {
    let plan = '';
    for (let attempt = 0; attempt < 50; attempt++) {
      plan = await planOf(collection, id, otherConditions);
      if (pattern.test(plan)) return plan;
      await new Promise((r) => setTimeout(r, 100));
    }
    return plan;
  }

  it('use an index, for string and ObjectId ids, in a collection created at runtime', async () => {
    const strings = conn.db!.collection<{ _id: string }>('created_by_insert');
    await strings.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: `doc-${i}` })));
    expect(await waitForPlan('created_by_insert', 'doc-7', /_usergraph_id/)).toMatch(/SEARCH .* USING INDEX \S+_usergraph_id/);

    const objectIds = conn.db!.collection('created_by_upsert');
    const id = new mongoose.Types.ObjectId();
    await objectIds.updateOne({ _id: id }, { $set: { n: 1 } }, { upsert: true });
    await objectIds.insertMany(Array.from({ length: 3000 }, () => ({ _id: new mongoose.Types.ObjectId(), n: 0 })));
    expect(await waitForPlan('created_by_upsert', id, /_usergraph_id/)).toMatch(/USING INDEX \S+_usergraph_id/);
    expect(await objectIds.findOne({ _id: id })).toEqual({ _id: id, n: 1 });
  });

  it('keep working after a collection is dropped and created again', async () => {
    const c = conn.db!.collection<{ _id: string; v: number }>('recreated');
    const others = Array.from({ length: 3000 }, (_, i) => ({ _id: `other-${i}`, v: 0 }));
    await c.insertMany([{ _id: 'a', v: 1 }, ...others]);
    expect(await waitForPlan('recreated', 'a', /_usergraph_id/)).toMatch(/USING INDEX \S+_usergraph_id/);
    await c.drop();
    await c.insertMany([{ _id: 'a', v: 2 }, ...others]);
    expect(await waitForPlan('recreated', 'a', /_usergraph_id/)).toMatch(/USING INDEX \S+_usergraph_id/);
    expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', v: 2 });
  });

  it('use the index when the filter has other conditions beside _id, and still apply them', async () => {
    const c = conn.db!.collection<{ _id: string; token: string; rev: number }>('conditional');
    await c.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: `doc-${i}`, token: `t-${i}`, rev: 0 })));
    await waitForPlan('conditional', 'doc-1', /_usergraph_id/);
    const plan = await planOf('conditional', 'doc-1', { token: 't-1', rev: { $gte: 0 } });
    expect(plan).toMatch(/SEARCH .* USING INDEX \S+_usergraph_id/);

    // The other conditions decide, as on MongoDB: a wrong token or revision matches nothing.
    expect((await c.updateOne({ _id: 'doc-1', token: 'wrong' }, { $set: { rev: 9 } })).modifiedCount).toBe(0);
    expect((await c.updateOne({ _id: 'doc-1', token: 't-1', rev: 0 }, { $inc: { rev: 1 } })).modifiedCount).toBe(1);
    expect((await c.updateOne({ _id: 'doc-1', token: 't-1', rev: 0 }, { $inc: { rev: 1 } })).modifiedCount).toBe(0);
    expect(await c.findOne({ _id: 'doc-1', rev: { $gt: 0 } })).toEqual({ _id: 'doc-1', token: 't-1', rev: 1 });
    expect(await c.countDocuments({ _id: 'doc-2', token: 't-1' })).toBe(0);
    expect((await c.deleteOne({ _id: 'doc-2', token: 't-1' })).deletedCount).toBe(0);
    expect((await c.findOneAndDelete({ _id: 'doc-2', token: 't-2' }))?._id).toBe('doc-2');
    expect(await c.countDocuments()).toBe(2999);
  });

  it('read a list of ids by key with $in, and still answer every other $in as MongoDB does', async () => {
    const c = conn.db!.collection<{ _id: string | mongoose.Types.ObjectId; org: string }>('listed');
    const oid = new mongoose.Types.ObjectId();
    await c.insertMany([{ _id: oid, org: 'a' }, ...Array.from({ length: 3000 }, (_, i) => ({ _id: `doc-${i}`, org: i % 2 ? 'a' : 'b' }))]);
    await waitForPlan('listed', 'doc-1', /_usergraph_id/);
    expect(await planOf('listed', { $in: ['doc-1', 'doc-2', oid] }, { org: 'a' })).toMatch(/SEARCH .* USING INDEX \S+_usergraph_id/);

    const ids = async (filter: object) => (await c.find(filter).toArray()).map((d) => String(d._id)).sort();
    expect(await ids({ _id: { $in: ['doc-1', 'doc-2', 'doc-3', 'missing', oid] } })).toEqual([String(oid), 'doc-1', 'doc-2', 'doc-3']);
    expect(await ids({ _id: { $in: ['doc-1', 'doc-2', 'doc-3', oid] }, org: 'a' })).toEqual([String(oid), 'doc-1', 'doc-3']);
    expect(await ids({ _id: { $in: ['doc-1', 'doc-1'] } })).toEqual(['doc-1']);
    expect(await ids({ _id: { $in: [] } })).toEqual([]);
    // Not key lookups, answered by decoding the table: a regex in the list, another operator beside $in.
    expect(await ids({ _id: { $in: [/^doc-299\d$/] } })).toEqual(Array.from({ length: 10 }, (_, i) => `doc-299${i}`));
    expect(await ids({ _id: { $in: ['doc-1', 'doc-2'], $ne: 'doc-2' } })).toEqual(['doc-1']);
    expect((await c.deleteMany({ _id: { $in: ['doc-4', 'doc-5'] }, org: 'b' })).deletedCount).toBe(1);
    expect(await ids({ _id: { $in: ['doc-4', 'doc-5'] } })).toEqual(['doc-5']);
  });

  it('look up a string equality on a field that leads a declared index, through an index on that field', async () => {
    const c = conn.db!.collection<{ _id: string; org: string; kind: string }>('by_org');
    await c.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: `doc-${i}`, org: `org-${i % 100}`, kind: i % 2 ? 'x' : 'y' })));
    await c.createIndex({ org: 1, kind: 1 });
    expect(await waitForPlan('by_org', undefined, /_usergraph_f_org/, { org: 'org-7' })).toMatch(
      /SEARCH .* USING INDEX \S+_usergraph_f_org/,
    );
    expect(await planOf('by_org', undefined, { org: 'org-7', kind: 'x' })).toMatch(/USING INDEX \S+_usergraph_f_org/);
    // `kind` leads no index: no lookup by it alone.
    expect(await planOf('by_org', undefined, { kind: 'x' })).toMatch(/SCAN/);
    expect(await c.countDocuments({ org: 'org-7', kind: 'x' })).toBe(30);
    expect(await c.countDocuments({ org: 'org-7', kind: 'y' })).toBe(0);
    expect(await c.countDocuments({ org: 'org-8' })).toBe(30);
  });

  it('answer every equality on an indexed field as MongoDB does, whatever the field holds', async () => {
    // One document per kind of value; the same documents in a collection with no declared index, which FerretDB answers by decoding every document.
    const values: unknown[] = [
      'a',
      'b',
      '',
      'A',
      'a.b',
      'é',
      '<a>',
      'a"b',
      'line\nbreak',
      ['a'],
      ['b', 'a'],
      [],
      [{ x: 'a' }],
      ['a', 1], // FerretDB v1 stores no nested arrays
      1,
      1.5,
      null,
      true,
      { x: 'a' },
      new mongoose.Types.ObjectId('64b7f0c2a1b2c3d4e5f60718'),
      new Date(0),
      undefined,
    ];
    const docs = values.map((f, i) => (f === undefined ? { _id: `v-${i}` } : { _id: `v-${i}`, f }));
    const filler = Array.from({ length: 3000 }, (_, i) => ({ _id: `filler-${i}`, f: `filler-${i}` }));
    const indexed = conn.db!.collection('equality_indexed');
    const reference = conn.db!.collection('equality_reference');
    await indexed.insertMany([...docs, ...filler] as never[]);
    await reference.insertMany([...docs, ...filler] as never[]);
    await indexed.createIndex({ f: 1 });
    expect(await waitForPlan('equality_indexed', undefined, /_usergraph_f_f/, { f: 'a' })).toMatch(/USING INDEX \S+_usergraph_f_f/);

    const probes = ['a', 'b', '', 'A', 'a.b', 'é', '<a>', 'a"b', 'line\nbreak', 'x', '64b7f0c2a1b2c3d4e5f60718', 'filler-7'];
    for (const probe of probes) {
      const ids = async (col: typeof indexed) => (await col.find({ f: probe }).toArray()).map((d) => String(d._id)).sort();
      expect({ probe, ids: await ids(indexed) }).toEqual({ probe, ids: await ids(reference) });
    }
    expect((await indexed.find({ f: 'a' }).toArray()).map((d) => d._id).sort()).toEqual(['v-0', 'v-10', 'v-13', 'v-9']);
  });
});
