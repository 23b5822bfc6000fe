import { createHmac } from 'node:crypto';
import type { Connection } from 'mongoose';
import { DomainError, type Caller, type Logger } from '@usergraph/service-kit';
import { IdempotencyInProgressError, runOnce, type CommandLogDoc } from './command-log.js';

const DAY_MS = 24 * 3_600_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEYS_COLLECTION = 'idempotency_keys';
/** Replays of one key whose check (a password hash) may run at once; more wait. */
const MAX_CONCURRENT_REPLAY_CHECKS = 10;
const WAIT_FOR_CHECK_MS = 10_000;

/** Who a key belongs to: a key is never shared between callers, even of one organization. */
export function idempotencyCallerOf(caller: Caller): string {
  switch (caller.kind) {
    case 'user':
      return `user:${caller.userId}`;
    case 'application':
      return `application:${caller.clientId}`;
    default:
      // Anonymous callers have no identity to bind to: operations open to them
      // must check the replay itself (see `verifyReplay`).
      return 'anonymous';
  }
}

const reusedWithOtherInput = () =>
  new DomainError('CONFLICT', 'This Idempotency-Key was already used with different input', [
    { path: ['Idempotency-Key'], message: 'was already used with different input' },
  ]);

const inProgress = () =>
  new DomainError('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry shortly', [
    { path: ['Idempotency-Key'], message: 'is in use by a request still in progress' },
  ]);

interface ReplayState {
  /** Replay checks running now. */
  replayChecks?: number;
  /** A replay failed its check: the key replays nothing any more. */
  burned?: boolean;
}

/**
 * Runs `fn` once per Idempotency-Key within `scope` and `caller` for 24 hours:
 * a retry gets the first result and never creates a second user. The key is
 * bound to its caller (`idempotencyCallerOf`) and to a keyed fingerprint of
 * the input (see `keyedFingerprint`): the input itself, which may hold a
 * national ID or a password, is never stored.
 *
 * `verifyReplay` guards what a fingerprint cannot: input that must not be
 * stored even as an HMAC (a password, which a fast keyed hash would expose to
 * an offline guess). A replay is returned only if it answers true; the first
 * false burns the key, so each key gives at most one wrong guess (plus those
 * already running, at most MAX_CONCURRENT_REPLAY_CHECKS). Used by register,
 * registerUser and registerOrganizationUser.
 */
export async function withIdempotencyKey<T>(
  conn: Connection,
  opts: {
    key: string | undefined;
    scope: string;
    caller: string;
    fingerprint: () => string;
    verifyReplay?: (value: T) => Promise<boolean>;
    logger: Pick<Logger, 'error'>;
  },
  fn: () => Promise<T>,
): Promise<{ result: T; replayed: boolean }> {
  if (opts.key === undefined) return { result: await fn(), replayed: false };
  if (!KEY_PATTERN.test(opts.key)) {
    throw new DomainError('BAD_USER_INPUT', 'The Idempotency-Key header must be 1 to 255 visible ASCII characters', [
      { path: ['Idempotency-Key'], message: 'must be 1 to 255 visible ASCII characters' },
    ]);
  }
  const fingerprint = opts.fingerprint();
  const storedKey = `${opts.scope}:${opts.caller}:${opts.key}`;
  let outcome: { result: { fingerprint: string; value: T }; replayed: boolean };
  try {
    outcome = await runOnce(
      conn,
      { collection: IDEMPOTENCY_KEYS_COLLECTION, key: storedKey, ttlMs: DAY_MS, logger: opts.logger },
      async () => ({ fingerprint, value: await fn() }),
    );
  } catch (err) {
    if (err instanceof IdempotencyInProgressError) throw inProgress();
    throw err;
  }
  const { result, replayed } = outcome;
  if (result.fingerprint !== fingerprint) throw reusedWithOtherInput();
  if (replayed && opts.verifyReplay) await checkReplay(conn, storedKey, () => opts.verifyReplay!(result.value));
  return { result: result.value, replayed };
}

/** Runs one replay check in a bounded slot; a failed check burns the key before it answers. */
async function checkReplay(conn: Connection, storedKey: string, check: () => Promise<boolean>): Promise<void> {
  const col = conn.db!.collection<CommandLogDoc & ReplayState>(IDEMPOTENCY_KEYS_COLLECTION);
  const deadline = Date.now() + WAIT_FOR_CHECK_MS;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const reserved = await col.updateOne(
      {
        _id: storedKey,
        burned: { $ne: true },
        $or: [{ replayChecks: { $exists: false } }, { replayChecks: { $lt: MAX_CONCURRENT_REPLAY_CHECKS } }],
      },
      { $inc: { replayChecks: 1 } },
    );
    if (reserved.modifiedCount === 1) break;
    const found = await col.findOne({ _id: storedKey }, { projection: { burned: 1 } });
    if (!found || found.burned) throw reusedWithOtherInput();
    if (Date.now() >= deadline) throw inProgress();
    await new Promise((r) => setTimeout(r, delay));
  }
  const release = { $inc: { replayChecks: -1 } };
  let ok: boolean;
  try {
    ok = await check();
  } catch (err) {
    // An outage is not a wrong guess: free the slot, keep the key.
    await col.updateOne({ _id: storedKey }, release);
    throw err;
  }
  await col.updateOne({ _id: storedKey }, ok ? release : { ...release, $set: { burned: true } });
  if (!ok) throw reusedWithOtherInput();
}

/** An HMAC of the input: the stored fingerprint reveals nothing of it, not even by guessing. */
export const keyedFingerprint = (key: Buffer, input: unknown): string =>
  createHmac('sha256', key).update(JSON.stringify(input)).digest('base64url');
