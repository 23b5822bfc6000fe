export { connectDatabase, isDatabaseReady, isDatabaseUnavailableError } from './connection.js';
export type { ConnectDatabaseOptions } from './connection.js';
export {
  CLAIMS_COLLECTION,
  claimKey,
  claim,
  claimAll,
  releaseClaim,
  findClaimOwner,
  releaseStaleClaims,
  isDuplicateKeyError,
  isMaxTimeExpiredError,
} from './claims.js';
export type { ClaimDoc, ClaimInput } from './claims.js';
export { runOnce, IdempotencyInProgressError } from './command-log.js';
export type { CommandLogDoc, RunOnceOptions } from './command-log.js';
export * from './idempotency-key.js';
export { startExpiry, supportsTtlIndexes, IDEMPOTENCY_KEYS_EXPIRY } from './expiry.js';
export type { Expiry, ExpiringCollection, ExpiryOptions } from './expiry.js';
export { LEASES_COLLECTION, acquireLease, runStartupBuild } from './lease.js';
export type { Lease, LeaseDoc, StartupBuildOptions, StartupBuildOutcome } from './lease.js';
export { RATE_LIMITS_EXPIRY, createRateLimiterFactory } from './rate-limits.js';
export type { LimitSpec, Limiter, LimiterEvents, RateLimiterFactory } from './rate-limits.js';
