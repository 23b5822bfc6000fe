/**
 * Issue 12, finding 2: an Idempotency-Key replay must never hand out a session
 * (or another caller's result). A replay of `register` needs the password,
 * verified against the stored credential; every key is bound to its caller,
 * so another application of the same organization reusing a key gets nothing
 * of the first one's result. All through the gateway, against a whole stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { C_REGISTER_USER, C_SEED_VARIABLES } from './support/seed-operations-c.js';
import {
  ADMIN_PASSWORD,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

const ME = '{ me { id email } }';

const A_REGISTER = `mutation Register($input: RegisterOrganizationUserInput!) {
  registerOrganizationUser(input: $input) { user { id email } }
}`;

describe('finding 2: Idempotency-Key replays', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  /** Two applications of the same organization, with the same permissions. */
  let firstApp: string;
  let secondApp: string;
  let adminJwt: string;

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack());
    acme = await bootstrapOrganization(dataDir, 'acme');
    firstApp = await applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret);
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    const created = await gql(
      stack.gatewayUrl,
      'mutation { createApplication(name: "second", permissions: ["users:register", ' +
        '"organization-users:write", "organization-users:read"]) { application { clientId } clientSecret } }',
      {},
      bearer(adminJwt),
    );
    expect(created.errors).toBeUndefined();
    secondApp = await applicationToken(
      stack.gatewayUrl,
      created.data!.createApplication.application.clientId,
      created.data!.createApplication.clientSecret,
    );
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe("B's register", () => {
    it('review: a replay with the right password after the account was closed (or deleted) gets no session', async () => {
      const email = uniqueEmail('closer');
      const key = `reg-${email}`;
      const variables = { ...realisticRegisterVariables(email), telephone: null };
      const first = await gql(stack.gatewayUrl, B_REGISTER, variables, { 'idempotency-key': key });
      expect(first.errors).toBeUndefined();
      const closed = await gql(stack.gatewayUrl, 'mutation { closeAccount { status } }', {}, bearer(first.data!.register.session.jwt));
      expect(closed.data?.closeAccount.status).toBe('CLOSED');

      const replay = await gql(stack.gatewayUrl, B_REGISTER, variables, { 'idempotency-key': key });
      expect(replay.data?.register ?? null).toBeNull();
      expect(replay.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(replay)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    });

    it('finding 2: the same fields and key with another password get no session (CONFLICT), and reveal nothing', async () => {
      const email = uniqueEmail('victim');
      const key = `reg-${email}`;
      const victim = { ...realisticRegisterVariables(email), telephone: null };
      const first = await gql(stack.gatewayUrl, B_REGISTER, victim, { 'idempotency-key': key });
      expect(first.errors).toBeUndefined();

      // The victim's own retry (same password) gets the same user and a working session.
      const retry = await gql(stack.gatewayUrl, B_REGISTER, victim, { 'idempotency-key': key });
      expect(retry.errors).toBeUndefined();
      expect(retry.data!.register.user.id).toBe(first.data!.register.user.id);
      const me = await gql(stack.gatewayUrl, ME, {}, bearer(retry.data!.register.session.jwt));
      expect(me.data!.me.id).toBe(first.data!.register.user.id);

      const attack = await gql(stack.gatewayUrl, B_REGISTER, { ...victim, password: 'Rogue-Squadron-22' }, { 'idempotency-key': key });
      expect(attack.data?.register ?? null).toBeNull();
      expect(attack.errors![0]!.extensions?.code).toBe('CONFLICT');
      expect(attack.errors![0]!.message).toBe('This Idempotency-Key was already used with different input');
      expect(JSON.stringify(attack)).not.toContain(first.data!.register.user.id);

      // One wrong guess burns the key: no more guesses through it, not even the right one.
      const again = await gql(stack.gatewayUrl, B_REGISTER, victim, { 'idempotency-key': key });
      expect(again.errors![0]!.extensions?.code).toBe('CONFLICT');
      expect((await login(stack.gatewayUrl, 'public', email, victim.password)).jwt).toBeTruthy();
    });

    it('finding 2: a replay by an authenticated caller is a different key: it gets the email conflict, not the first result', async () => {
      const email = uniqueEmail('anon');
      const key = `reg-${email}`;
      const vars = { ...realisticRegisterVariables(email), telephone: null };
      const first = await gql(stack.gatewayUrl, B_REGISTER, vars, { 'idempotency-key': key });
      expect(first.errors).toBeUndefined();
      const other = await gql(stack.gatewayUrl, B_REGISTER, vars, { 'idempotency-key': key, ...bearer(firstApp) });
      expect(other.data?.register ?? null).toBeNull();
      expect(other.errors![0]!.extensions?.code).toBe('CONFLICT');
      expect(JSON.stringify(other)).not.toContain(first.data!.register.user.id);
    });
  });

  describe("A's registerOrganizationUser", () => {
    const input = () => ({
      organizationSlug: 'acme',
      email: uniqueEmail('maria'),
      phoneNumber: '+14155550199',
      name: { first: 'María', last: 'García' },
      address: {
        addressLine1: '500 Howard Street',
        city: 'San Francisco',
        state: 'California',
        stateCode: 'CA',
        postCode: '94105',
        country: 'United States',
        alpha2: 'US',
      },
      dateOfBirth: { year: 1988, month: 4, day: 17 },
    });

    it("finding 2: another application of the organization reusing the key gets nothing of the first one's result", async () => {
      const vars = { input: { ...input(), phoneNumber: '+14155550198' } };
      const key = `a-${vars.input.email}`;
      const first = await gql(stack.gatewayUrl, A_REGISTER, vars, { 'idempotency-key': key, ...bearer(firstApp) });
      expect(first.errors).toBeUndefined();
      const userId = first.data!.registerOrganizationUser.user.id as string;

      const other = await gql(stack.gatewayUrl, A_REGISTER, vars, { 'idempotency-key': key, ...bearer(secondApp) });
      expect(other.data?.registerOrganizationUser ?? null).toBeNull();
      expect(other.errors![0]!.extensions?.code).toBe('CONFLICT');
      expect(JSON.stringify(other)).not.toContain(userId);

      // The first application's own retry is still a replay.
      const retry = await gql(stack.gatewayUrl, A_REGISTER, vars, { 'idempotency-key': key, ...bearer(firstApp) });
      expect(retry.data!.registerOrganizationUser.user.id).toBe(userId);
    });
  });

  describe("C's registerUser", () => {
    it("finding 2: another application of the organization reusing the key gets nothing of the first one's result", async () => {
      const email = uniqueEmail('jane');
      const vars = { ...C_SEED_VARIABLES, emailAddress: email, phoneNumber: '202-555-0181' };
      const key = `c-${email}`;
      const first = await gql(stack.gatewayUrl, C_REGISTER_USER, vars, { 'idempotency-key': key, ...bearer(firstApp) });
      expect(first.data!.registerUser).toEqual({ success: true, error: null });
      const other = await gql(stack.gatewayUrl, C_REGISTER_USER, vars, { 'idempotency-key': key, ...bearer(secondApp) });
      // A fresh attempt for the second application: the email is taken.
      expect(other.data!.registerUser.error.code).toBe('AUTH-0027');
      const retry = await gql(stack.gatewayUrl, C_REGISTER_USER, vars, { 'idempotency-key': key, ...bearer(firstApp) });
      expect(retry.data!.registerUser).toEqual({ success: true, error: null });
    });

    it('a failed registerUser is not replayed for 24 hours: once the application is active again, a retry with the same key registers', async () => {
      const created = await gql(
        stack.gatewayUrl,
        'mutation { createApplication(name: "third", permissions: ["users:register"]) { application { clientId } clientSecret } }',
        {},
        bearer(adminJwt),
      );
      const { application, clientSecret } = created.data!.createApplication;
      const token = await applicationToken(stack.gatewayUrl, application.clientId, clientSecret);
      const set = (status: string) =>
        gql(
          stack.gatewayUrl,
          'mutation($c: ID!, $s: ApplicationStatus!) { setApplicationStatus(clientId: $c, status: $s) { status } }',
          { c: application.clientId, s: status },
          bearer(adminJwt),
        );
      const vars = { ...C_SEED_VARIABLES, emailAddress: uniqueEmail('later'), phoneNumber: '202-555-0182' };
      const key = `c-${vars.emailAddress}`;
      expect((await set('INACTIVE')).data!.setApplicationStatus.status).toBe('INACTIVE');
      expect(
        (await gql(stack.gatewayUrl, C_REGISTER_USER, vars, { 'idempotency-key': key, ...bearer(token) })).data!.registerUser.error.code,
      ).toBe('AUTH-0030');
      expect((await set('ACTIVE')).data!.setApplicationStatus.status).toBe('ACTIVE');
      const retry = await gql(stack.gatewayUrl, C_REGISTER_USER, vars, { 'idempotency-key': key, ...bearer(token) });
      expect(retry.data!.registerUser).toEqual({ success: true, error: null });
    });
  });
});
