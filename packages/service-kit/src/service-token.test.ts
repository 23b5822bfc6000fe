import { describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT } from 'jose';
import { audienceFor, createServiceTokenCache, signServiceToken, verifyServiceToken } from './service-token.js';

const SECRET = 'a-internal-service-secret-of-32-chars!';

describe('service tokens', () => {
  it('verify for the named service, with the caller and extra claims', async () => {
    const token = await signServiceToken(SECRET, 'gateway', 'org-users', { ip: '203.0.113.9' });
    const claims = await verifyServiceToken(SECRET, 'org-users', token);
    expect(claims).toMatchObject({ from: 'gateway', ip: '203.0.113.9', aud: audienceFor('org-users'), iss: 'usergraph-internal' });
    expect((claims!.exp as number) - (claims!.iat as number)).toBe(60);
  });

  it('are useless at another service', async () => {
    const token = await signServiceToken(SECRET, 'identity', 'org-users');
    expect(await verifyServiceToken(SECRET, 'licensing', token)).toBeUndefined();
  });

  it('are rejected under another secret', async () => {
    const token = await signServiceToken(SECRET, 'identity', 'org-users');
    expect(await verifyServiceToken(`${SECRET}-rotated`, 'org-users', token)).toBeUndefined();
  });

  it('reject expired tokens, tokens without "from", other issuers and EdDSA tokens', async () => {
    const key = new TextEncoder().encode(SECRET);
    const now = Math.floor(Date.now() / 1000);
    const base = () => new SignJWT({ from: 'x' }).setProtectedHeader({ alg: 'HS256' }).setAudience(audienceFor('org-users'));
    const expired = await base().setIssuer('usergraph-internal').setIssuedAt(now - 120).setExpirationTime(now - 60).sign(key);
    const otherIssuer = await base().setIssuer('usergraph').setIssuedAt().setExpirationTime('1m').sign(key);
    const noFrom = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('usergraph-internal')
      .setAudience(audienceFor('org-users'))
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(key);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const eddsa = await new SignJWT({ from: 'x' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('usergraph-internal')
      .setAudience(audienceFor('org-users'))
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    for (const token of [expired, otherIssuer, noFrom, eddsa, 'garbage', '']) {
      expect(await verifyServiceToken(SECRET, 'org-users', token)).toBeUndefined();
    }
  });

  it('the cache reuses one token per target', async () => {
    const tokenFor = createServiceTokenCache(SECRET, 'identity');
    const a = await tokenFor('org-users');
    expect(await tokenFor('org-users')).toBe(a);
    const b = await tokenFor('licensing');
    expect(b).not.toBe(a);
    expect(await verifyServiceToken(SECRET, 'licensing', b)).toMatchObject({ from: 'identity' });
  });
});
