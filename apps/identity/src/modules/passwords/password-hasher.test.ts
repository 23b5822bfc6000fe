import { describe, expect, it } from 'vitest';
import { DomainError } from '@usergraph/service-kit';
import { createPasswordHasher } from './password-hasher.js';

describe('password hasher', () => {
  it('finding 8: sheds hashes beyond the bounded queue with RATE_LIMITED, and serves the rest', async () => {
    // One hash at a time, two waiting: of 6 at once, 3 are hashed and 3 shed.
    const hasher = createPasswordHasher({ memoryCost: 19_456, timeCost: 2, parallelism: 1 }, 1, 2);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => hasher.hash(`Password-number-${i}`)));
    const hashed = results.filter((r) => r.status === 'fulfilled');
    const shed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(hashed).toHaveLength(3);
    expect(shed).toHaveLength(3);
    for (const err of shed) {
      expect(err).toBeInstanceOf(DomainError);
      expect(err).toMatchObject({ code: 'RATE_LIMITED', extensions: { retryAfterSeconds: 1 } });
    }
    // Once the queue drains, hashing works again.
    expect(await hasher.verify(await hasher.hash('Password-after'), 'Password-after')).toBe(true);
  });
});
