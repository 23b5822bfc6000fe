import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import {
  authenticate,
  bearerToken,
  callerFromClaims,
  createAccessTokenVerifier,
  requireAuthenticated,
  type AccessTokenVerifier,
} from './auth.js';
import { DomainError } from './errors.js';
import { startTestIssuer, type TestIssuer } from './testing.js';

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

describe('bearerToken', () => {
  it('is undefined without a header', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
  });

  it('extracts the token, case-insensitively and trimmed', () => {
    expect(bearerToken('Bearer abc.def-_.ghi')).toBe('abc.def-_.ghi');
    expect(bearerToken('bearer  abc==')).toBe('abc==');
    expect(bearerToken('  Bearer xyz  ')).toBe('xyz');
  });

  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', 'Token abc', 'abc.def.ghi'])(
    'rejects the malformed header %j as UNAUTHENTICATED',
    (header) => {
      let err: unknown;
      try {
        bearerToken(header);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('UNAUTHENTICATED');
    },
  );
});

describe('createAccessTokenVerifier', () => {
  let issuer: TestIssuer;
  let verifier: AccessTokenVerifier;
  beforeAll(async () => {
    issuer = await startTestIssuer();
    verifier = createAccessTokenVerifier({ jwksUrl: issuer.jwksUrl, issuer: 'usergraph', audience: 'usergraph' });
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it('accepts a valid EdDSA user token and returns its claims', async () => {
    const claims = await verifier.verify(await issuer.sign({ sub: 'u-42', org: 'org-7', sid: 's-9' }));
    expect(claims).toMatchObject({ sub: 'u-42', org: 'org-7', typ: 'user', sid: 's-9', iss: 'usergraph', aud: 'usergraph' });
    expect(callerFromClaims(claims)).toEqual({ kind: 'user', userId: 'u-42', organizationId: 'org-7', sessionId: 's-9' });
  });

  it('accepts an application token and reads its scope as permissions', async () => {
    const claims = await verifier.verify(
      await issuer.sign({ typ: 'application', sub: 'app_1', org: 'org-7', scope: 'organization-users:read licenses:write' }),
    );
    const caller = callerFromClaims(claims);
    expect(caller.kind).toBe('application');
    if (caller.kind !== 'application') return;
    expect(caller.clientId).toBe('app_1');
    expect([...caller.permissions].sort()).toEqual(['licenses:write', 'organization-users:read']);
  });

  it('rejects an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const err = await rejection(verifier.verify(await issuer.sign({ iat: now - 600, exp: now - 300 })));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Access token expired');
  });

  it('rejects a wrong issuer', async () => {
    expect((await rejection(verifier.verify(await issuer.sign({ issuer: 'evil' })))).code).toBe('UNAUTHENTICATED');
  });

  it('rejects a wrong audience', async () => {
    expect((await rejection(verifier.verify(await issuer.sign({ audience: 'other-api' })))).code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token signed by an unknown key (unknown kid)', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const err = await rejection(verifier.verify(await issuer.sign({ key: privateKey, kid: 'not-published' })));
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token signed by another key under the published kid', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    expect((await rejection(verifier.verify(await issuer.sign({ key: privateKey })))).code).toBe('UNAUTHENTICATED');
  });

  it('rejects an unsigned token (alg: none)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: issuer.kid }));
    const payload = base64url.encode(
      JSON.stringify({ sub: 'u', org: 'o', typ: 'user', sid: 's', iss: 'usergraph', aud: 'usergraph', iat: now, exp: now + 300 }),
    );
    expect((await rejection(verifier.verify(`${header}.${payload}.`))).code).toBe('UNAUTHENTICATED');
  });

  it('rejects an HS256 token (algorithm confusion)', async () => {
    const token = await new SignJWT({ org: 'o', typ: 'user', sid: 's' })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
      .setSubject('u')
      .setIssuer('usergraph')
      .setAudience('usergraph')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-an-attacker-guessed'));
    expect((await rejection(verifier.verify(token))).code).toBe('UNAUTHENTICATED');
  });

  it('rejects tokens missing required claims', async () => {
    for (const omit of [['org'], ['sub'], ['exp'], ['iat'], ['typ']]) {
      expect((await rejection(verifier.verify(await issuer.sign({ omit })))).code).toBe('UNAUTHENTICATED');
    }
  });

  it('rejects a user token without a session id', async () => {
    expect((await rejection(verifier.verify(await issuer.sign({ omit: ['sid'] })))).code).toBe('UNAUTHENTICATED');
  });

  it('rejects garbage', async () => {
    for (const token of ['a.b.c', 'not-a-jwt', 'eyJhbGciOiJFZERTQSJ9.e30.AAAA']) {
      expect((await rejection(verifier.verify(token))).code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers SERVICE_UNAVAILABLE, not UNAUTHENTICATED, when the JWKS cannot be fetched', async () => {
    // A port that was just free: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = createAccessTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: 'usergraph', audience: 'usergraph' });
    const err = await rejection(down.verify(await issuer.sign()));
    expect(err.code).toBe('SERVICE_UNAVAILABLE');
    expect(err.reason).toBe('SERVICE_UNREACHABLE');
  });

  it('authenticate: no header is anonymous; a bad token is an error, never anonymous', async () => {
    expect(await authenticate(verifier, undefined)).toEqual({ kind: 'anonymous' });
    const caller = await authenticate(verifier, `Bearer ${await issuer.sign({ sub: 'u-1', org: 'org-1' })}`);
    expect(requireAuthenticated(caller)).toMatchObject({ kind: 'user', userId: 'u-1', organizationId: 'org-1' });
    expect((await rejection(authenticate(verifier, `Bearer ${await issuer.sign({ audience: 'x' })}`))).code).toBe('UNAUTHENTICATED');
    expect(() => requireAuthenticated({ kind: 'anonymous' })).toThrow(DomainError);
  });
});
