import { DomainError } from '@usergraph/service-kit';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The password hasher's metrics: argon2 time, and the queue that sheds load past HASH_QUEUE_MAX. */
export function createHashMetrics() {
  const hashDuration = new Histogram({
    name: 'usergraph_identity_password_hash_duration_seconds',
    help: 'Time of one argon2 hash or verification, excluding time queued.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [],
  });
  return {
    observeHashTime: (seconds: number) => hashDuration.observe(seconds),
    /** Registers the metrics once the service's registry exists; the gauges read the hasher when scraped. */
    register(registry: Registry, hasher: { queueDepth(): number; inFlight(): number }) {
      registry.registerMetric(hashDuration);
      new Gauge({
        name: 'usergraph_identity_hash_queue_depth',
        help: 'Password hashes waiting for a free slot (HASH_CONCURRENCY).',
        registers: [registry],
        collect() {
          this.set(hasher.queueDepth());
        },
      });
      new Gauge({
        name: 'usergraph_identity_hashes_in_flight',
        help: 'Password hashes running now.',
        registers: [registry],
        collect() {
          this.set(hasher.inFlight());
        },
      });
    },
  };
}

/** Requests refused by a rate limit or lockout, by limiter (e.g. a login lockout is a refusal of a login limiter). */
export function createRateLimitRefusalCounter(registry: Registry): (limiter: string) => void {
  const refusals = new Counter({
    name: 'usergraph_identity_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit or lockout, by limiter.',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  return (limiter) => refusals.inc({ limiter });
}

/** The outcome label of a login: its error code, lower-cased, from a fixed set. */
export function loginOutcome(err: unknown): string {
  if (err === undefined) return 'success';
  if (!(err instanceof DomainError)) return 'error';
  if (err.code === 'UNAUTHENTICATED') return 'failure';
  if (err.code === 'RATE_LIMITED') return 'refused';
  if (err.code === 'BAD_USER_INPUT') return 'invalid';
  return 'error';
}

/** Counts logins by outcome: success, failure (bad credentials), refused (rate limit or lockout), invalid, error. */
export function countLogins<A extends unknown[], R>(registry: Registry, login: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const logins = new Counter({
    name: 'usergraph_identity_logins_total',
    help: 'Password logins, by outcome (success, failure, refused, invalid, error).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return async (...args) => {
    try {
      const result = await login(...args);
      logins.inc({ outcome: 'success' });
      return result;
    } catch (err) {
      logins.inc({ outcome: loginOutcome(err) });
      throw err;
    }
  };
}
