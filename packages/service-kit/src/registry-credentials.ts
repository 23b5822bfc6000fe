import { createHmac } from 'node:crypto';
import { decodeJwt } from 'jose';
import { signServiceToken, verifyServiceToken } from './service-token.js';

/**
 * Registry credentials. A principal is `subgraph:<name>` (a team: may publish
 * and roll back that subgraph only, check any, and read) or `reader` (the
 * gateways, read-only tools: may only read). Each principal's key is an HMAC of
 * REGISTRY_SECRET, so the registry stores no key and a team holding its own
 * key cannot derive another's. A key is handed out as `<principal>.<hmac>`
 * (REGISTRY_KEY); the client never sends it, only a 60 s HS256 service token
 * signed with it (the same tokens as service-kit's internal commands).
 */
export const READER = 'reader';
export const subgraphPrincipal = (subgraph: string) => `subgraph:${subgraph}`;

const PRINCIPAL = /^(reader|subgraph:[a-z][a-z0-9-]{0,39})$/;

function hmacOf(registrySecret: string, principal: string): string {
  return createHmac('sha256', registrySecret).update(`usergraph-registry:${principal}`).digest('base64url');
}

/** The key a principal is given (printed by `usergraph schema credential`). */
export function registryKeyFor(registrySecret: string, principal: string): string {
  if (!PRINCIPAL.test(principal)) throw new Error(`not a registry principal: ${principal}`);
  return `${principal}.${hmacOf(registrySecret, principal)}`;
}

/** A short-lived bearer token for one request, signed with a REGISTRY_KEY. */
export async function registryTokenFrom(registryKey: string): Promise<string> {
  const dot = registryKey.lastIndexOf('.');
  const principal = registryKey.slice(0, dot);
  if (dot < 0 || !PRINCIPAL.test(principal)) throw new Error('REGISTRY_KEY is not a registry key (expected <principal>.<key>)');
  return signServiceToken(registryKey.slice(dot + 1), principal, 'registry');
}

/** The verified principal of a bearer token, or undefined. */
export async function principalOf(registrySecret: string, token: string): Promise<string | undefined> {
  let claimed: unknown;
  try {
    claimed = decodeJwt(token).from;
  } catch {
    return undefined;
  }
  if (typeof claimed !== 'string' || !PRINCIPAL.test(claimed)) return undefined;
  // The key is derived from the claimed principal: a token signed with any other key fails here.
  const claims = await verifyServiceToken(hmacOf(registrySecret, claimed), 'registry', token);
  return claims?.from === claimed ? claimed : undefined;
}
