import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type EmbeddedStore } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { DomainError } from '@usergraph/service-kit';
import { createRateLimiterFactory } from './rate-limits.js';

describe('rate limits on the shared store (rate-limiter-flexible, keyed by _id)', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('limits'), appName: 'identity-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  const outcome = (p: Promise<void>) =>
    p.then(
      () => 'ok',
      (err: unknown) => (err instanceof DomainError && err.code === 'RATE_LIMITED' ? `limited ${String(err.extensions.retryAfterSeconds)}` : 'error'),
    );

  it('of 12 concurrent consumes against 5 points exactly 5 pass, by _id only (no scan), and the rest say when to retry', async () => {
    const limiter = createRateLimiterFactory(conn).limiter('burst', { points: 5, windowSeconds: 60, blockSeconds: 120 });
    const recorder = recordFilters(conn, ['rate_limits']);
    const results = await Promise.all(Array.from({ length: 12 }, () => outcome(limiter.consume('k', 'too many'))));
    recorder.stop();
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    const limited = results.filter((r) => r.startsWith('limited '));
    expect(limited).toHaveLength(7);
    for (const r of limited) expect(Number(r.split(' ')[1])).toBeGreaterThanOrEqual(59);
    expect(recorder.scans()).toEqual([]);
    // One document per key: the key is the _id.
    expect(await conn.collection('rate_limits').countDocuments({ _id: 'burst:k' as never })).toBe(1);
  });

  it('a new window starts after the old one expires (one document, replaced), and reset forgets a key', async () => {
    const limiter = createRateLimiterFactory(conn).limiter('short', { points: 1, windowSeconds: 1 });
    expect(await outcome(limiter.consume('k', 'too many'))).toBe('ok');
    expect(await outcome(limiter.consume('k', 'too many'))).toMatch(/^limited 1$/);
    // The window's own expiry, read from the store: wait until it has passed.
    const doc = await conn.collection('rate_limits').findOne({ _id: 'short:k' as never });
    await new Promise((r) => setTimeout(r, Math.max(0, (doc!.expire as Date).getTime() - Date.now() + 20)));
    expect(await outcome(limiter.consume('k', 'too many'))).toBe('ok');
    expect(await conn.collection('rate_limits').countDocuments({ _id: 'short:k' as never })).toBe(1);
    await limiter.reset('k');
    expect(await outcome(limiter.consume('k', 'too many'))).toBe('ok');
  });
});
