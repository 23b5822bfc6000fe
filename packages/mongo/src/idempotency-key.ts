import { createHmac } from 'node:crypto';
import type { Connection } from 'mongoose';
import { DomainError } from '@usergraph/service-kit';
import { IdempotencyInProgressError, runOnce } from './command-log.js';

const DAY_MS = 24 * 3_600_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs `fn` once per Idempotency-Key within `scope` for 24 hours: a retry gets
 * the first result and never creates a second user. The key is bound to a
 * keyed fingerprint of the input (see `keyedFingerprint`): the input itself,
 * which may hold a national ID, is never stored. Used by register,
 * registerUser and registerOrganizationUser.
 */
export async function withIdempotencyKey<T>(
  conn: Connection,
  opts: { key: string | undefined; scope: string; fingerprint: () => string },
  fn: () => Promise<T>,
): Promise<{ result: T; replayed: boolean }> {
  if (opts.key === undefined) return { result: await fn(), replayed: false };
  if (!KEY_PATTERN.test(opts.key)) {
    throw new DomainError('BAD_USER_INPUT', 'The Idempotency-Key header must be 1 to 255 visible ASCII characters', [
      { path: ['Idempotency-Key'], message: 'must be 1 to 255 visible ASCII characters' },
    ]);
  }
  const fingerprint = opts.fingerprint();
  try {
    const { result, replayed } = await runOnce(
      conn,
      { collection: 'idempotency_keys', key: `${opts.scope}:${opts.key}`, ttlMs: DAY_MS },
      async () => ({ fingerprint, value: await fn() }),
    );
    if (result.fingerprint !== fingerprint) {
      throw new DomainError('CONFLICT', 'This Idempotency-Key was already used with different input', [
        { path: ['Idempotency-Key'], message: 'was already used with different input' },
      ]);
    }
    return { result: result.value, replayed };
  } catch (err) {
    if (err instanceof IdempotencyInProgressError) {
      throw new DomainError('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry shortly', [
        { path: ['Idempotency-Key'], message: 'is in use by a request still in progress' },
      ]);
    }
    throw err;
  }
}

/** An HMAC of the input: the stored fingerprint reveals nothing of it, not even by guessing. */
export const keyedFingerprint = (key: Buffer, input: unknown): string =>
  createHmac('sha256', key).update(JSON.stringify(input)).digest('base64url');
