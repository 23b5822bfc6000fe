import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceKeyFor, signServiceToken, verifyServiceCredential } from '@usergraph/service-kit';
import { loadOrCreateDevSecrets } from './secrets.js';
import { serviceKeyCommand } from './service-key.js';

const SECRET = 'internal-service-secret-for-cli-tests-0123';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('usergraph service-key', () => {
  it("--gateway prints the gateway's key: it signs as the gateway, and as nothing else", async () => {
    const lines: string[] = [];
    expect(serviceKeyCommand(['--gateway'], (l) => lines.push(l), { INTERNAL_SERVICE_SECRET: SECRET })).toBe(0);
    expect(lines).toEqual([serviceKeyFor(SECRET, 'gateway')]);
    const key = lines[0]!;
    expect(await verifyServiceCredential(SECRET, 'identity', await signServiceToken(key, 'gateway', 'identity'))).toMatchObject({
      from: 'gateway',
    });
    expect(await verifyServiceCredential(SECRET, 'identity', await signServiceToken(key, 'org-users', 'identity'))).toBeUndefined();
  });

  it("without INTERNAL_SERVICE_SECRET it uses an existing dev stack's secrets, never new ones; without --gateway it is bad usage (2)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'usergraph-service-key-'));
    dirs.push(dir);
    // No stack ever ran here: a key of a freshly generated root would match no subgraph, so it refuses and writes nothing.
    expect(() => serviceKeyCommand(['--gateway'], () => undefined, { USERGRAPH_DATA_DIR: dir })).toThrow(
      /INTERNAL_SERVICE_SECRET is not set/,
    );
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
    const { secrets } = loadOrCreateDevSecrets(join(dir, 'secrets.json'), {});
    const lines: string[] = [];
    expect(serviceKeyCommand(['--gateway'], (l) => lines.push(l), { USERGRAPH_DATA_DIR: dir })).toBe(0);
    expect(lines).toEqual([serviceKeyFor(secrets.INTERNAL_SERVICE_SECRET, 'gateway')]);
    expect(serviceKeyCommand([], () => undefined, { INTERNAL_SERVICE_SECRET: SECRET })).toBe(2);
    expect(serviceKeyCommand(['--identity'], () => undefined, { INTERNAL_SERVICE_SECRET: SECRET })).toBe(2);
  });
});
