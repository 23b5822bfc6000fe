import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceKeyFor, signServiceToken, verifyServiceCredential } from '@usergraph/service-kit';
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

  it("without INTERNAL_SERVICE_SECRET it uses the dev stack's secrets; without --gateway it is bad usage (2)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'usergraph-service-key-'));
    dirs.push(dir);
    const first: string[] = [];
    const again: string[] = [];
    expect(serviceKeyCommand(['--gateway'], (l) => first.push(l), { USERGRAPH_DATA_DIR: dir })).toBe(0);
    expect(serviceKeyCommand(['--gateway'], (l) => again.push(l), { USERGRAPH_DATA_DIR: dir })).toBe(0);
    expect(again).toEqual(first);
    expect(serviceKeyCommand([], () => undefined, { INTERNAL_SERVICE_SECRET: SECRET })).toBe(2);
    expect(serviceKeyCommand(['--identity'], () => undefined, { INTERNAL_SERVICE_SECRET: SECRET })).toBe(2);
  });
});
