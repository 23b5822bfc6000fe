import { describe, expect, it } from 'vitest';
import { isAllowedRoutingUrl, LOOPBACK_HOSTS, parseAllowedHosts } from './allowed-hosts.js';
import { registryEnvSchema } from './env.js';

const base = {
  APOLLO_TELEMETRY_DISABLED: '1',
  MONGODB_URI: 'mongodb://127.0.0.1:27017',
  REGISTRY_SECRET: 'x'.repeat(32),
};

describe('routing URL allow-list', () => {
  it('loopback only by default: any port of this machine, no other host', () => {
    const loopback = parseAllowedHosts(LOOPBACK_HOSTS);
    for (const url of ['http://127.0.0.1:4001/graphql', 'http://localhost:9/graphql', 'https://[::1]/graphql', 'http://0x7f.0.0.1:4001/'])
      expect(isAllowedRoutingUrl(url, loopback), url).toBe(true);
    for (const url of [
      'http://attacker.example:80/graphql',
      'http://127.0.0.1.attacker.example/graphql',
      'http://127.0.0.2/graphql',
      'http://localhost.attacker.example/',
    ])
      expect(isAllowedRoutingUrl(url, loopback), url).toBe(false);
  });

  it('a host entry allows any port; a host:port entry only that port (80 and 443 by scheme when the URL names none)', () => {
    const allowed = parseAllowedHosts(' Identity:4001, org-users ,licensing:443');
    expect(isAllowedRoutingUrl('http://identity:4001/graphql', allowed)).toBe(true);
    expect(isAllowedRoutingUrl('http://identity:4002/graphql', allowed)).toBe(false);
    expect(isAllowedRoutingUrl('http://identity/graphql', allowed)).toBe(false);
    expect(isAllowedRoutingUrl('http://org-users:8080/graphql', allowed)).toBe(true);
    expect(isAllowedRoutingUrl('https://licensing/graphql', allowed)).toBe(true);
    expect(isAllowedRoutingUrl('http://licensing/graphql', allowed)).toBe(false);
  });

  it('refuses user info, other schemes and what does not parse', () => {
    const allowed = parseAllowedHosts('identity,attacker.example');
    expect(isAllowedRoutingUrl('http://identity@attacker.example/graphql', parseAllowedHosts('identity'))).toBe(false);
    expect(isAllowedRoutingUrl('http://user:pass@identity/graphql', allowed)).toBe(false);
    expect(isAllowedRoutingUrl('ftp://identity/graphql', allowed)).toBe(false);
    expect(isAllowedRoutingUrl('file:///etc/passwd', allowed)).toBe(false);
    expect(isAllowedRoutingUrl('not a url', allowed)).toBe(false);
  });

  it('a malformed entry is refused', () => {
    for (const list of ['', ' , ', 'http://identity', 'identity:0', 'identity:70000', 'iden tity', '*.example', 'identity/graphql'])
      expect(() => parseAllowedHosts(list), list).toThrow();
  });
});

describe('REGISTRY_ALLOWED_URL_HOSTS', () => {
  it('unset outside production: loopback only', () => {
    const env = registryEnvSchema.parse({ ...base, NODE_ENV: 'development' });
    expect(env.allowedUrlHosts).toEqual(parseAllowedHosts(LOOPBACK_HOSTS));
  });

  it('unset in production: the registry refuses to start', () => {
    const parsed = registryEnvSchema.safeParse({ ...base, NODE_ENV: 'production' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['REGISTRY_ALLOWED_URL_HOSTS']);
  });

  it('set in production: only those hosts; a malformed list is refused', () => {
    const env = registryEnvSchema.parse({ ...base, NODE_ENV: 'production', REGISTRY_ALLOWED_URL_HOSTS: 'identity:4001,org-users:4002' });
    expect(env.allowedUrlHosts).toEqual([
      { host: 'identity', port: 4001 },
      { host: 'org-users', port: 4002 },
    ]);
    expect(registryEnvSchema.safeParse({ ...base, REGISTRY_ALLOWED_URL_HOSTS: 'http://identity' }).success).toBe(false);
  });
});
