import type { FilterQuery, Model } from 'mongoose';
import { z } from 'zod';
import { human } from '@usergraph/validation';
import { PAGE_SIZE } from '@usergraph/service-kit';

// Relay connections over stored records. Pages are ordered by _id (ObjectIds,
// which also follow insertion order), so a cursor is a position that stays
// valid while records are added: the next page starts after that _id.

const CURSOR = /^c1:([0-9a-f]{24})$/;

export const encodeCursor = (id: string): string => Buffer.from(`c1:${id}`).toString('base64url');

/** An opaque cursor, decoded to the _id it stands for. */
export const cursorSchema = z.string(human).transform((s, ctx) => {
  const id = CURSOR.exec(Buffer.from(s, 'base64url').toString('utf8'))?.[1];
  if (id === undefined) {
    ctx.issues.push({ code: 'custom', message: 'is not a cursor of this list', input: s });
    return z.NEVER;
  }
  return id;
});

export const pageArgsShape = {
  // The sizes the cost limit charges a paged field for (one source: service-kit's cost-limit.ts).
  first: z
    .int(human)
    .min(0)
    .max(PAGE_SIZE.max)
    .nullish()
    .transform((n) => n ?? PAGE_SIZE.default),
  after: cursorSchema.nullish(),
};

export interface PageArgs {
  first: number;
  after?: string | null | undefined;
}

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

/** One page of `filter`'s matches after the cursor, plus the total count of `filter`'s matches. */
export async function findPage<D extends { _id: string }, T>(
  model: Model<D>,
  filter: FilterQuery<D>,
  args: PageArgs,
  toNode: (doc: D) => T,
): Promise<Page<T>> {
  // `filter` never constrains _id itself, so the cursor condition can be merged in.
  const pageFilter: FilterQuery<D> = args.after ? { ...filter, _id: { $gt: args.after } } : filter;
  const [docs, totalCount] = await Promise.all([
    // One more than asked tells whether a next page exists.
    model
      .find(pageFilter)
      .sort({ _id: 1 })
      .limit(args.first + 1)
      .lean<D[]>()
      .exec(),
    model.countDocuments(filter).exec(),
  ]);
  const edges = docs.slice(0, args.first).map((doc) => ({ cursor: encodeCursor(doc._id), node: toNode(doc) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: docs.length > args.first,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}
