/**
 * Where a subgraph may be routed. The gateway forwards each client's
 * Authorization header to every subgraph URL, so a routing URL is a place
 * clients' credentials go: a team's registry key alone must not be able to
 * point it at a host of its choosing (docs/schema-registry.md).
 */

/** Unset REGISTRY_ALLOWED_URL_HOSTS outside production: this machine only (npm start, tests). */
export const LOOPBACK_HOSTS = 'localhost,127.0.0.1,[::1]';

export interface AllowedHost {
  host: string;
  /** Absent: any port of that host. */
  port?: number;
}

const ENTRY = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/;

/** `host` or `host:port` entries, comma-separated; IPv6 in brackets. Throws on a malformed entry. */
export function parseAllowedHosts(list: string): AllowedHost[] {
  const entries = list
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('no host');
  return entries.map((entry) => {
    const m = ENTRY.exec(entry);
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m || (port !== undefined && (port < 1 || port > 65535))) throw new Error(`${entry}: expected host or host:port`);
    return { host: m[1]!, ...(port !== undefined ? { port } : {}) };
  });
}

/** Whether `url` (already an http(s) URL) may be a routing URL: its host is listed, with its port if the entry names one; no user info. */
export function isAllowedRoutingUrl(url: string, allowed: AllowedHost[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  // `http://trusted@attacker/` routes to attacker; user info in a routing URL is never needed.
  if (parsed.username || parsed.password) return false;
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  // The WHATWG parser lower-cases and normalises the host (0x7f.1 becomes 127.0.0.1), so equality is enough.
  return allowed.some((a) => a.host === parsed.hostname && (a.port === undefined || a.port === port));
}
