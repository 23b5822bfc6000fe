// The limiter helper moved to @usergraph/mongo (org-users' webhooks use it too).
export { RATE_LIMITS_EXPIRY, createRateLimiterFactory } from '@usergraph/mongo';
export type { LimitSpec, Limiter, LimiterEvents, RateLimiterFactory } from '@usergraph/mongo';
