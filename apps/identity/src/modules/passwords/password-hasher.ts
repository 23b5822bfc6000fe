import argon2 from 'argon2';
import { rateLimited } from '@usergraph/service-kit';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/**
 * argon2id hashing. node-argon2 runs in libuv's thread pool, off the event
 * loop; a semaphore bounds the hashes in flight so a burst of registrations
 * or logins queues instead of exhausting the pool and memory. The queue is
 * bounded too: past `queueMax` waiting hashes a request is shed at once with
 * RATE_LIMITED, so a flood cannot add latency and memory for everyone.
 */
export function createPasswordHasher(
  params: Argon2Params,
  concurrency: number,
  queueMax: number,
  /** Told how long each argon2 call took (metrics). */
  onHashTime: (seconds: number) => void = () => undefined,
) {
  let active = 0;
  const waiting: Array<() => void> = [];
  async function bounded<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= concurrency) {
      if (waiting.length >= queueMax) throw rateLimited('The server is busy; try again shortly', 1);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    active++;
    const started = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      onHashTime(Number(process.hrtime.bigint() - started) / 1e9);
      active--;
      waiting.shift()?.();
    }
  }

  const options = { type: argon2.argon2id, ...params };
  // Verified against when the identifier is unknown, so both paths cost one hash.
  let dummyHash: Promise<string> | undefined;

  return {
    hash: (password: string) => bounded(() => argon2.hash(password, options)),
    verify: (hash: string, password: string) => bounded(() => argon2.verify(hash, password).catch(() => false)),
    async verifyDummy(password: string): Promise<false> {
      dummyHash ??= argon2.hash('usergraph-dummy-password', options);
      await bounded(async () => argon2.verify(await dummyHash!, password).catch(() => false));
      return false;
    },
    needsRehash: (hash: string) => argon2.needsRehash(hash, params),
    /** Hashes waiting for a slot, and hashes running (metrics). */
    queueDepth: () => waiting.length,
    inFlight: () => active,
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
