import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isEncryptionKey } from '@usergraph/service-kit';
import { parseBootstrapArgs } from './bootstrap.js';
import { loadOrCreateDevSecrets } from './secrets.js';
import { startEnvSchema } from './start-env.js';
import { waitUntilReady } from './stack.js';

describe('bootstrap arguments', () => {
  const required = [
    '--org-slug',
    'acme',
    '--org-name',
    'Acme',
    '--admin-email',
    'a@acme.test',
    '--admin-username',
    'admin',
    '--admin-password',
    'pw',
  ];

  it('parses the documented flags with their defaults', () => {
    const args = parseBootstrapArgs([...required, '--json', '--no-self-signup']);
    expect(args).toMatchObject({
      orgSlug: 'acme',
      orgName: 'Acme',
      adminEmail: 'a@acme.test',
      json: true,
      selfSignup: false,
      permissions: ['users:register', 'organization-users:write', 'organization-users:read'],
    });
  });

  it('finding 3: self-signup is off unless --self-signup is given; --no-self-signup is still accepted', () => {
    expect(parseBootstrapArgs(required).selfSignup).toBe(false);
    expect(parseBootstrapArgs([...required, '--no-self-signup']).selfSignup).toBe(false);
    expect(parseBootstrapArgs([...required, '--self-signup']).selfSignup).toBe(true);
    expect(() => parseBootstrapArgs([...required, '--self-signup', '--no-self-signup'])).toThrow(/contradict/);
  });

  it('finding 7: the default application permissions do not include organization-users:admin', () => {
    expect(parseBootstrapArgs(required).permissions).not.toContain('organization-users:admin');
  });

  it('names every missing flag', () => {
    expect(() => parseBootstrapArgs(['--org-slug', 'acme'])).toThrow(/--org-name, --admin-email, --admin-username, --admin-password/);
  });

  it('rejects unknown flags', () => {
    expect(() => parseBootstrapArgs([...required, '--bogus'])).toThrow(/bogus/);
  });
});

describe('development secrets', () => {
  it('are generated once, kept with mode 600, and reused', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'usergraph-cli-')), 'secrets.json');
    const first = loadOrCreateDevSecrets(file, {});
    expect(first.generated).toBe(true);
    expect(first.secrets.INTERNAL_SERVICE_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(isEncryptionKey(first.secrets.SIGNING_KEY_ENCRYPTION_KEY)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadOrCreateDevSecrets(file, {});
    expect(second.generated).toBe(false);
    expect(second.secrets).toEqual(first.secrets);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(first.secrets);
  });

  it('prefer values from the environment', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'usergraph-cli-')), 'secrets.json');
    const secret = 'x'.repeat(40);
    expect(loadOrCreateDevSecrets(file, { INTERNAL_SERVICE_SECRET: secret }).secrets.INTERNAL_SERVICE_SECRET).toBe(secret);
  });
});

describe('npm start environment', () => {
  it('has the documented defaults', () => {
    expect(startEnvSchema.parse({})).toMatchObject({
      PORT: 4000,
      IDENTITY_PORT: 4001,
      ORG_USERS_PORT: 4002,
      LICENSING_PORT: 4003,
      NODE_ENV: 'development',
    });
  });

  it('rejects a bad MONGODB_URI and a bad port, naming both', () => {
    const result = startEnvSchema.safeParse({ MONGODB_URI: 'postgres://x', PORT: '99999' });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path[0]).sort()).toEqual(['MONGODB_URI', 'PORT']);
  });
});

describe('waiting for a service', () => {
  /** A server whose /readyz says it is ready and names `service`. */
  async function readyServer(service: string) {
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ready', service })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('accepts the service it waits for, and refuses another one on the same port', async () => {
    const { server, url } = await readyServer('org-users');
    try {
      await expect(waitUntilReady(url, { timeoutMs: 5000, service: 'org-users' })).resolves.toBeUndefined();
      await expect(waitUntilReady(url, { timeoutMs: 5000, service: 'licensing' })).rejects.toThrow(
        `${url} is answered by org-users, not licensing`,
      );
    } finally {
      server.close();
    }
  });
});
