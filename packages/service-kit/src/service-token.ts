import { SignJWT, jwtVerify } from 'jose';

/**
 * Service credentials: short-lived HS256 tokens signed with the shared
 * INTERNAL_SERVICE_SECRET. Their audience names the target service, so a token
 * for one service is useless at another, and a client's EdDSA access token can
 * never pass as one.
 */
const ISSUER = 'usergraph-internal';
const LIFETIME_SECONDS = 60;

export interface ServiceTokenClaims {
  /** The calling service. */
  from: string;
  /** Extra signed facts, such as the client IP the gateway saw. */
  [key: string]: unknown;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export function audienceFor(service: string): string {
  return `usergraph-internal:${service}`;
}

export async function signServiceToken(
  secret: string,
  from: string,
  to: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ ...extra, from })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(audienceFor(to))
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(keyOf(secret));
}

/** Returns the claims, or undefined for any token that is not a valid service credential for `service`. */
export async function verifyServiceToken(
  secret: string,
  service: string,
  token: string,
): Promise<ServiceTokenClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      issuer: ISSUER,
      audience: audienceFor(service),
      algorithms: ['HS256'],
    });
    if (typeof payload.from !== 'string') return undefined;
    return payload as ServiceTokenClaims;
  } catch {
    return undefined;
  }
}

/** Caches one signed token per target for most of its lifetime: signing on every call is waste. */
export function createServiceTokenCache(secret: string, from: string) {
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (to: string): Promise<string> => {
    const hit = cache.get(to);
    if (hit && hit.renewAt > Date.now()) return hit.token;
    const token = await signServiceToken(secret, from, to);
    cache.set(to, { token, renewAt: Date.now() + (LIFETIME_SECONDS - 15) * 1000 });
    return token;
  };
}
