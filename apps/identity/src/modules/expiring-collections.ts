import { IDEMPOTENCY_KEYS_EXPIRY, type ExpiringCollection } from '@usergraph/mongo';
import type { IdentityEnv } from '../env.js';
import { RATE_LIMITS_EXPIRY } from './limits/rate-limits.js';

/** What identity deletes once expired (TTL indexes on MongoDB, the sweeper on the embedded store). */
export function identityExpiringCollections(env: Pick<IdentityEnv, 'OUTBOX_RETENTION_SECONDS' | 'SIGNING_KEY_ROTATION_HOURS'>): ExpiringCollection[] {
  return [
    // Revoked and rotated ones too: all are useless once the refresh token has expired.
    { collection: 'sessions', field: 'refreshExpiresAt', afterSeconds: 0 },
    { collection: 'verification_codes', field: 'expiresAt', afterSeconds: 0 },
    // Delivered messages are deleted by the sender at once; this bounds undelivered and development ones.
    { collection: 'outbox', field: 'createdAt', afterSeconds: env.OUTBOX_RETENTION_SECONDS },
    RATE_LIMITS_EXPIRY,
    IDEMPOTENCY_KEYS_EXPIRY,
    // A period's key is published for two periods at most (its own and the next).
    { collection: 'signing_keys', field: 'createdAt', afterSeconds: 3 * env.SIGNING_KEY_ROTATION_HOURS * 3600 },
  ];
}
