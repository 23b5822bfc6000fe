/**
 * Issue 5: licenses, seats, groups, origin group and the last-ADMIN
 * invariant, through the gateway and through licensing's internal commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { licensingCommands } from '@usergraph/contracts';
import type { LicenseType } from '@usergraph/validation';
import { createInternalClient, DomainError } from '@usergraph/service-kit';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { ADMIN_PASSWORD, bearer, bootstrapOrganization, gql, login, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

describe('licensing & groups', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let adminJwt: string;
  let licensing: ReturnType<typeof createInternalClient<'licensing'>>;

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack());
    acme = await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    licensing = createInternalClient({
      from: 'org-users',
      to: 'licensing',
      baseUrl: stack.urls.licensing,
      secret: stack.secrets.INTERNAL_SERVICE_SECRET,
    });
  });

  afterAll(async () => {
    await licensing?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  /** A member of acme, registered through B. */
  async function member(): Promise<{ id: string; jwt: string }> {
    const res = await gql(
      stack.gatewayUrl,
      B_REGISTER,
      { ...realisticRegisterVariables(uniqueEmail('m')), telephone: null },
      { 'x-organization-slug': 'acme' },
    );
    return { id: res.data!.register.user.id, jwt: res.data!.register.session.jwt };
  }

  const assign = (
    userId: string,
    requestedLicenses: LicenseType[],
    requestedGroups: string[] = ['DEFAULT'],
    requestedOriginGroup?: string,
  ) =>
    licensing.call(licensingCommands.assignLicenses, {
      organizationId: acme.organization.id,
      userId,
      // As org-users calls it for a caller holding organization-users:admin (an ADMIN).
      callerMayActOnAdmin: true,
      requestedLicenses,
      requestedGroups,
      requestedOriginGroup,
    });

  async function fieldErrors(p: Promise<unknown>) {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).fields.map((f) => `${f.path.join('.')}: ${f.message}`);
  }

  it('contributes licenses, groups and originGroup to User through federation', async () => {
    const m = await member();
    await assign(m.id, ['AUTHOR', 'ANALYST'], ['DEFAULT'], 'DEFAULT');
    const me = await gql(stack.gatewayUrl, '{ me { id email licenses groups originGroup } }', {}, bearer(m.jwt));
    expect(me.data!.me).toMatchObject({ id: m.id, licenses: ['AUTHOR', 'ANALYST'], groups: ['DEFAULT'], originGroup: 'DEFAULT' });
  });

  it('enforces the license rules: AUTHOR and VIEWER exclude each other; ANALYST combines with anything', async () => {
    const m = await member();
    expect((await fieldErrors(assign(m.id, ['AUTHOR', 'VIEWER'])))[0]).toMatch(/^requestedLicenses/);
    expect((await assign(m.id, ['VIEWER', 'ANALYST'])).licenses).toEqual(['VIEWER', 'ANALYST']);
    // @ts-expect-error: a license the contract does not know, as a client of another version might send it
    expect(await fieldErrors(assign(m.id, ['SUPERUSER']))).toEqual([expect.stringMatching(/^requestedLicenses\.0/)]);
  });

  it('accepts an origin group only with ADMIN or AUTHOR, and only among the user’s groups', async () => {
    const m = await member();
    expect(await fieldErrors(assign(m.id, ['VIEWER'], ['DEFAULT'], 'DEFAULT'))).toEqual([
      expect.stringMatching(/^requestedOriginGroup: .*ADMIN or AUTHOR/),
    ]);
    await gql(stack.gatewayUrl, 'mutation { createGroup(name: "JEDI") { name } }', {}, bearer(adminJwt));
    expect(await fieldErrors(assign(m.id, ['AUTHOR'], ['DEFAULT'], 'JEDI'))).toEqual([
      expect.stringMatching(/^requestedOriginGroup: must be one of the requested groups/),
    ]);
    expect(await fieldErrors(assign(m.id, ['AUTHOR'], ['DEFAULT', 'REBEL']))).toEqual([expect.stringMatching(/^requestedGroups\.1/)]);
    expect(await fieldErrors(assign(m.id, ['AUTHOR'], ['jedi']))).toEqual([
      expect.stringMatching(/^requestedGroups\.0: must be UPPERCASE/),
    ]);
  });

  it('manages groups: create, list with member counts, rename, members, delete; DEFAULT is protected', async () => {
    const a = await member();
    const b = await member();
    const q = (query: string, variables: Record<string, unknown> = {}) => gql(stack.gatewayUrl, query, variables, bearer(adminJwt));
    expect((await q('mutation { createGroup(name: "REBEL") { name memberCount } }')).data!.createGroup).toEqual({
      name: 'REBEL',
      memberCount: 0,
    });
    expect((await q('mutation { createGroup(name: "REBEL") { name } }')).errors![0]!.extensions?.code).toBe('CONFLICT');
    expect((await q('mutation { createGroup(name: "rebels") { name } }')).errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ path: 'name' }],
    });
    const added = await q('mutation($ids: [ID!]!) { addGroupMembers(name: "REBEL", userIds: $ids) { memberCount } }', {
      ids: [a.id, b.id],
    });
    expect(added.data!.addGroupMembers.memberCount).toBe(2);
    const unknownMember = await q('mutation($ids: [ID!]!) { addGroupMembers(name: "REBEL", userIds: $ids) { memberCount } }', {
      ids: ['000000000000000000000000'],
    });
    expect(unknownMember.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'userIds.0' }] });
    expect((await q('mutation { renameGroup(name: "REBEL", newName: "REBELLION") { name memberCount } }')).data!.renameGroup).toEqual({
      name: 'REBELLION',
      memberCount: 2,
    });
    const groupsOfA = await gql(stack.gatewayUrl, '{ me { groups } }', {}, bearer(a.jwt));
    expect(groupsOfA.data!.me.groups).toContain('REBELLION');
    await q('mutation($ids: [ID!]!) { removeGroupMembers(name: "REBELLION", userIds: $ids) { memberCount } }', { ids: [b.id] });
    const listed = await q('{ groups { name memberCount } }');
    expect(listed.data!.groups).toEqual(
      expect.arrayContaining([{ name: 'REBELLION', memberCount: 1 }, expect.objectContaining({ name: 'DEFAULT' })]),
    );
    expect((await q('mutation { deleteGroup(name: "DEFAULT") }')).errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await q('mutation { renameGroup(name: "DEFAULT", newName: "OTHER") { name } }')).errors![0]!.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect((await q('mutation { deleteGroup(name: "REBELLION") }')).data!.deleteGroup).toBe(true);
    expect((await gql(stack.gatewayUrl, '{ me { groups } }', {}, bearer(a.jwt))).data!.me.groups).not.toContain('REBELLION');
    // Organization.groups comes from licensing, joined onto org-users' Organization.
    const org = await q('{ currentOrganization { slug groups { name } seatUsage { license used cap } } }');
    expect(org.data!.currentOrganization.slug).toBe('acme');
    expect(org.data!.currentOrganization.groups.map((g: { name: string }) => g.name)).toContain('DEFAULT');
    // Only admins manage groups.
    expect(
      (await gql(stack.gatewayUrl, 'mutation { createGroup(name: "NOPE") { name } }', {}, bearer(a.jwt))).errors![0]!.extensions?.code,
    ).toBe('FORBIDDEN');
  });

  it('caps seats: assigning past the cap fails clearly, and the count stays exact under 20 concurrent assignments', async () => {
    const capped = await gql(
      stack.gatewayUrl,
      'mutation { setSeatCap(license: ANALYST, cap: 5) { license used cap } }',
      {},
      bearer(adminJwt),
    );
    const before = capped.data!.setSeatCap.find((s: { license: string }) => s.license === 'ANALYST');
    const free = 5 - before.used;
    const members = await Promise.all(Array.from({ length: 20 }, () => member()));
    const results = await Promise.allSettled(members.map((m) => assign(m.id, ['ANALYST'])));
    const won = results.filter((r) => r.status === 'fulfilled').length;
    expect(won).toBe(free);
    for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(r.reason).toBeInstanceOf(DomainError);
      expect((r.reason as DomainError).reason).toBe('NO_FREE_SEAT');
      expect((r.reason as DomainError).fields[0]!.message).toMatch(/no free ANALYST seat \(cap 5\)/);
    }
    const usage = await gql(stack.gatewayUrl, '{ currentOrganization { seatUsage { license used cap } } }', {}, bearer(adminJwt));
    expect(usage.data!.currentOrganization.seatUsage).toContainEqual({ license: 'ANALYST', used: 5, cap: 5 });
    // A cap below the seats in use is refused; removing the cap frees the rest.
    expect(
      (await gql(stack.gatewayUrl, 'mutation { setSeatCap(license: ANALYST, cap: 2) { used } }', {}, bearer(adminJwt))).errors![0]!
        .extensions?.code,
    ).toBe('CONFLICT');
    await gql(stack.gatewayUrl, 'mutation { setSeatCap(license: ANALYST, cap: null) { used } }', {}, bearer(adminJwt));
  });

  it('never loses the last ADMIN: not by revoking, not by releasing, not by 10 concurrent releases of all admins', async () => {
    const admins = await Promise.all(Array.from({ length: 9 }, () => member()));
    for (const a of admins) await assign(a.id, ['ADMIN']);
    const all = [acme.admin.id, ...admins.map((a) => a.id)];
    const results = await Promise.allSettled(
      all.map((userId) =>
        licensing.call(licensingCommands.releaseUser, { organizationId: acme.organization.id, userId, callerMayActOnAdmin: true }),
      ),
    );
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0]!.reason as DomainError).reason).toBe('LAST_COMPANY_ADMIN');
    expect((refused[0]!.reason as DomainError).message).toMatch(/at least one company admin/);
    const usage = await licensing.call(licensingCommands.getUserLicenses, {
      organizationId: acme.organization.id,
      userId: all[results.indexOf(refused[0]!)]!,
    });
    expect(usage.licenses).toEqual(['ADMIN']);
    // The survivor cannot be stripped either, by assign or revoke.
    const survivor = all[results.indexOf(refused[0]!)]!;
    expect((await fieldErrors(assign(survivor, ['VIEWER'])))[0]).toMatch(/last ADMIN/);
    expect(
      (
        await fieldErrors(
          licensing.call(licensingCommands.revokeLicenses, {
            organizationId: acme.organization.id,
            userId: survivor,
            licenses: ['ADMIN'],
            callerMayActOnAdmin: true,
          }),
        )
      )[0],
    ).toMatch(/last ADMIN/);
  });

  it('refuses internal commands without a service credential, or with a client token', async () => {
    const { request } = await import('undici');
    for (const authorization of [undefined, `Bearer ${adminJwt}`]) {
      const res = await request(`${stack.urls.licensing}/internal/commands/releaseUser`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ organizationId: acme.organization.id, userId: acme.admin.id }),
      });
      expect(res.statusCode).toBe(401);
      await res.body.dump();
    }
  });
});
