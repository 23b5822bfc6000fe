// Test helper (exported through "@usergraph/mongo/testing"): the embedded
// store answers a filter by the `_id` key when it holds `_id: <string |
// ObjectId>` or `_id: { $in: [...] }` (stock FerretDB v1 only `{ _id: <string
// | ObjectId> }` alone; see tools/ferretdb/patches/). A string equality on a
// field that leads a declared index reads through that index; anything else
// decodes every document of the collection. Tests record what mongoose sends
// to the collections that grow with users and assert that hot paths stay on
// `_id`.
import type { Connection } from 'mongoose';

export interface RecordedOperation {
  collection: string;
  method: string;
  filter: unknown;
}

/** Collection methods that select documents; inserts and index builds have no filter. */
const FILTER_ARG: Record<string, number> = {
  find: 0,
  findOne: 0,
  findOneAndUpdate: 0,
  findOneAndReplace: 0,
  findOneAndDelete: 0,
  updateOne: 0,
  updateMany: 0,
  replaceOne: 0,
  deleteOne: 0,
  deleteMany: 0,
  countDocuments: 0,
  count: 0,
  distinct: 1,
  // No `_id` form at all: recorded with their first argument so they show up as scans.
  aggregate: 0,
  watch: 0,
};

/** A bulkWrite's operations, each with its own filter (inserts have none). */
function bulkFilters(ops: unknown): unknown[] {
  if (!Array.isArray(ops)) return [ops];
  return ops.flatMap((op: Record<string, { filter?: unknown }>) => {
    const model = Object.values(op)[0];
    return model && 'filter' in model ? [model.filter] : [];
  });
}

const isKeyValue = (id: unknown) =>
  typeof id === 'string' || (typeof id === 'object' && id !== null && (id as { _bsontype?: unknown })._bsontype === 'ObjectId');
/** The most ids the embedded store looks up by key in one `$in` (tools/ferretdb/patches/key_filter.go). */
const MAX_KEYED_IN = 1000;

/**
 * True for the filters the embedded store answers by key, whatever else they
 * hold: `_id: <string | ObjectId>`, or `_id: { $in: [...] }` of at most 1,000 of them.
 */
export function isKeyedFilter(filter: unknown): boolean {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter) || !('_id' in filter)) return false;
  const id = filter._id;
  if (isKeyValue(id)) return true;
  if (!id || typeof id !== 'object' || Object.keys(id).length !== 1) return false;
  const ids = (id as { $in?: unknown }).$in;
  return Array.isArray(ids) && ids.length <= MAX_KEYED_IN && ids.every(isKeyValue);
}

/**
 * Records every filter sent through mongoose on `conn` to the named
 * collections (models and `conn.collection()`; not `conn.db.collection()`,
 * which bypasses mongoose), from mongoose's `operation-start` event.
 */
export function recordFilters(conn: Connection, collections: readonly string[]) {
  const watched = new Set(collections);
  const operations: RecordedOperation[] = [];
  const listener = (op: { collectionName: string; method: string; params?: unknown[] }) => {
    if (!watched.has(op.collectionName)) return;
    if (op.method === 'bulkWrite') {
      for (const filter of bulkFilters(op.params?.[0])) operations.push({ collection: op.collectionName, method: op.method, filter });
      return;
    }
    const arg = FILTER_ARG[op.method];
    if (arg !== undefined) operations.push({ collection: op.collectionName, method: op.method, filter: op.params?.[arg] });
  };
  conn.on('operation-start', listener);
  return {
    operations,
    /** The operations that would make FerretDB read their whole collection. */
    scans: () => operations.filter((o) => !isKeyedFilter(o.filter)),
    clear: () => {
      operations.length = 0;
    },
    stop: () => {
      conn.off('operation-start', listener);
    },
  };
}

export type FilterRecorder = ReturnType<typeof recordFilters>;
