import type { AccessTokenClaims, AccessTokenVerifier } from '@usergraph/service-kit';

/**
 * Remembers the access tokens a verifier accepted, until each one expires.
 * A client sends the same token for its whole life (15 minutes), and an EdDSA
 * signature check on every request was the gateway's largest single cost.
 * Only the exact same token string hits; expiry is checked on every use;
 * rejections are never remembered. The subgraphs still verify every request.
 */
export function rememberVerifiedTokens(verifier: AccessTokenVerifier, maxEntries = 10_000): AccessTokenVerifier {
  const accepted = new Map<string, AccessTokenClaims>();
  return {
    async verify(token) {
      const hit = accepted.get(token);
      if (hit) {
        if (hit.exp! * 1000 > Date.now()) return hit;
        accepted.delete(token);
      }
      const claims = await verifier.verify(token);
      // The oldest entry goes first (Maps keep insertion order): memory stays bounded.
      if (accepted.size >= maxEntries) accepted.delete(accepted.keys().next().value!);
      accepted.set(token, Object.freeze(claims));
      return claims;
    },
  };
}
