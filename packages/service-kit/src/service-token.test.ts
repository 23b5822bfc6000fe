import { describe, expect, it, vi } from 'vitest';
import { generateKeyPair, SignJWT } from 'jose';
import {
  audienceFor,
  CREDENTIAL_HOLDERS,
  createServiceTokenCache,
  createServiceTokenVerifier,
  serviceKeyFor,
  signServiceToken,
  verifyServiceCredential,
  verifyServiceToken,
} from './service-token.js';

const SECRET = 'a-internal-service-secret-of-32-chars!';

describe('service tokens', () => {
  it('verify for the named service, with the caller and extra claims', async () => {
    const token = await signServiceToken(SECRET, 'gateway', 'org-users', { ip: '203.0.113.9' });
    const claims = await verifyServiceToken(SECRET, 'org-users', token);
    expect(claims).toMatchObject({ from: 'gateway', ip: '203.0.113.9', aud: audienceFor('org-users'), iss: 'usergraph-internal' });
    expect((claims!.exp as number) - (claims!.iat as number)).toBe(60);
  });

  it('finding 8a: each kind has its own typ and audience: a gateway assertion is no command credential, nor the reverse', async () => {
    const assertion = await signServiceToken(SECRET, 'gateway', 'org-users', { ip: '203.0.113.9' }, 'gateway-assertion');
    const command = await signServiceToken(SECRET, 'gateway', 'org-users', { ip: '203.0.113.9' });
    expect(await verifyServiceToken(SECRET, 'org-users', assertion, 'gateway-assertion')).toMatchObject({
      from: 'gateway',
      ip: '203.0.113.9',
    });
    expect(await verifyServiceToken(SECRET, 'org-users', assertion)).toBeUndefined();
    expect(await verifyServiceToken(SECRET, 'org-users', command, 'gateway-assertion')).toBeUndefined();
    const key = new TextEncoder().encode(SECRET);
    const forged = (typ: string | undefined, aud: string) =>
      new SignJWT({ from: 'gateway' })
        .setProtectedHeader({ alg: 'HS256', ...(typ ? { typ } : {}) })
        .setIssuer('usergraph-internal')
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(key);
    // The right audience is not enough without the right typ, nor the reverse.
    expect(await verifyServiceToken(SECRET, 'org-users', await forged(undefined, audienceFor('org-users')))).toBeUndefined();
    expect(await verifyServiceToken(SECRET, 'org-users', await forged('gateway-assertion', audienceFor('org-users')))).toBeUndefined();
    expect(
      await verifyServiceToken(SECRET, 'org-users', await forged('internal-command', audienceFor('org-users', 'gateway-assertion'))),
    ).toBeUndefined();
    expect(await verifyServiceToken(SECRET, 'org-users', await forged('internal-command', audienceFor('org-users')))).toMatchObject({
      from: 'gateway',
    });
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
    const base = () =>
      new SignJWT({ from: 'x' }).setProtectedHeader({ alg: 'HS256', typ: 'internal-command' }).setAudience(audienceFor('org-users'));
    const expired = await base()
      .setIssuer('usergraph-internal')
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(key);
    const otherIssuer = await base().setIssuer('usergraph').setIssuedAt().setExpirationTime('1m').sign(key);
    const noFrom = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'internal-command' })
      .setIssuer('usergraph-internal')
      .setAudience(audienceFor('org-users'))
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(key);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const eddsa = await new SignJWT({ from: 'x' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'internal-command' })
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

  it('the cache keeps one token per target and extra claims (the client IP)', async () => {
    const tokenFor = createServiceTokenCache(SECRET, 'gateway');
    const a = await tokenFor('org-users', { ip: '203.0.113.9' });
    expect(await tokenFor('org-users', { ip: '203.0.113.9' })).toBe(a);
    const b = await tokenFor('org-users', { ip: '198.51.100.7' });
    expect(b).not.toBe(a);
    expect(await tokenFor('org-users')).not.toBe(a);
    expect(await verifyServiceToken(SECRET, 'org-users', a)).toMatchObject({ from: 'gateway', ip: '203.0.113.9' });
    expect(await verifyServiceToken(SECRET, 'org-users', b)).toMatchObject({ from: 'gateway', ip: '198.51.100.7' });
  });

  it('the cache signs a new token before the old one expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const tokenFor = createServiceTokenCache(SECRET, 'gateway');
      const a = await tokenFor('org-users', { ip: '203.0.113.9' });
      vi.setSystemTime(Date.now() + 44_000);
      expect(await tokenFor('org-users', { ip: '203.0.113.9' })).toBe(a);
      vi.setSystemTime(Date.now() + 2_000);
      const b = await tokenFor('org-users', { ip: '203.0.113.9' });
      expect(b).not.toBe(a);
      expect(await verifyServiceToken(SECRET, 'org-users', b)).toMatchObject({ ip: '203.0.113.9' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('the remembering verifier accepts what verifyServiceCredential accepts, and nothing else', async () => {
    const verify = createServiceTokenVerifier(SECRET, 'org-users');
    const gatewayKey = serviceKeyFor(SECRET, 'gateway');
    const token = await signServiceToken(gatewayKey, 'gateway', 'org-users', { ip: '203.0.113.9' });
    expect(await verify(token)).toMatchObject({ from: 'gateway', ip: '203.0.113.9' });
    expect(await verify(token)).toMatchObject({ from: 'gateway', ip: '203.0.113.9' });
    expect(await verify(await signServiceToken(gatewayKey, 'gateway', 'licensing', { ip: '1.2.3.4' }))).toBeUndefined();
    expect(
      await verify(await signServiceToken(serviceKeyFor(`${SECRET}-other`, 'gateway'), 'gateway', 'org-users', { ip: '1.2.3.4' })),
    ).toBeUndefined();
    // Signed with the root itself: no service signs with it, so nothing verifies it.
    expect(await verify(await signServiceToken(SECRET, 'gateway', 'org-users', { ip: '1.2.3.4' }))).toBeUndefined();
    // A remembered token with one claim changed is another string, checked afresh.
    const [h, p, sig] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, ip: '10.0.0.1' })).toString('base64url')}.${sig}`;
    expect(await verify(forged)).toBeUndefined();
  });

  it('the remembering verifier refuses a remembered token once it has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const verify = createServiceTokenVerifier(SECRET, 'org-users');
      const token = await signServiceToken(serviceKeyFor(SECRET, 'gateway'), 'gateway', 'org-users', { ip: '203.0.113.9' });
      expect(await verify(token)).toBeDefined();
      vi.setSystemTime(Date.now() + 61_000);
      expect(await verify(token)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('per-service keys derived from the root secret (issue 16: the gateway cannot speak for another service)', () => {
  it('derive one distinct key per service, stable for a root, another under another root, and none for an unknown name', () => {
    const keys = CREDENTIAL_HOLDERS.map((s) => serviceKeyFor(SECRET, s));
    expect(new Set(keys).size).toBe(CREDENTIAL_HOLDERS.length);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(key).not.toContain(SECRET);
    }
    expect(serviceKeyFor(SECRET, 'gateway')).toBe(keys[0]);
    expect(serviceKeyFor(`${SECRET}-rotated`, 'gateway')).not.toBe(keys[0]);
    expect(() => serviceKeyFor(SECRET, 'attacker' as 'gateway')).toThrow(/not a service/);
  });

  it("verify a credential with the key of the caller it names: each service's own token passes, for its own name only", async () => {
    for (const from of CREDENTIAL_HOLDERS) {
      const token = await signServiceToken(serviceKeyFor(SECRET, from), from, 'org-users');
      expect(await verifyServiceCredential(SECRET, 'org-users', token)).toMatchObject({ from });
    }
  });

  it('attack: with only the gateway key, a token that claims identity, org-users, licensing or the CLI is refused', async () => {
    const gatewayKey = serviceKeyFor(SECRET, 'gateway');
    for (const claimed of ['identity', 'org-users', 'licensing', 'cli']) {
      const forged = await signServiceToken(gatewayKey, claimed, 'org-users');
      expect(await verifyServiceCredential(SECRET, 'org-users', forged), claimed).toBeUndefined();
    }
    // The gateway's own token still passes.
    expect(await verifyServiceCredential(SECRET, 'org-users', await signServiceToken(gatewayKey, 'gateway', 'org-users'))).toMatchObject({
      from: 'gateway',
    });
  });

  it('attack: a token naming a caller that holds no key, or signed with the root, or with no caller, is refused', async () => {
    const gatewayKey = serviceKeyFor(SECRET, 'gateway');
    for (const token of [
      await signServiceToken(gatewayKey, 'registry', 'org-users'),
      await signServiceToken(gatewayKey, '__proto__', 'org-users'),
      await signServiceToken(SECRET, 'identity', 'org-users'),
      'not.a.jwt',
      '',
    ])
      expect(await verifyServiceCredential(SECRET, 'org-users', token)).toBeUndefined();
  });

  it("a gateway assertion is only ever the gateway's: another service's key cannot assert a client IP", async () => {
    const fromGateway = await signServiceToken(
      serviceKeyFor(SECRET, 'gateway'),
      'gateway',
      'identity',
      { ip: '203.0.113.9' },
      'gateway-assertion',
    );
    expect(await verifyServiceCredential(SECRET, 'identity', fromGateway, 'gateway-assertion')).toMatchObject({ ip: '203.0.113.9' });
    const fromLicensing = await signServiceToken(
      serviceKeyFor(SECRET, 'licensing'),
      'licensing',
      'identity',
      { ip: '203.0.113.9' },
      'gateway-assertion',
    );
    expect(await verifyServiceCredential(SECRET, 'identity', fromLicensing, 'gateway-assertion')).toBeUndefined();
    // Nor is the assertion an internal-command credential (its typ and audience differ).
    expect(await verifyServiceCredential(SECRET, 'identity', fromGateway)).toBeUndefined();
  });
});
