import { hkdfSync } from 'node:crypto';
import { SignJWT, decodeJwt, jwtVerify } from 'jose';
import type { ServiceName } from '@usergraph/contracts';

/**
 * Service credentials: short-lived HS256 tokens. Each calling service signs
 * with its own key, derived from the root INTERNAL_SERVICE_SECRET
 * (serviceKeyFor); a verifier derives the key of the caller the token claims
 * (`from`), so a token that lies about its caller fails. The gateway, which
 * parses anonymous internet input, holds only its own key (GATEWAY_SERVICE_KEY),
 * never the root: it cannot speak as identity, org-users, licensing or the CLI.
 * Their audience names the target service, so a token for one service is
 * useless at another, and a client's EdDSA access token can never pass as one.
 * Each kind has its own `typ` header and audience, checked strictly: the
 * gateway's client-IP assertion, which it sends with every client request, is
 * never an internal-command credential, nor the reverse.
 */
const ISSUER = 'usergraph-internal';
const LIFETIME_SECONDS = 60;

/** Every service that signs service credentials: a token claiming any other caller is refused before any key is derived. */
export const CREDENTIAL_HOLDERS = ['gateway', 'identity', 'org-users', 'licensing', 'cli'] as const satisfies readonly ServiceName[];
export type CredentialHolder = (typeof CREDENTIAL_HOLDERS)[number];
const isCredentialHolder = (from: unknown): from is CredentialHolder => CREDENTIAL_HOLDERS.includes(from as CredentialHolder);

/**
 * One service's signing key: HKDF-SHA256 of the root INTERNAL_SERVICE_SECRET,
 * with an info naming the purpose and the service, so holding one service's
 * key reveals neither the root nor any other service's key.
 * Printed for the gateway by `usergraph service-key --gateway`.
 */
export function serviceKeyFor(rootSecret: string, service: CredentialHolder): string {
  if (!isCredentialHolder(service)) throw new Error(`not a service that holds a credential: ${String(service)}`);
  return Buffer.from(hkdfSync('sha256', rootSecret, '', `usergraph/service-credential/v1/${service}`, 32)).toString('base64url');
}

/** serviceKeyFor, remembered per root and service (HKDF is ~30 µs; the holders are five). */
const derivedKeys = new Map<string, string>();
function cachedKeyFor(rootSecret: string, service: CredentialHolder): string {
  const id = `${service}\n${rootSecret}`;
  let key = derivedKeys.get(id);
  if (key === undefined) {
    // A rotated root leaves old entries behind: at most five per root a process ever saw.
    key = serviceKeyFor(rootSecret, service);
    derivedKeys.set(id, key);
  }
  return key;
}

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

/** Signs with `secret`: a service's own key (serviceKeyFor), or a registry principal's. */
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

/**
 * Verifies with one known key (the registry's per-principal keys use it too).
 * Returns the claims, or undefined for any token that is not a valid service
 * credential of this kind for `service`.
 */
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

/**
 * Verifies a credential signed with the key of the caller it claims (`from`),
 * derived from the root secret: a token signed with any other service's key,
 * or naming a caller that holds no key, is refused (undefined). A gateway
 * assertion is only ever the gateway's.
 */
export async function verifyServiceCredential(
  rootSecret: string,
  service: string,
  token: string,
  kind: ServiceCredentialKind = 'internal-command',
): Promise<ServiceTokenClaims | undefined> {
  let claimed: unknown;
  try {
    claimed = decodeJwt(token).from;
  } catch {
    return undefined;
  }
  if (!isCredentialHolder(claimed) || (kind === 'gateway-assertion' && claimed !== 'gateway')) return undefined;
  const claims = await verifyServiceToken(cachedKeyFor(rootSecret, claimed), service, token, kind);
  return claims?.from === claimed ? claims : undefined;
}

/** Most entries a token cache keeps: bounds memory whatever the number of client IPs. */
const MAX_CACHED_TOKENS = 10_000;

/** Drops the oldest entry (Maps keep insertion order) once the cache is full. */
function boundedSet<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/**
 * Signs as `from` with its own key (serviceKeyFor). Caches one signed token per
 * target (and extra claims, such as the client IP) for most of its lifetime:
 * signing on every call is waste. A token is renewed
 * 15 s before it expires, so one in flight never arrives expired.
 */
export function createServiceTokenCache(key: string, from: string, kind: ServiceCredentialKind = 'internal-command') {
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (to: string, extra?: Record<string, string>): Promise<string> => {
    const entry = extra ? `${to}\n${JSON.stringify(extra)}` : to;
    const hit = cache.get(entry);
    if (hit && hit.renewAt > Date.now()) return hit.token;
    const token = await signServiceToken(key, from, to, extra, kind);
    boundedSet(cache, entry, { token, renewAt: Date.now() + (LIFETIME_SECONDS - 15) * 1000 });
    return token;
  };
}

/**
 * verifyServiceCredential for one service, remembering the tokens it accepted until
 * they expire: callers reuse a token for most of its life (see the cache above),
 * and only the exact same string hits. Rejections are never remembered.
 */
export function createServiceTokenVerifier(rootSecret: string, service: string, kind: ServiceCredentialKind = 'internal-command') {
  const accepted = new Map<string, ServiceTokenClaims>();
  return async (token: string): Promise<ServiceTokenClaims | undefined> => {
    const hit = accepted.get(token);
    if (hit) {
      if ((hit.exp as number) * 1000 > Date.now()) return hit;
      accepted.delete(token);
    }
    const claims = await verifyServiceCredential(rootSecret, service, token, kind);
    if (claims && typeof claims.exp === 'number') boundedSet(accepted, token, Object.freeze(claims));
    return claims;
  };
}
