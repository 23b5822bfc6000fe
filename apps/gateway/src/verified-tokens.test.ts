import { describe, expect, it, vi } from 'vitest';
import { unauthenticated, type AccessTokenClaims, type AccessTokenVerifier } from '@usergraph/service-kit';
import { rememberVerifiedTokens } from './verified-tokens.js';

const now = () => Math.floor(Date.now() / 1000);
const claimsFor = (token: string, exp = now() + 900): AccessTokenClaims => ({ sub: token, org: 'o1', typ: 'application', iat: now(), exp });

/** A verifier that accepts tokens starting with "good" and counts its calls. */
function fakeVerifier(exp?: () => number) {
  const verify = vi.fn(async (token: string) => {
    if (!token.startsWith('good')) throw unauthenticated('Invalid access token');
    return claimsFor(token, exp?.());
  });
  return { verify } satisfies AccessTokenVerifier;
}

describe('rememberVerifiedTokens', () => {
  it('verifies a token once, then answers from memory', async () => {
    const inner = fakeVerifier();
    const verifier = rememberVerifiedTokens(inner);
    const first = await verifier.verify('good-1');
    expect(await verifier.verify('good-1')).toEqual(first);
    expect(inner.verify).toHaveBeenCalledTimes(1);
    await verifier.verify('good-2');
    expect(inner.verify).toHaveBeenCalledTimes(2);
  });

  it('never remembers a rejection', async () => {
    const inner = fakeVerifier();
    const verifier = rememberVerifiedTokens(inner);
    await expect(verifier.verify('forged')).rejects.toThrow('Invalid access token');
    await expect(verifier.verify('forged')).rejects.toThrow('Invalid access token');
    expect(inner.verify).toHaveBeenCalledTimes(2);
  });

  it('verifies again once the token has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const inner = fakeVerifier(() => now() + 60);
      const verifier = rememberVerifiedTokens(inner);
      await verifier.verify('good-1');
      vi.setSystemTime(Date.now() + 61_000);
      inner.verify.mockRejectedValueOnce(unauthenticated('Access token expired'));
      await expect(verifier.verify('good-1')).rejects.toThrow('Access token expired');
      expect(inner.verify).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps at most maxEntries tokens, dropping the oldest', async () => {
    const inner = fakeVerifier();
    const verifier = rememberVerifiedTokens(inner, 2);
    for (const t of ['good-1', 'good-2', 'good-3']) await verifier.verify(t);
    await verifier.verify('good-3');
    expect(inner.verify).toHaveBeenCalledTimes(3);
    await verifier.verify('good-1');
    expect(inner.verify).toHaveBeenCalledTimes(4);
  });
});
