import { SignJWT, jwtVerify } from 'jose';

/**
 * Service credentials: short-lived HS256 tokens signed with the shared
 * INTERNAL_SERVICE_SECRET. Their audience names the target service, so a token
 * for one service is useless at another, and a client's EdDSA access token can
 * never pass as one. Each kind has its own `typ` header and audience, checked
 * strictly: the gateway's client-IP assertion, which it sends with every
 * client request, is never an internal-command credential, nor the reverse.
 */
const ISSUER = 'usergraph-internal';
const LIFETIME_SECONDS = 60;

export type ServiceCredentialKind = 'internal-command' | 'gateway-assertion';

const AUDIENCE_PREFIX: Record<ServiceCredentialKind, string> = {
  'internal-command': 'usergraph-internal',
  'gateway-assertion': 'usergraph-gateway-assertion',
};

export interface ServiceTokenClaims {
  /** The calling service. */
  from: string;
  /** Extra signed facts, such as the client IP the gateway saw. */
  [key: string]: unknown;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export function audienceFor(service: string, kind: ServiceCredentialKind = 'internal-command'): string {
  return `${AUDIENCE_PREFIX[kind]}:${service}`;
}

export async function signServiceToken(
  secret: string,
  from: string,
  to: string,
  extra: Record<string, unknown> = {},
  kind: ServiceCredentialKind = 'internal-command',
): Promise<string> {
  return new SignJWT({ ...extra, from })
    .setProtectedHeader({ alg: 'HS256', typ: kind })
    .setIssuer(ISSUER)
    .setAudience(audienceFor(to, kind))
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(keyOf(secret));
}

/** Returns the claims, or undefined for any token that is not a valid service credential of this kind for `service`. */
export async function verifyServiceToken(
  secret: string,
  service: string,
  token: string,
  kind: ServiceCredentialKind = 'internal-command',
): Promise<ServiceTokenClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      issuer: ISSUER,
      audience: audienceFor(service, kind),
      algorithms: ['HS256'],
      typ: kind,
    });
    if (typeof payload.from !== 'string') return undefined;
    return payload as ServiceTokenClaims;
  } catch {
    return undefined;
  }
}

/** Most entries a token cache keeps: bounds memory whatever the number of client IPs. */
const MAX_CACHED_TOKENS = 10_000;

/** Drops the oldest entry (Maps keep insertion order) once the cache is full. */
function boundedSet<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/**
 * Caches one signed token per target (and extra claims, such as the client IP)
 * for most of its lifetime: signing on every call is waste. A token is renewed
 * 15 s before it expires, so one in flight never arrives expired.
 */
export function createServiceTokenCache(secret: string, from: string, kind: ServiceCredentialKind = 'internal-command') {
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (to: string, extra?: Record<string, string>): Promise<string> => {
    const key = extra ? `${to}\n${JSON.stringify(extra)}` : to;
    const hit = cache.get(key);
    if (hit && hit.renewAt > Date.now()) return hit.token;
    const token = await signServiceToken(secret, from, to, extra, kind);
    boundedSet(cache, key, { token, renewAt: Date.now() + (LIFETIME_SECONDS - 15) * 1000 });
    return token;
  };
}

/**
 * verifyServiceToken for one service, remembering the tokens it accepted until
 * they expire: callers reuse a token for most of its life (see the cache above),
 * and only the exact same string hits. Rejections are never remembered.
 */
export function createServiceTokenVerifier(secret: string, service: string, kind: ServiceCredentialKind = 'internal-command') {
  const accepted = new Map<string, ServiceTokenClaims>();
  return async (token: string): Promise<ServiceTokenClaims | undefined> => {
    const hit = accepted.get(token);
    if (hit) {
      if ((hit.exp as number) * 1000 > Date.now()) return hit;
      accepted.delete(token);
    }
    const claims = await verifyServiceToken(secret, service, token, kind);
    if (claims && typeof claims.exp === 'number') boundedSet(accepted, token, Object.freeze(claims));
    return claims;
  };
}
