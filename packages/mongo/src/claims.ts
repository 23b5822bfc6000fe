// Uniqueness without transactions or partial indexes (FerretDB has neither):
// a unique value is "claimed" by inserting a document whose _id is the value
// itself, so the always-unique _id index arbitrates concurrent writers.
import type mongoose from 'mongoose';
import { logUndoFailure, type Logger } from '@usergraph/service-kit';

export const CLAIMS_COLLECTION = 'claims';

export interface ClaimDoc {
  _id: string;
  ownerId: string;
  kind: string;
  createdAt: Date;
}

export interface ClaimInput {
  /** e.g. "email", "username". */
  kind: string;
  organizationId: string;
  /** Already normalized by the caller (lower-cased email, ...). */
  value: string;
  /** Id of the entity that holds the value (user id, ...). */
  ownerId: string;
}

export function claimKey(kind: string, organizationId: string, normalizedValue: string): string {
  return `${kind}:${organizationId}:${normalizedValue}`;
}

export function isDuplicateKeyError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; writeErrors?: unknown; message?: unknown };
  if (e.code === 11000 || e.code === 11001) return true;
  if (Array.isArray(e.writeErrors) && e.writeErrors.some((w) => (w as { code?: unknown } | null)?.code === 11000)) return true;
  return false;
}

/** The store stopped a query at its `maxTimeMS` (MaxTimeMSExpired, code 50; FerretDB answers the same). */
export function isMaxTimeExpiredError(err: unknown): boolean {
  return Boolean(err && typeof err === 'object' && (err as { code?: unknown }).code === 50);
}

function claimsCollection(conn: mongoose.Connection): mongoose.mongo.Collection<ClaimDoc> {
  if (!conn.db) throw new Error('The database connection is not open');
  return conn.db.collection<ClaimDoc>(CLAIMS_COLLECTION);
}

type ClaimOutcome = 'inserted' | 'owned' | 'taken';

async function claimDetailed(conn: mongoose.Connection, input: ClaimInput): Promise<ClaimOutcome> {
  const col = claimsCollection(conn);
  const _id = claimKey(input.kind, input.organizationId, input.value);
  // Loop: the holder may release between our failed insert and our read.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await col.insertOne({ _id, ownerId: input.ownerId, kind: input.kind, createdAt: new Date() });
      return 'inserted';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const existing = await col.findOne({ _id }, { projection: { ownerId: 1 } });
    if (existing) return existing.ownerId === input.ownerId ? 'owned' : 'taken';
  }
  return 'taken';
}

/** Claims a unique value; 'claimed' also when the same owner already holds it. */
export async function claim(conn: mongoose.Connection, input: ClaimInput): Promise<'claimed' | 'taken'> {
  return (await claimDetailed(conn, input)) === 'taken' ? 'taken' : 'claimed';
}

/**
 * Claims all values in order, or none: on the first taken value, releases the
 * claims this call inserted (not those the owner already held) and reports it.
 */
export async function claimAll(
  conn: mongoose.Connection,
  claims: readonly ClaimInput[],
  logger: Pick<Logger, 'error'>,
): Promise<{ ok: true } | { ok: false; takenKind: string }> {
  const inserted: ClaimInput[] = [];
  try {
    for (const c of claims) {
      const outcome = await claimDetailed(conn, c);
      if (outcome === 'taken') {
        await rollback(conn, inserted);
        return { ok: false, takenKind: c.kind };
      }
      if (outcome === 'inserted') inserted.push(c);
    }
  } catch (err) {
    // Best effort: the database may be the reason we failed.
    await rollback(conn, inserted).catch((undoErr: unknown) =>
      logUndoFailure(logger, undoErr, 'release claims', {
        claims: inserted.map((c) => ({ kind: c.kind, organizationId: c.organizationId, ownerId: c.ownerId })),
      }),
    );
    throw err;
  }
  return { ok: true };
}

async function rollback(conn: mongoose.Connection, inserted: readonly ClaimInput[]): Promise<void> {
  for (const c of [...inserted].reverse()) await releaseClaim(conn, c);
}

/** Releases a claim only if ownerId holds it; returns whether it did. */
export async function releaseClaim(conn: mongoose.Connection, input: ClaimInput): Promise<boolean> {
  const _id = claimKey(input.kind, input.organizationId, input.value);
  const res = await claimsCollection(conn).deleteOne({ _id, ownerId: input.ownerId });
  return res.deletedCount === 1;
}

/**
 * Reconcile: releases claims of `kinds` created before `createdBefore` that
 * their owner no longer holds (`held` answers, per organization, which of the
 * claims are still its owners' current values). Such claims are what a failed
 * undo leaves behind; left alone they would block the value for good. A write
 * still in flight holds only claims younger than the cutoff (reconcile's
 * --min-age-seconds, 300 by default), so it keeps them.
 */
export async function releaseStaleClaims(
  conn: mongoose.Connection,
  kinds: readonly string[],
  createdBefore: Date,
  held: (organizationId: string, claims: readonly ClaimInput[]) => Promise<ReadonlySet<ClaimInput>>,
): Promise<number> {
  const docs = await claimsCollection(conn)
    .find({ kind: { $in: [...kinds] }, createdAt: { $lt: createdBefore } })
    .toArray();
  const byOrganization = new Map<string, ClaimInput[]>();
  for (const d of docs) {
    // _id is kind:organizationId:value; kinds and organization ids hold no ':'.
    const rest = d._id.slice(d.kind.length + 1);
    const split = rest.indexOf(':');
    const claim = { kind: d.kind, organizationId: rest.slice(0, split), value: rest.slice(split + 1), ownerId: d.ownerId };
    byOrganization.set(claim.organizationId, [...(byOrganization.get(claim.organizationId) ?? []), claim]);
  }
  let released = 0;
  for (const [organizationId, claims] of byOrganization) {
    for (let i = 0; i < claims.length; i += 500) {
      const batch = claims.slice(i, i + 500);
      const current = await held(organizationId, batch);
      for (const c of batch.filter((c) => !current.has(c))) {
        const res = await claimsCollection(conn).deleteOne({
          _id: claimKey(c.kind, c.organizationId, c.value),
          ownerId: c.ownerId,
          createdAt: { $lt: createdBefore },
        });
        released += res.deletedCount;
      }
    }
  }
  return released;
}

export async function findClaimOwner(
  conn: mongoose.Connection,
  kind: string,
  organizationId: string,
  value: string,
): Promise<string | null> {
  const doc = await claimsCollection(conn).findOne({ _id: claimKey(kind, organizationId, value) }, { projection: { ownerId: 1 } });
  return doc?.ownerId ?? null;
}
