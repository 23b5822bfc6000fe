import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName, type EmbeddedStore } from '@usergraph/mongo/testing';
import { DomainError } from '@usergraph/service-kit';
import { createRateLimiterFactory, type LimiterEvents } from './rate-limits.js';
import { createAccountLimits } from './account-limits.js';

/** What the limiters tell the metrics, recorded in order. */
function recordEvents() {
  const seen = { declared: [] as string[], refused: [] as string[], lockedOut: [] as string[] };
  const events: LimiterEvents = {
    declared: (name, locksOut) => seen.declared.push(locksOut ? `${name} locks out` : name),
    refused: (name) => seen.refused.push(name),
    lockedOut: (name) => seen.lockedOut.push(name),
  };
  return { events, seen };
}

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

  /** rate-limiter-flexible's documents: one per key, the key as `_id`, removed after `expire`. */
  const rateLimits = () => conn.collection<{ _id: string; points: number; expire: Date }>('rate_limits');

  const outcome = (p: Promise<void>) =>
    p.then(
      () => 'ok',
      (err: unknown) =>
        err instanceof DomainError && err.code === 'RATE_LIMITED' ? `limited ${String(err.extensions.retryAfterSeconds)}` : 'error',
    );

  it('of 12 concurrent consumes against 5 points exactly 5 pass, by _id only (no scan), and the rest say when to retry', async () => {
    const { events, seen } = recordEvents();
    const limiter = createRateLimiterFactory(conn, events).limiter('burst', {
      points: 5,
      windowSeconds: 60,
      blockSeconds: 120,
    });
    const recorder = recordFilters(conn, ['rate_limits']);
    const results = await Promise.all(Array.from({ length: 12 }, () => outcome(limiter.consume('k', 'too many'))));
    recorder.stop();
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    const limited = results.filter((r) => r.startsWith('limited '));
    expect(limited).toHaveLength(7);
    // Each refusal is counted once, by limiter name (usergraph_identity_rate_limit_refusals_total),
    // and the lockout once, when it begins (usergraph_identity_lockouts_total), however many consumes raced.
    expect(seen.declared).toEqual(['burst locks out']);
    expect(seen.refused).toEqual(Array(7).fill('burst'));
    expect(seen.lockedOut).toEqual(['burst']);
    for (const r of limited) expect(Number(r.split(' ')[1])).toBeGreaterThanOrEqual(59);
    expect(recorder.scans()).toEqual([]);
    // One document per key: the key is the _id.
    expect(await rateLimits().countDocuments({ _id: 'burst:k' })).toBe(1);
  });

  it('a new window starts after the old one expires (one document, replaced), and reset forgets a key', async () => {
    const { events, seen } = recordEvents();
    const limiter = createRateLimiterFactory(conn, events).limiter('short', { points: 1, windowSeconds: 1 });
    expect(await outcome(limiter.consume('k', 'too many'))).toBe('ok');
    expect(await outcome(limiter.consume('k', 'too many'))).toMatch(/^limited 1$/);
    // The window's own expiry, read from the store: wait until it has passed.
    const doc = await rateLimits().findOne({ _id: 'short:k' });
    await new Promise((r) => setTimeout(r, Math.max(0, doc!.expire.getTime() - Date.now() + 20)));
    expect(await outcome(limiter.consume('k', 'too many'))).toBe('ok');
    expect(await rateLimits().countDocuments({ _id: 'short:k' })).toBe(1);
    await limiter.reset('k');
    expect(await outcome(limiter.consume('k', 'too many'))).toBe('ok');
    // A limit without blockSeconds refuses, and never locks out.
    expect(seen.refused).toEqual(['short']);
    expect(seen.lockedOut).toEqual([]);
  });
});

describe('login attempts: the client IP is reserved first', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('login_limits'), appName: 'identity-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it("review: an IP that is locked out spends none of a victim account's budget", async () => {
    const { events, seen } = recordEvents();
    const limits = createAccountLimits(createRateLimiterFactory(conn, events), {
      perIp: 100,
      perAccount: 100,
      windowSeconds: 60,
      loginFailuresPerAccount: 3,
      loginFailuresPerIp: 2,
      loginWindowSeconds: 60,
      loginLockoutSeconds: 60,
      codesPerAccountPerHour: 5,
      codesPerIpPerHour: 5,
      codeFailuresPerAccount: 5,
      codeLockoutSeconds: 60,
    });
    // The attacker's IP spends its two attempts on other accounts, then keeps trying the victim.
    await limits.reserveLogin('203.0.113.9', 'org:user:other-1');
    await limits.reserveLogin('203.0.113.9', 'org:user:other-2');
    for (let i = 0; i < 5; i++)
      await expect(limits.reserveLogin('203.0.113.9', 'org:user:victim')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // The victim's account still has all three attempts (tried here from fresh addresses), and no more.
    for (let i = 1; i <= 3; i++) await limits.reserveLogin(`198.51.100.${i}`, 'org:user:victim');
    await expect(limits.reserveLogin('198.51.100.4', 'org:user:victim')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // Two lockouts began: the attacker's IP (on its third attempt), then the victim's account (on its fourth).
    expect(seen.lockedOut).toEqual(['login-ip', 'login-account']);
    expect(seen.refused.filter((l) => l === 'login-ip')).toHaveLength(5);
  });

  it("review: a lockout is named by the limiter's own block, the same for all its refusals: one lockout, one name; two lockouts, two", async () => {
    const limits = createAccountLimits(createRateLimiterFactory(conn), {
      perIp: 100,
      perAccount: 100,
      windowSeconds: 60,
      loginFailuresPerAccount: 2,
      loginFailuresPerIp: 100,
      loginWindowSeconds: 60,
      loginLockoutSeconds: 1,
      codesPerAccountPerHour: 5,
      codesPerIpPerHour: 5,
      codeFailuresPerAccount: 5,
      codeLockoutSeconds: 60,
    });
    /** Two attempts pass, then `refusals` are refused: the lockout names each refusal reported. */
    const lockout = async (refusals: number) => {
      const names: number[] = [];
      const onLocked = async ({ until }: { until: Date }) => void names.push(until.getTime());
      for (let i = 0; i < 2; i++) await limits.reserveLogin('192.0.2.1', 'org:user:locked', onLocked);
      for (let i = 0; i < refusals; i++)
        await expect(limits.reserveLogin('192.0.2.1', 'org:user:locked', onLocked)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      return names;
    };
    const first = await lockout(4);
    expect(first).toHaveLength(4);
    expect(new Set(first).size).toBe(1);
    // The first lockout's end, then a second lockout: another name.
    await new Promise((r) => setTimeout(r, Math.max(0, first[0]! - Date.now() + 50)));
    const second = await lockout(3);
    expect(new Set(second).size).toBe(1);
    expect(second[0]).toBeGreaterThan(first[0]!);
  });
});
