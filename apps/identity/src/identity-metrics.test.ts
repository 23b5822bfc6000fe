import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DomainError } from '@usergraph/service-kit';
import { countLogins, createHashMetrics } from './identity-metrics.js';
import { createPasswordHasher } from './modules/passwords/password-hasher.js';

const CHEAP = { memoryCost: 1024, timeCost: 2, parallelism: 1 };

describe('hash metrics', () => {
  it('report argon2 time per hash and the queue depth while hashes wait for a slot', async () => {
    const registry = new Registry();
    const metrics = createHashMetrics();
    const hasher = createPasswordHasher(CHEAP, 1, 10, metrics.observeHashTime);
    metrics.register(registry, hasher);

    const pending = [hasher.hash('one-password-1'), hasher.hash('two-password-2'), hasher.hash('three-password-3')];
    // One runs, two wait: the gauges read the hasher at scrape time.
    const during = await registry.metrics();
    expect(during).toMatch(/^usergraph_identity_hash_queue_depth 2$/m);
    expect(during).toMatch(/^usergraph_identity_hashes_in_flight 1$/m);
    const [hash] = await Promise.all(pending);
    expect(await hasher.verify(hash!, 'one-password-1')).toBe(true);

    const after = await registry.metrics();
    expect(after).toMatch(/^usergraph_identity_hash_queue_depth 0$/m);
    expect(after).toMatch(/^usergraph_identity_password_hash_duration_seconds_count 4$/m);
  });
});

describe('countLogins', () => {
  it('counts each login once by outcome, and passes results and errors through', async () => {
    const registry = new Registry();
    const answers: unknown[] = [
      'session',
      new DomainError('UNAUTHENTICATED', 'Invalid credentials'),
      new DomainError('RATE_LIMITED', 'Too many'),
      new DomainError('BAD_USER_INPUT', 'Invalid input'),
      new Error('store down'),
    ];
    const login = countLogins(registry, async (i: number) => {
      const answer = answers[i];
      if (answer instanceof Error) throw answer;
      return answer;
    });
    expect(await login(0)).toBe('session');
    for (const i of [1, 2, 3, 4]) await expect(login(i)).rejects.toBe(answers[i]);
    const text = await registry.metrics();
    for (const outcome of ['success', 'failure', 'refused', 'invalid', 'error']) {
      expect(text).toContain(`usergraph_identity_logins_total{outcome="${outcome}"} 1`);
    }
  });
});
