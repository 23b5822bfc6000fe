/**
 * Issue 2: the whole stack on the embedded store, B's register and login
 * through the gateway, the bootstrap CLI, and data that survives a restart.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Connection } from 'mongoose';
import { startStack, type BootstrapResult, type RunningStack } from '@usergraph/cli';
import { B_PLACEHOLDER_VARIABLES, B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { bootstrapArgs, cli, gql, openDatabase, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

const LOGIN = `mutation Login($organizationSlug: String!, $identifier: String!, $password: String!) {
  login(organizationSlug: $organizationSlug, identifier: $identifier, password: $password) { _id jwt expires refreshToken }
}`;
const ME = `{ me { id email firstName lastName phoneNumber status organization { slug } } }`;

describe('foundation: the supergraph end to end', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  let orgUsersDb: Connection;
  const email = uniqueEmail('jeanne');
  const password = realisticRegisterVariables(email).password;

  beforeAll(async () => {
    const started = await startTestStack();
    stack = started.stack;
    dataDir = started.dataDir;
    prefix = started.options.databasePrefix ?? '';
    orgUsersDb = await openDatabase(stack, prefix, 'orgusers');
  });

  afterAll(async () => {
    await orgUsersDb?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const usersWithEmail = (e: string) => orgUsersDb.collection('users').countDocuments({ emailNormalized: e.toLowerCase() });

  it("registers with B's operation text verbatim and returns user, session and message", async () => {
    const res = await gql(stack.gatewayUrl, B_REGISTER, realisticRegisterVariables(email));
    expect(res.errors).toBeUndefined();
    const { user, session, message } = res.data!.register;
    expect(user).toMatchObject({
      firstName: 'Jeanne',
      lastName: 'Tremblay',
      name: 'Jeanne Tremblay',
      email,
      telephone: '+15145550142',
      taxNumber: '123456789RT0001',
      organisation: 'Tremblay Designs',
      isSubscribed: false,
    });
    expect(user._id).toBe(user.id);
    expect(session._id).toMatch(/^[a-f0-9]{24}$/);
    expect(session.expires).toBeGreaterThan(Date.now());
    expect(message).toMatch(/created/i);

    // The session is an EdDSA JWT that verifies against the gateway's JWKS.
    const jwks = createRemoteJWKSet(new URL(stack.gatewayUrl.replace('/graphql', '/.well-known/jwks.json')));
    const { payload, protectedHeader } = await jwtVerify(session.jwt, jwks, { issuer: 'usergraph', audience: 'usergraph' });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload.sub).toBe(user.id);
    expect(payload.exp! * 1000).toBe(session.expires);
    expect(await usersWithEmail(email)).toBe(1);
  });

  it("rejects the seed's placeholder values with BAD_USER_INPUT naming the fields, and stores nothing", async () => {
    const before = await orgUsersDb.collection('users').countDocuments();
    const res = await gql(stack.gatewayUrl, B_REGISTER, B_PLACEHOLDER_VARIABLES);
    expect(res.data).toBeNull();
    expect(res.errors).toHaveLength(1);
    const error = res.errors![0]!;
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    const paths = (error.extensions?.fields as Array<{ path: string; message: string }>).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['telephone', 'password']));
    expect(error.message).toMatch(/telephone/);
    expect(error.message).toMatch(/password/);
    expect(error.message).not.toContain('"password"'); // the value itself is never echoed
    expect(await orgUsersDb.collection('users').countDocuments()).toBe(before);
    expect(await usersWithEmail(B_PLACEHOLDER_VARIABLES.email)).toBe(0);
  });

  it('issue 13: stores an address whose fields B sends as null (its "no value") with those fields absent', async () => {
    // B's AddressInput allows null in every field; org-users' createProfile contract used to refuse it (BAD_USER_INPUT on addresses.0.*).
    const nulls = uniqueEmail('nulls');
    const variables = realisticRegisterVariables(nulls);
    const res = await gql(stack.gatewayUrl, B_REGISTER, {
      ...variables,
      telephone: null,
      addresses: [{ city: 'Montreal', description: null, addressLine2: null, stateCode: null, alpha2: 'CA' }],
    });
    expect(res.errors).toBeUndefined();
    const stored = await orgUsersDb.collection('users').findOne({ emailNormalized: nulls.toLowerCase() });
    expect(stored?.addresses).toEqual([{ city: 'Montreal', alpha2: 'CA' }]);
  });

  it('logs in with the email and gets a new session that reads the profile', async () => {
    const res = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email.toUpperCase(), password });
    expect(res.errors).toBeUndefined();
    const session = res.data!.login;
    expect(session.jwt).toBeTruthy();
    expect(session.refreshToken).toMatch(/^[a-f0-9]{24}\./);
    const me = await gql(stack.gatewayUrl, ME, {}, { authorization: `Bearer ${session.jwt}` });
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ email, phoneNumber: '+15145550142', status: 'ACTIVE', organization: { slug: 'public' } });
  });

  it('logs in with the phone number too, and refuses a wrong password with a generic error', async () => {
    const byPhone = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: '+1 (514) 555-0142', password });
    expect(byPhone.errors).toBeUndefined();
    const wrong = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: 'not-the-password-1' });
    const unknown = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: uniqueEmail('nobody'), password });
    expect(wrong.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
  });

  it('refuses a second registration with the same email in the same organization', async () => {
    const res = await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email.toUpperCase()), telephone: null });
    expect(res.data).toBeNull();
    expect(res.errors![0]!.extensions?.code).toBe('CONFLICT');
    expect(res.errors![0]!.extensions?.fields).toEqual([{ path: 'email', message: 'is already in use' }]);
    expect(await usersWithEmail(email)).toBe(1);
  });

  it('creates an organization, its admin and an application with the bootstrap CLI', async () => {
    // The real command, as an operator runs it (the other suites call its bootstrap in their own process).
    const result = JSON.parse(await cli(dataDir, 'bootstrap', ...bootstrapArgs('acme', ['--self-signup']))) as BootstrapResult;
    expect(result.organization).toEqual({ id: expect.stringMatching(/^[a-f0-9]{24}$/), slug: 'acme' });
    expect(result.admin.id).toMatch(/^[a-f0-9]{24}$/);
    expect(result.application.clientId).toMatch(/^app_/);
    expect(result.application.clientSecret.length).toBeGreaterThan(40);

    // The admin logs in by username, holds the ADMIN license, and belongs to acme.
    const login = await gql(stack.gatewayUrl, LOGIN, {
      organizationSlug: 'acme',
      identifier: 'admin',
      password: 'Correct-Horse-Battery-9',
    });
    expect(login.errors).toBeUndefined();
    const me = await gql(
      stack.gatewayUrl,
      '{ me { id username licenses groups organization { slug } } }',
      {},
      {
        authorization: `Bearer ${login.data!.login.jwt}`,
      },
    );
    expect(me.data!.me).toEqual({
      id: result.admin.id,
      username: 'admin',
      licenses: ['ADMIN'],
      groups: ['DEFAULT'],
      organization: { slug: 'acme' },
    });

    // The same email may register in another organization (uniqueness is per tenant).
    const elsewhere = await gql(stack.gatewayUrl, B_REGISTER, realisticRegisterVariables(email), { 'x-organization-slug': 'acme' });
    expect(elsewhere.errors).toBeUndefined();
  });

  it('runs identity, whose password hashing is throughput work, at a lower CPU priority than the other services', async () => {
    const priorityOf = (name: 'identity' | 'org-users' | 'licensing' | 'gateway') => os.getPriority(stack.pid(name));
    expect(priorityOf('identity')).toBe(10);
    for (const name of ['org-users', 'licensing', 'gateway'] as const) expect(priorityOf(name)).toBe(os.getPriority());
  });

  it('keeps users across a restart of the whole stack on the same data directory', async () => {
    await stack.stop();
    stack = await startStack({
      dataDir,
      mongodbUri: process.env.MONGODB_URI,
      ports: { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 },
      databasePrefix: prefix,
    });
    await orgUsersDb.close();
    orgUsersDb = await openDatabase(stack, prefix, 'orgusers');
    const res = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password });
    expect(res.errors).toBeUndefined();
    const me = await gql(stack.gatewayUrl, ME, {}, { authorization: `Bearer ${res.data!.login.jwt}` });
    expect(me.data!.me.email).toBe(email);
    // One user in `public` and one in `acme`, as before the restart.
    expect(await usersWithEmail(email)).toBe(2);
  });
});
