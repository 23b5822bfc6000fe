import { IDEMPOTENCY_KEYS_EXPIRY, type ExpiringCollection } from '@usergraph/mongo';
import type { IdentityEnv } from '../env.js';
import { RATE_LIMITS_EXPIRY } from './limits/rate-limits.js';

/** What identity deletes once expired (TTL indexes on MongoDB, the sweeper on the embedded store). */
export function identityExpiringCollections(
  env: Pick<IdentityEnv, 'ACCESS_TOKEN_TTL_SECONDS' | 'OUTBOX_RETENTION_SECONDS' | 'SIGNING_KEY_ROTATION_HOURS'>,
): ExpiringCollection[] {
  return [
    // Revoked and rotated ones too, once the refresh token has expired and every access
    // token issued with it has too (caller liveness refuses a token whose session is gone;
    // near SESSION_MAX_DAYS the access token can outlive the refresh token).
    { collection: 'sessions', field: 'refreshExpiresAt', afterSeconds: env.ACCESS_TOKEN_TTL_SECONDS },
    { collection: 'verification_codes', field: 'expiresAt', afterSeconds: 0 },
    // Delivered messages are deleted by the sender at once; this bounds undelivered and development ones.
    { collection: 'outbox', field: 'createdAt', afterSeconds: env.OUTBOX_RETENTION_SECONDS },
    RATE_LIMITS_EXPIRY,
    IDEMPOTENCY_KEYS_EXPIRY,
    // A period's key is published for two periods at most (its own and the next).
    { collection: 'signing_keys', field: 'createdAt', afterSeconds: 3 * env.SIGNING_KEY_ROTATION_HOURS * 3600 },
  ];
}
