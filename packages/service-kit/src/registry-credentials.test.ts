import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { principalOf, READER, registryKeyFor, registryTokenFrom, subgraphPrincipal } from './registry-credentials.js';

const SECRET = 'registry-secret-for-tests-0123456789abcdef';

describe('registry credentials', () => {
  it("a team's key proves its own principal, and only with the registry's secret", async () => {
    const key = registryKeyFor(SECRET, subgraphPrincipal('loyalty'));
    expect(key.startsWith('subgraph:loyalty.')).toBe(true);
    const token = await registryTokenFrom(key);
    expect(await principalOf(SECRET, token)).toBe('subgraph:loyalty');
    expect(await principalOf(`${SECRET}-other`, token)).toBeUndefined();
  });

  it("a team's key cannot speak for another subgraph or the reader: the key is derived from the claimed principal", async () => {
    const loyaltyKey = registryKeyFor(SECRET, subgraphPrincipal('loyalty'));
    const hmac = loyaltyKey.slice(loyaltyKey.lastIndexOf('.') + 1);
    for (const claimed of [subgraphPrincipal('identity'), READER]) {
      expect(await principalOf(SECRET, await registryTokenFrom(`${claimed}.${hmac}`))).toBeUndefined();
    }
  });

  it('refuses a token whose principal is not one (no claim, odd names, a plain internal-command audience)', async () => {
    const hmacKey = new TextEncoder().encode(registryKeyFor(SECRET, READER).split('.')[1]);
    const noClaim = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'internal-command' })
      .setIssuer('usergraph-internal')
      .setAudience('usergraph-internal:registry')
      .setExpirationTime('60s')
      .sign(hmacKey);
    expect(await principalOf(SECRET, noClaim)).toBeUndefined();
    expect(await principalOf(SECRET, 'not-a-jwt')).toBeUndefined();
    expect(() => registryKeyFor(SECRET, 'admin')).toThrow();
    expect(() => registryKeyFor(SECRET, 'subgraph:Bad_Name')).toThrow();
    await expect(registryTokenFrom('no-dot-here')).rejects.toThrow(/REGISTRY_KEY/);
  });
});
