/**
 * Service-to-service hops of one user creation, counted from the services'
 * own logs: at LOG_LEVEL=debug every internal command a service serves is one
 * `internal command` line (service-kit). The stack is otherwise idle, so the
 * lines written during one request are that request's hops (REVOCATION_CHECK_TTL_MS=0, so
 * the callers' liveness checks are counted every time, not only when a cache entry expired). Run:
 *   npx turbo run build --output-logs=errors-only && cd test && npx vitest run hops.e2e.test.ts
 * and read the `hops:` lines it prints.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import { ADMIN_PASSWORD, bearer, bootstrapOrganization, gql, login, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
const REGISTER = `mutation($email: String!) {
  register(email: $email, password: "Rogue-Squadron-22", firstName: "Wedge", lastName: "Antilles") { user { id } }
}`;

interface Hop {
  service: string;
  from: string;
  command: string;
}

describe('service-to-service hops per user creation', () => {
  let stack: RunningStack;
  let dataDir: string;
  let adminJwt: string;

  beforeAll(async () => {
    // No liveness cache: every service checks the caller on every request, so the count does not depend on timing.
    ({ stack, dataDir } = await startTestStack({ env: { LOG_LEVEL: 'debug', REVOCATION_CHECK_TTL_MS: '0' } }));
    await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  /** The `internal command` lines each service has logged so far, by log file. */
  function hopLines(): Map<string, Hop[]> {
    return new Map(
      readdirSync(stack.logDir).map((file) => [
        file,
        readFileSync(join(stack.logDir, file), 'utf8')
          .split('\n')
          .filter((line) => line.includes('"internal command"'))
          .map((line) => JSON.parse(line) as { command: string; from: string })
          .map((l) => ({ service: file.replace(/\.log$/, ''), from: l.from, command: l.command })),
      ]),
    );
  }

  /** Lets the services' log streams flush what they wrote. */
  const settle = () => new Promise((r) => setTimeout(r, 1500));

  /** The hops one call makes (the second of two identical ones: caches are warm, as in steady state). */
  async function hopsOf(run: (n: number) => Promise<void>): Promise<Hop[]> {
    await run(1);
    await settle();
    const before = hopLines();
    await run(2);
    await settle();
    return [...hopLines()].flatMap(([file, lines]) => lines.slice(before.get(file)?.length ?? 0));
  }

  const show = (what: string, list: Hop[]) =>
    process.stdout.write(`hops: ${what}: ${list.length}\n${list.map((h) => `  ${h.from} -> ${h.service}.${h.command}`).join('\n')}\n`);

  it("counts D's createUser (gateway -> org-users, then every internal command)", async () => {
    const list = await hopsOf(async (n) => {
      const input = {
        user: {
          firstName: 'Han',
          lastName: 'Solo',
          email: uniqueEmail(`hops${n}`),
          credentials: { username: `hops_user_${n}`, password: 'Kessel-Run-12-Parsecs' },
        },
        requestedLicenses: ['AUTHOR'],
        requestedGroups: ['DEFAULT'],
        requestedOriginGroup: 'DEFAULT',
      };
      const res = await gql(stack.gatewayUrl, CREATE, { input }, bearer(adminJwt));
      expect(res.errors).toBeUndefined();
      expect(res.data?.createUser.errors).toEqual([]);
    });
    show('D createUser', list);
    const commands = list.map((h) => h.command);
    expect(commands).toContain('createCredentials');
    // One write per service that owns a part of the user; the password goes to identity only.
    expect(commands.filter((c) => c === 'assignLicenses')).toHaveLength(1);
    expect(list.filter((h) => h.command === 'createCredentials').map((h) => h.service)).toEqual(['identity']);
  });

  it("counts B's register", async () => {
    const list = await hopsOf(async (n) => {
      const res = await gql(stack.gatewayUrl, REGISTER, { email: uniqueEmail(`hopsb${n}`) }, { 'x-organization-slug': 'acme' });
      expect(res.errors).toBeUndefined();
    });
    show('B register', list);
    expect(list.map((h) => h.command)).toEqual(expect.arrayContaining(['createProfile', 'activateProfile']));
  });
});
