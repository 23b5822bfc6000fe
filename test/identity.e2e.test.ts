/**
 * Issue 3: every way in. C's registerUser with its exact codes, the OAuth
 * client-credentials grant, applications, sessions, lockout, passwords and
 * Idempotency-Key, all through the gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { C_REGISTER_USER, C_SEED_VARIABLES } from './support/seed-operations-c.js';
import {
  ADMIN_PASSWORD,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  LOGIN,
  login,
  openDatabase,
  waitForOutbox,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

describe('identity & sessions', () => {
  let stack: RunningStack;
  let dataDir: string;
  let orgUsersDb: Connection;
  let acme: BootstrapResult;
  let adminJwt: string;
  const tokenUrl = () => stack.gatewayUrl.replace('/graphql', '/oauth/token');

  beforeAll(async () => {
    const started = await startTestStack({
      serviceEnv: { identity: { LOGIN_MAX_FAILURES_PER_IDENTIFIER: '3', LOGIN_MAX_FAILURES_PER_IP: '40' } },
    });
    ({ stack, dataDir } = started);
    orgUsersDb = await openDatabase(stack, started.options.databasePrefix ?? '', 'orgusers');
    acme = await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  });

  afterAll(async () => {
    await orgUsersDb?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('OAuth 2.0 client credentials (RFC 6749 §4.4)', () => {
    it('accepts a form body, a JSON body and HTTP Basic, and returns an organization-scoped token', async () => {
      const { clientId, clientSecret } = acme.application;
      const viaForm = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`,
      });
      const viaJson = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
      });
      const viaBasic = await request(tokenUrl(), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      for (const res of [viaForm, viaJson, viaBasic]) {
        expect(res.statusCode).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        const body = (await res.body.json()) as Record<string, unknown>;
        expect(body).toMatchObject({
          token_type: 'Bearer',
          expires_in: 900,
          scope: 'users:register organization-users:write organization-users:read',
        });
        const claims = JSON.parse(Buffer.from(String(body.access_token).split('.')[1]!, 'base64url').toString());
        expect(claims).toMatchObject({ sub: clientId, org: acme.organization.id, typ: 'application' });
      }
    });

    it('refuses a wrong secret (401 invalid_client with a Basic challenge), a bad grant and a scope it does not hold', async () => {
      const wrong = await request(tokenUrl(), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${acme.application.clientId}:nope`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
      expect(await wrong.body.json()).toMatchObject({ error: 'invalid_client' });
      const grant = await request(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password' }),
      });
      expect(grant.statusCode).toBe(400);
      expect(await grant.body.json()).toMatchObject({ error: 'unsupported_grant_type' });
      await expect(
        applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret, 'admin:everything'),
      ).rejects.toThrow(/invalid_scope/);
    });
  });

  describe("C's registerUser", () => {
    let token: string;
    beforeAll(async () => {
      token = await applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret);
    });
    const registerUser = (vars: Record<string, unknown>, auth = token, headers: Record<string, string> = {}) =>
      gql(stack.gatewayUrl, C_REGISTER_USER, vars, { ...bearer(auth), ...headers });
    const realistic = (email: string, phone: string) => ({ ...C_SEED_VARIABLES, emailAddress: email, phoneNumber: phone });

    it("gives AUTH-0004 for the seed's own fictional 555-123-4567, and stores nothing", async () => {
      const res = await registerUser(C_SEED_VARIABLES);
      expect(res.errors).toBeUndefined();
      expect(res.data!.registerUser).toEqual({ success: false, error: { code: 'AUTH-0004', message: 'Invalid phone number' } });
      expect(await orgUsersDb.collection('users').countDocuments({ emailNormalized: C_SEED_VARIABLES.emailAddress })).toBe(0);
    });

    it('registers with realistic values (digits and dashes), into the application’s organization', async () => {
      const email = uniqueEmail('jane');
      const res = await registerUser(realistic(email, '202-555-0143'));
      expect(res.data!.registerUser).toEqual({ success: true, error: null });
      const stored = await orgUsersDb.collection('users').findOne({ emailNormalized: email });
      expect(stored).toMatchObject({
        organizationId: acme.organization.id,
        phoneNumber: '+12025550143',
        dateOfBirth: '1990-05-15',
        status: 'ACTIVE',
      });
    });

    it('gives AUTH-0027 for an email in use and AUTH-0026 for a phone in use', async () => {
      const email = uniqueEmail('dup');
      expect((await registerUser(realistic(email, '202-555-0144'))).data!.registerUser.success).toBe(true);
      expect((await registerUser(realistic(email, '202-555-0145'))).data!.registerUser.error).toEqual({
        code: 'AUTH-0027',
        message: 'The email address you chose is already in use.',
      });
      expect((await registerUser(realistic(uniqueEmail('other'), '202-555-0144'))).data!.registerUser.error).toEqual({
        code: 'AUTH-0026',
        message: 'The phone number you chose is already in use.',
      });
    });

    it('gives our documented codes for other invalid input, each naming its field', async () => {
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [{ emailAddress: 'not-an-email' }, 'AUTH-0040', /emailAddress/],
        [{ firstName: '' }, 'AUTH-0041', /firstName/],
        [{ lastName: 'Doe\u0000' }, 'AUTH-0042', /lastName/],
        [{ dateOfBirth: '1990-02-30' }, 'AUTH-0043', /dateOfBirth/],
        [{ dateOfBirth: '15/05/1990' }, 'AUTH-0043', /dateOfBirth/],
        [{ dateOfBirth: new Date(Date.now() - 10 * 365 * 86_400_000).toISOString().slice(0, 10) }, 'AUTH-0044', /dateOfBirth/],
        [{ regionCode: 'ZZ' }, 'AUTH-0045', /regionCode/],
      ];
      for (const [override, code, message] of cases) {
        const res = await registerUser({ ...realistic(uniqueEmail('bad'), '202-555-0146'), ...override });
        expect(res.errors).toBeUndefined();
        expect(res.data!.registerUser.error.code).toBe(code);
        expect(res.data!.registerUser.error.message).toMatch(message);
      }
    });

    it('gives AUTH-0022 to an application without users:register, and to a user token', async () => {
      const created = await gql(
        stack.gatewayUrl,
        'mutation { createApplication(name: "reader", permissions: ["organization-users:read"]) { application { clientId } clientSecret } }',
        {},
        bearer(adminJwt),
      );
      const { application, clientSecret } = created.data!.createApplication;
      const readerToken = await applicationToken(stack.gatewayUrl, application.clientId, clientSecret);
      expect((await registerUser(realistic(uniqueEmail('r'), '202-555-0147'), readerToken)).data!.registerUser.error.code).toBe(
        'AUTH-0022',
      );
      expect((await registerUser(realistic(uniqueEmail('u'), '202-555-0147'), adminJwt)).data!.registerUser.error.code).toBe('AUTH-0022');
    });

    it('gives AUTH-0030 once the application is deactivated, even with a token issued before, and works again after reactivation', async () => {
      const set = (status: string) =>
        gql(
          stack.gatewayUrl,
          'mutation($c: ID!, $s: ApplicationStatus!) { setApplicationStatus(clientId: $c, status: $s) { status } }',
          { c: acme.application.clientId, s: status },
          bearer(adminJwt),
        );
      expect((await set('INACTIVE')).data!.setApplicationStatus.status).toBe('INACTIVE');
      expect((await registerUser(realistic(uniqueEmail('i'), '202-555-0148'))).data!.registerUser.error).toEqual({
        code: 'AUTH-0030',
        message: 'Your application is not active.',
      });
      await expect(applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret)).rejects.toThrow(
        /invalid_client/,
      );
      expect((await set('ACTIVE')).data!.setApplicationStatus.status).toBe('ACTIVE');
      expect((await registerUser(realistic(uniqueEmail('i'), '202-555-0148'))).data!.registerUser.success).toBe(true);
    });

    it('gives AUTH-0025 when registration fails for another reason (org-users is down), and succeeds once it is back', async () => {
      await stack.kill('org-users', 'SIGKILL');
      const down = await registerUser(realistic(uniqueEmail('down'), '202-555-0152'));
      expect(down.errors).toBeUndefined();
      expect(down.data!.registerUser).toEqual({
        success: false,
        error: { code: 'AUTH-0025', message: 'Please try again or contact support.' },
      });
      await stack.restart('org-users');
      expect((await registerUser(realistic(uniqueEmail('down'), '202-555-0152'))).data!.registerUser.success).toBe(true);
    });

    it('refuses an Idempotency-Key reused with other arguments (CONFLICT), instead of replaying it', async () => {
      const key = `key-${Date.now()}`;
      const first = await registerUser(realistic(uniqueEmail('idem'), '202-555-0149'), token, { 'idempotency-key': key });
      expect(first.data!.registerUser.success).toBe(true);
      const reused = await registerUser(realistic(uniqueEmail('idem2'), '202-555-0150'), token, { 'idempotency-key': key });
      expect(reused.errors![0]!.extensions?.code).toBe('CONFLICT');
    });

    it('needs a token at all: without one it is UNAUTHENTICATED', async () => {
      const res = await gql(stack.gatewayUrl, C_REGISTER_USER, realistic(uniqueEmail('anon'), '202-555-0151'));
      expect(res.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('applications', () => {
    it('an admin lists them, rotates a secret (the old one stops working) and sets permissions; a non-admin is FORBIDDEN', async () => {
      const created = await gql(
        stack.gatewayUrl,
        'mutation { createApplication(name: "rotating", permissions: ["users:register"]) { application { clientId permissions } clientSecret } }',
        {},
        bearer(adminJwt),
      );
      const { application, clientSecret } = created.data!.createApplication;
      const list = await gql(stack.gatewayUrl, '{ applications { clientId name status } }', {}, bearer(adminJwt));
      expect(list.data!.applications.map((a: { clientId: string }) => a.clientId)).toContain(application.clientId);

      const rotated = await gql(
        stack.gatewayUrl,
        'mutation($c: ID!) { rotateApplicationSecret(clientId: $c) { clientSecret } }',
        { c: application.clientId },
        bearer(adminJwt),
      );
      const newSecret = rotated.data!.rotateApplicationSecret.clientSecret as string;
      await expect(applicationToken(stack.gatewayUrl, application.clientId, clientSecret)).rejects.toThrow(/invalid_client/);
      await applicationToken(stack.gatewayUrl, application.clientId, newSecret);

      const perms = await gql(
        stack.gatewayUrl,
        'mutation($c: ID!) { setApplicationPermissions(clientId: $c, permissions: ["organization-users:read", "users:register"]) { permissions } }',
        { c: application.clientId },
        bearer(adminJwt),
      );
      expect(perms.data!.setApplicationPermissions.permissions.sort()).toEqual(['organization-users:read', 'users:register']);
      const badPerm = await gql(
        stack.gatewayUrl,
        'mutation($c: ID!) { setApplicationPermissions(clientId: $c, permissions: ["root"]) { permissions } }',
        { c: application.clientId },
        bearer(adminJwt),
      );
      expect(badPerm.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'permissions.0' }] });

      const member = await gql(stack.gatewayUrl, B_REGISTER, realisticRegisterVariables(uniqueEmail('member')), {
        'x-organization-slug': 'acme',
      });
      const memberJwt = member.data!.register.session.jwt as string;
      const denied = await gql(stack.gatewayUrl, '{ applications { clientId } }', {}, bearer(memberJwt));
      expect(denied.errors![0]!.extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('sessions', () => {
    const REFRESH = 'mutation($t: String!) { refreshSession(refreshToken: $t) { _id jwt refreshToken } }';
    let email: string;
    const password = 'maple-Syrup-1867!';
    beforeAll(async () => {
      email = uniqueEmail('sess');
      await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null });
    });

    it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
      const s1 = await login(stack.gatewayUrl, 'public', email, password);
      const r2 = await gql(stack.gatewayUrl, REFRESH, { t: s1.refreshToken });
      const s2 = r2.data!.refreshSession;
      expect(s2._id).not.toBe(s1._id);
      const reuse = await gql(stack.gatewayUrl, REFRESH, { t: s1.refreshToken });
      expect(reuse.errors![0]!.message).toMatch(/reuse/);
      const afterReuse = await gql(stack.gatewayUrl, REFRESH, { t: s2.refreshToken });
      expect(afterReuse.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('lists sessions, logs out, and revokes all', async () => {
      const a = await login(stack.gatewayUrl, 'public', email, password);
      const b = await login(stack.gatewayUrl, 'public', email, password);
      const listed = await gql(stack.gatewayUrl, '{ mySessions { id current } }', {}, bearer(a.jwt));
      const ids = listed.data!.mySessions.map((s: { id: string }) => s.id);
      expect(ids).toEqual(expect.arrayContaining([a._id, b._id]));
      expect(listed.data!.mySessions.find((s: { id: string }) => s.id === a._id).current).toBe(true);

      expect((await gql(stack.gatewayUrl, 'mutation { logout }', {}, bearer(a.jwt))).data!.logout).toBe(true);
      expect((await gql(stack.gatewayUrl, REFRESH, { t: a.refreshToken })).errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
      const c = await login(stack.gatewayUrl, 'public', email, password);
      expect(
        (await gql(stack.gatewayUrl, 'mutation($id: ID!) { revokeSession(id: $id) }', { id: c._id }, bearer(b.jwt))).data!.revokeSession,
      ).toBe(true);
      expect((await gql(stack.gatewayUrl, REFRESH, { t: c.refreshToken })).errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
      const revoked = await gql(stack.gatewayUrl, 'mutation { revokeAllSessions }', {}, bearer(b.jwt));
      expect(revoked.data!.revokeAllSessions).toBeGreaterThanOrEqual(1);
      expect((await gql(stack.gatewayUrl, REFRESH, { t: b.refreshToken })).errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('changes a password (the old one stops working) and resets it with a code from the outbox', async () => {
      const s = await login(stack.gatewayUrl, 'public', email, password);
      const changed = await gql(
        stack.gatewayUrl,
        'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { success } }',
        { c: password, n: 'Second-Password-22' },
        bearer(s.jwt),
      );
      expect(changed.data!.changePassword.success).toBe(true);
      expect((await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password })).errors).toBeDefined();
      const weak = await gql(
        stack.gatewayUrl,
        'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { success } }',
        { c: 'Second-Password-22', n: 'password' },
        bearer(s.jwt),
      );
      expect(weak.errors![0]!.extensions?.fields).toEqual([{ path: 'newPassword', message: expect.stringMatching(/common/) }]);

      await gql(
        stack.gatewayUrl,
        'mutation($o: String!, $e: String!) { requestPasswordReset(organizationSlug: $o, email: $e) { success } }',
        { o: 'public', e: email },
      );
      const code = /\b(\d{6})\b/.exec((await waitForOutbox(dataDir, email, 1))[0]!.text)![1]!;
      const reset = await gql(
        stack.gatewayUrl,
        'mutation($o: String!, $e: String!, $c: String!, $n: String!) { resetPassword(organizationSlug: $o, ' +
          'email: $e, code: $c, newPassword: $n) { success } }',
        { o: 'public', e: email, c: code, n: 'Third-Password-333' },
      );
      expect(reset.data!.resetPassword.success).toBe(true);
      await login(stack.gatewayUrl, 'public', email, 'Third-Password-333');
    });
  });

  describe('Idempotency-Key on register', () => {
    it('20 retries with one key create exactly one user and return the same user', async () => {
      const email = uniqueEmail('idem');
      const vars = { ...realisticRegisterVariables(email), telephone: null };
      const first = await gql(stack.gatewayUrl, B_REGISTER, vars, { 'idempotency-key': `reg-${email}` });
      const retries = await Promise.all(
        Array.from({ length: 20 }, () => gql(stack.gatewayUrl, B_REGISTER, vars, { 'idempotency-key': `reg-${email}` })),
      );
      for (const r of retries) {
        expect(r.errors).toBeUndefined();
        expect(r.data!.register.user.id).toBe(first.data!.register.user.id);
      }
      expect(await orgUsersDb.collection('users').countDocuments({ emailNormalized: email })).toBe(1);
    });
  });

  describe('brute force', () => {
    it('locks an identifier after repeated failures, with the same answer for unknown identifiers', async () => {
      const email = uniqueEmail('locked');
      await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null });
      const attempt = (identifier: string, password: string) =>
        gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier, password });
      for (let i = 0; i < 3; i++) expect((await attempt(email, 'wrong-password-1')).errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
      // Locked now: even the right password is refused until the lock expires.
      const locked = await attempt(email, 'maple-Syrup-1867!');
      expect(locked.errors![0]!.extensions?.code).toBe('RATE_LIMITED');
      const ghost = uniqueEmail('ghost');
      for (let i = 0; i < 3; i++) await attempt(ghost, 'wrong-password-1');
      expect((await attempt(ghost, 'wrong-password-1')).errors![0]).toMatchObject({
        message: locked.errors![0]!.message,
        extensions: { code: 'RATE_LIMITED' },
      });
    });

    it('locks a client IP after too many failures across identifiers, and the lock survives an identity restart', async () => {
      const attempt = (identifier: string) =>
        gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier, password: 'wrong-password-1' });
      let limited = false;
      for (let i = 0; i < 40 && !limited; i++)
        limited = (await attempt(uniqueEmail(`spray${i}`))).errors![0]!.extensions?.code === 'RATE_LIMITED';
      if (!limited) limited = (await attempt(uniqueEmail('spray-last'))).errors![0]!.extensions?.code === 'RATE_LIMITED';
      expect(limited).toBe(true);
      await stack.restart('identity');
      expect((await attempt(uniqueEmail('after-restart'))).errors![0]!.extensions?.code).toBe('RATE_LIMITED');
    });
  });
});
