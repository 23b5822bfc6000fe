import { describe, expect, it } from 'vitest';
import { gatewayEnvSchema } from './env.js';

const base = { APOLLO_TELEMETRY_DISABLED: '1', GATEWAY_SERVICE_KEY: 'k'.repeat(43), IDENTITY_URL: 'http://127.0.0.1:4001' };
const issuesOf = (env: Record<string, string>) => {
  const parsed = gatewayEnvSchema.safeParse({ ...base, ...env });
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
};

describe('gateway environment: where the supergraph comes from', () => {
  it('takes the registry with its key, or a file', () => {
    expect(issuesOf({ REGISTRY_URL: 'http://127.0.0.1:4004', REGISTRY_KEY: 'reader.abc' })).toEqual([]);
    expect(issuesOf({ SUPERGRAPH_PATH: '/etc/usergraph/supergraph.graphql' })).toEqual([]);
  });

  it('refuses neither, both, a registry without a key and an empty key, naming the variable', () => {
    expect(issuesOf({})).toEqual(['REGISTRY_URL']);
    expect(issuesOf({ REGISTRY_URL: 'http://127.0.0.1:4004', REGISTRY_KEY: 'reader.abc', SUPERGRAPH_PATH: '/s.graphql' })).toEqual([
      'REGISTRY_URL',
    ]);
    expect(issuesOf({ REGISTRY_URL: 'http://127.0.0.1:4004' })).toEqual(['REGISTRY_KEY']);
    expect(issuesOf({ REGISTRY_URL: 'http://127.0.0.1:4004', REGISTRY_KEY: '' })).toContain('REGISTRY_KEY');
  });
});

describe('gateway environment: first-party subgraphs', () => {
  const trusted = (env: Record<string, string>) => {
    const parsed = gatewayEnvSchema.parse({ ...base, SUPERGRAPH_PATH: '/s.graphql', ...env });
    return [...parsed.GATEWAY_TRUSTED_SUBGRAPHS].sort();
  };
  it('trusts the three local subgraphs by default, and exactly the names listed otherwise', () => {
    expect(trusted({})).toEqual(['identity', 'licensing', 'org-users']);
    expect(trusted({ GATEWAY_TRUSTED_SUBGRAPHS: ' identity , org-users,' })).toEqual(['identity', 'org-users']);
    expect(trusted({ GATEWAY_TRUSTED_SUBGRAPHS: '' })).toEqual([]);
  });
});

describe('gateway environment: its own service key, never the root secret', () => {
  it('needs GATEWAY_SERVICE_KEY and refuses INTERNAL_SERVICE_SECRET, naming each', () => {
    const file = { SUPERGRAPH_PATH: '/s.graphql' };
    expect(issuesOf(file)).toEqual([]);
    const withoutKey = gatewayEnvSchema.safeParse({ ...base, ...file, GATEWAY_SERVICE_KEY: undefined });
    expect(withoutKey.success ? [] : withoutKey.error.issues.map((i) => i.path.join('.'))).toEqual(['GATEWAY_SERVICE_KEY']);
    expect(issuesOf({ ...file, INTERNAL_SERVICE_SECRET: 'x'.repeat(32) })).toEqual(['INTERNAL_SERVICE_SECRET']);
    // A root pasted in its place (openssl rand -base64 32: 44 characters, with + / =) is not a key.
    expect(issuesOf({ ...file, GATEWAY_SERVICE_KEY: 'q7Jx0K1yQ+u2v/3w4X5y6Z7a8B9c0D1e2F3g4H5i6J0=' })).toEqual(['GATEWAY_SERVICE_KEY']);
  });
});
