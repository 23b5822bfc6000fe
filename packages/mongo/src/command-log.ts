// At-most-once execution per key (internal commands, Idempotency-Key headers)
// without transactions: a 'pending' marker inserted under _id = key decides
// which caller runs; the others replay the stored result or wait for it.
import { randomUUID } from 'node:crypto';
import type mongoose from 'mongoose';
import { logUndoFailure, type Logger } from '@usergraph/service-kit';
import { isDuplicateKeyError } from './claims.js';

const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
// A pending marker left by a crashed caller blocks its key only this long.
const DEFAULT_PENDING_LEASE_MS = 2 * 60 * 1000;
const WAIT_FOR_PENDING_MS = 10_000;

export interface CommandLogDoc {
  _id: string;
  state: 'pending' | 'done';
  /** Identifies the caller that inserted the marker (only it may finish/delete it). */
  token: string;
  result?: unknown;
  createdAt: Date;
  /** Checked in queries too: the sweeper (embedded store) may run up to a pass late. */
  expiresAt: Date;
}

export interface RunOnceOptions {
  collection: string;
  key: string;
  /** How long a done result is replayed; default 24 h. */
  ttlMs?: number;
  /** How long a pending marker holds the key if its caller dies; default 2 min. */
  pendingLeaseMs?: number;
  /** How long a concurrent caller waits for the first one's result before IDEMPOTENCY_IN_PROGRESS; default 10 s. */
  waitMs?: number;
  /** Where a failure to free or finish the marker is reported. */
  logger: Pick<Logger, 'error'>;
}

export class IdempotencyInProgressError extends Error {
  readonly code = 'IDEMPOTENCY_IN_PROGRESS';
  constructor(key: string) {
    super(`A command with the same idempotency key is still in progress: ${key}`);
    this.name = 'IdempotencyInProgressError';
  }
}

// Stored and returned as plain JSON data so that the first call and its
// replays return exactly the same shape.
function toPlain<T>(value: T): T {
  // undefined for an undefined value, whatever the lib's types say.
  const json = JSON.stringify(value) as string | undefined;
  return (json === undefined ? undefined : JSON.parse(json)) as T;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs fn once per key within the TTL. Concurrent callers wait (up to ~10 s)
 * for the first one's result; if fn throws, the key is freed and the error
 * rethrown. The result must be JSON-serialisable.
 */
export async function runOnce<T>(
  conn: mongoose.Connection,
  opts: RunOnceOptions,
  fn: () => Promise<T>,
): Promise<{ result: T; replayed: boolean }> {
  if (!conn.db) throw new Error('The database connection is not open');
  const col = conn.db.collection<CommandLogDoc>(opts.collection);
  const ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
  const leaseMs = Math.min(opts.pendingLeaseMs ?? DEFAULT_PENDING_LEASE_MS, ttlMs);
  const key = opts.key;
  const deadline = Date.now() + (opts.waitMs ?? WAIT_FOR_PENDING_MS);

  for (;;) {
    const token = randomUUID();
    const createdAt = new Date();
    let inserted = false;
    try {
      await col.insertOne({
        _id: key,
        state: 'pending',
        token,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + leaseMs),
      });
      inserted = true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }

    if (inserted) {
      let result: T;
      try {
        result = toPlain(await fn());
      } catch (err) {
        // Free the key so that a retry can run fn again; if that fails, the marker blocks the key until its lease ends.
        await col.deleteOne({ _id: key, token }).catch((undoErr: unknown) =>
          logUndoFailure(opts.logger, undoErr, 'free idempotency key', {
            collection: opts.collection,
            key,
            blockedUntil: new Date(createdAt.getTime() + leaseMs),
            repair: 'the marker expires',
          }),
        );
        throw err;
      }
      const set: Partial<CommandLogDoc> = { state: 'done', expiresAt: new Date(createdAt.getTime() + ttlMs) };
      if (result !== undefined) set.result = result;
      // fn's effects have happened: return its result even if recording it
      // fails (the marker then expires after its lease, and a retry runs fn again).
      await col.updateOne({ _id: key, token }, { $set: set }).catch((undoErr: unknown) =>
        logUndoFailure(opts.logger, undoErr, 'record idempotent result', {
          collection: opts.collection,
          key,
          pendingUntil: new Date(createdAt.getTime() + leaseMs),
          repair: 'the marker expires',
        }),
      );
      return { result, replayed: false };
    }

    // Someone holds the key: replay, wait, or take over an expired marker.
    let delay = 20;
    for (;;) {
      // Expiry checked here rather than in the filter: the caller tells a live marker from an expired one.
      const found = await col.findOne({ _id: key });
      const live = found && found.expiresAt > new Date() ? found : null;
      if (!live) {
        // Expired or deleted (its fn failed): remove it if expired and retry.
        await col.deleteOne({ _id: key, expiresAt: { $lte: new Date() } });
        break;
      }
      if (live.state === 'done') return { result: live.result as T, replayed: true };
      if (Date.now() >= deadline) throw new IdempotencyInProgressError(key);
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
    if (Date.now() >= deadline) throw new IdempotencyInProgressError(key);
  }
}
