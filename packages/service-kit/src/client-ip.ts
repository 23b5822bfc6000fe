import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/** Tells a trusted proxy's address from any other: from TRUSTED_PROXIES. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * Compiles TRUSTED_PROXIES: comma-separated addresses or CIDRs (and proxy-addr's
 * names `loopback`, `linklocal`, `uniquelocal`). Empty, the default, trusts no
 * proxy: X-Forwarded-For is then never read. Throws on an invalid entry.
 */
export function compileTrustedProxies(list: string): ProxyTrust {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  return proxyaddr.compile(entries);
}

/**
 * The client's address: the socket peer, unless it is a trusted proxy; then
 * X-Forwarded-For is walked from the right, skipping trusted hops, to the
 * first address that is not one (entries left of it are the client's own
 * claims). proxy-addr does the walk.
 */
export function clientAddressOf(req: IncomingMessage, trust: ProxyTrust): string {
  return proxyaddr(req, trust);
}

const V6_PREFIX = /^(.+)\/64$/;

/**
 * The key one client is counted under by every per-IP limit: an IPv4 address
 * as it is (IPv4-mapped IPv6 included), an IPv6 address as its /64
 * ("2001:db8:aa:bb::/64"), since one subscriber gets a whole /64 and could
 * rotate through it. Anything else (not an address) is one shared key, so
 * junk never makes fresh keys. Idempotent: a key maps to itself.
 */
export function rateLimitKeyForIp(ip: string): string {
  const prefix = V6_PREFIX.exec(ip)?.[1];
  const candidate = prefix ?? ip;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(candidate) && prefix === undefined) {
    address = ipaddr.IPv4.parse(candidate);
  } else if (ipaddr.IPv6.isValid(candidate)) {
    address = ipaddr.IPv6.parse(candidate);
    if (address.isIPv4MappedAddress()) {
      if (prefix !== undefined) return 'invalid';
      address = address.toIPv4Address();
    }
  } else {
    return 'invalid';
  }
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
