// SSRF guard of webhook endpoint URLs: checked when an endpoint is created and
// again before every delivery, where the connection is pinned to the address
// that was checked (a DNS answer that changes between the check and the
// connect, "DNS rebinding", reaches nothing new).
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface UrlPolicy {
  /** Loopback, private, link-local... addresses allowed (development and tests only). */
  allowPrivate: boolean;
  /** Plain http:// allowed (development and tests only). */
  allowHttp: boolean;
}

export const WEBHOOK_URL_MAX_LENGTH = 2_000;

/** Why a URL is refused; each maps to a message for people (URL_REFUSALS). */
export type UrlRefusal = 'malformed' | 'too-long' | 'scheme' | 'credentials' | 'unresolvable' | 'private-address';

export const URL_REFUSALS: Record<UrlRefusal, string> = {
  malformed: 'is not an absolute URL',
  'too-long': `is longer than ${WEBHOOK_URL_MAX_LENGTH} characters`,
  scheme: 'must use https://',
  credentials: 'must not hold a user name or password',
  // One answer for both: an ADMIN cannot tell an internal name that resolves from one that does not (no DNS probing).
  unresolvable: 'must resolve to public addresses only',
  'private-address': 'must resolve to public addresses only',
};

export interface ResolvedTarget {
  url: URL;
  /** The checked address the connection must use. */
  address: string;
  family: 4 | 6;
}

/**
 * Only public unicast addresses. ipaddr.js names every special range
 * (loopback, private, linkLocal, uniqueLocal, multicast, unspecified,
 * broadcast, carrierGradeNat, reserved, ipv4Mapped, rfc6052/6145 (NAT64),
 * 6to4, teredo...); anything it does not call `unicast` is refused, so an
 * IPv4-mapped or NAT64 form of 127.0.0.1 is refused like 127.0.0.1.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  // IPv4-compatible IPv6 (::/96, deprecated), e.g. ::7f00:1 = ::127.0.0.1: ipaddr.js calls it unicast; some stacks route it to the IPv4 address.
  if (parsed.kind() === 'ipv6' && parsed.match(ipaddr.IPv6.parse('::'), 96)) return false;
  return parsed.range() === 'unicast';
}

/** The URL's own rules (no DNS): scheme, credentials, length. */
export function parseWebhookUrl(raw: string, policy: UrlPolicy): { ok: true; url: URL } | { ok: false; refusal: UrlRefusal } {
  if (raw.length > WEBHOOK_URL_MAX_LENGTH) return { ok: false, refusal: 'too-long' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, refusal: 'malformed' };
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) return { ok: false, refusal: 'scheme' };
  if (url.username !== '' || url.password !== '') return { ok: false, refusal: 'credentials' };
  if (url.hostname === '') return { ok: false, refusal: 'malformed' };
  return { ok: true, url };
}

/** The host as an address literal (IPv6 without its brackets), or undefined for a name. */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : undefined;
}

export type HostResolver = (host: string) => Promise<Array<{ address: string; family: number }>>;
const systemResolver: HostResolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves the URL's host and checks every address it resolves to (one bad
 * answer refuses the URL: the resolver may hand out any of them later).
 */
export async function resolveWebhookUrl(
  raw: string,
  policy: UrlPolicy,
  resolve: HostResolver = systemResolver,
): Promise<{ ok: true; target: ResolvedTarget } | { ok: false; refusal: UrlRefusal }> {
  const parsed = parseWebhookUrl(raw, policy);
  if (!parsed.ok) return parsed;
  const { url } = parsed;
  const literal = literalAddress(url.hostname);
  let addresses: Array<{ address: string; family: number }>;
  if (literal !== undefined) {
    addresses = [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(url.hostname);
    } catch {
      return { ok: false, refusal: 'unresolvable' };
    }
  }
  if (addresses.length === 0) return { ok: false, refusal: 'unresolvable' };
  if (!policy.allowPrivate && !addresses.every((a) => isPublicAddress(a.address))) return { ok: false, refusal: 'private-address' };
  const first = addresses[0]!;
  return { ok: true, target: { url, address: first.address, family: first.family === 6 ? 6 : 4 } };
}

/** A `lookup` for http(s).request that answers only the checked address: the connection cannot go elsewhere. */
export function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}
