import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger, generateEncryptionKey, type RunningService } from '@usergraph/service-kit';
import { postCommand, postGraphQL, runCommand, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
import { orgUsersEnvSchema, startOrgUsers } from '@usergraph/org-users';
import { startIdentity } from './app.js';
import { identityEnvSchema } from './env.js';
import type { CredentialDoc } from './modules/credentials/credential-repository.js';
import type { SessionDoc } from './modules/sessions/session-repository.js';

const SECRET = `identity-test-secret-${randomBytes(16).toString('hex')}`;
const PASSWORD = 'Correct-Horse-Battery-9';

const REGISTER = `mutation($email: String!, $password: String!, $firstName: String!, $lastName: String!) {
  register(email: $email, password: $password, firstName: $firstName, lastName: $lastName) {
    user { id email firstName lastName name status }
    session { _id jwt expires refreshToken refreshTokenExpires }
    message
  }
}`;
const LOGIN = `mutation($org: String!, $id: String!, $pw: String!) {
  login(organizationSlug: $org, identifier: $id, password: $pw) { _id jwt expires refreshToken }
}`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { _id jwt refreshToken } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`;

const suffix = () => randomBytes(3).toString('hex');

describe('identity subgraph', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let orgUsersConn: Connection;
  let conn: Connection;
  let issuer: TestIssuer;
  let orgUsers: RunningService;
  let identity: RunningService;
  let orgUsersUrl: string;
  let url: string;
  let open: { id: string; slug: string };
  let closed: { id: string; slug: string };
  let identityJwks: ReturnType<typeof createLocalJWKSet>;

  const orgUsersCommand = <R = any>(name: string, input: unknown, from = name === 'ensureOrganization' ? 'cli' : 'identity') =>
    runCommand<R>(orgUsersUrl, name, input, { secret: SECRET, service: 'org-users', from });
  /** Each command accepts only its callers: org-users' and the gateway's, else the operator's CLI. */
  const CALLERS: Record<string, string> = {
    createCredentials: 'org-users',
    usernameOwner: 'org-users',
    deleteCredentials: 'org-users',
    revokeSessions: 'org-users',
    callerStatus: 'gateway',
  };
  const command = <R = any>(name: string, input: unknown, from = CALLERS[name] ?? 'cli') =>
    runCommand<R>(url, name, input, { secret: SECRET, service: 'identity', from });
  const register = (email: string, slug: string | undefined, password = PASSWORD) =>
    postGraphQL(
      url,
      REGISTER,
      { email, password, firstName: 'Grace', lastName: 'Hopper' },
      { headers: slug ? { 'x-organization-slug': slug } : {} },
    );
  const login = (org: string, id: string, pw: string) => postGraphQL(url, LOGIN, { org, id, pw });

  beforeAll(async () => {
    store = await startTestStore();
    issuer = await startTestIssuer();
    const common = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      APOLLO_TELEMETRY_DISABLED: '1',
      INTERNAL_SERVICE_SECRET: SECRET,
      JWKS_URL: issuer.jwksUrl,
      MONGODB_URI: store.uri,
      LICENSING_URL: 'http://127.0.0.1:9',
      // Nothing listens on port 9: these tests never reach identity from org-users.
      IDENTITY_URL: 'http://127.0.0.1:9',
      NATIONAL_ID_ENCRYPTION_KEY: generateEncryptionKey(),
      // Every request asks whether its session stands (no cached verdicts), so a revocation shows at once.
      REVOCATION_CHECK_TTL_MS: '0',
    };
    orgUsersConn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('identity_orgusers'), appName: 'org-users-test' });
    orgUsers = await startOrgUsers(orgUsersEnvSchema.parse(common), createLogger({ service: 'org-users', level: 'silent' }), orgUsersConn);
    orgUsersUrl = `http://127.0.0.1:${orgUsers.port}`;

    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('identity_app'), appName: 'identity-test' });
    const env = identityEnvSchema.parse({ ...common, ORG_USERS_URL: orgUsersUrl, SIGNING_KEY_ENCRYPTION_KEY: generateEncryptionKey() });
    identity = await startIdentity(env, createLogger({ service: 'identity', level: 'silent' }), conn);
    url = `http://127.0.0.1:${identity.port}`;

    open = (await orgUsersCommand('ensureOrganization', { slug: `open-${suffix()}`, name: 'Open Org', selfSignup: true })).organization;
    closed = (await orgUsersCommand('ensureOrganization', { slug: `closed-${suffix()}`, name: 'Closed Org', selfSignup: false }))
      .organization;
    identityJwks = createLocalJWKSet((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
  });

  afterAll(async () => {
    await identity?.close();
    await orgUsers?.close();
    await issuer?.close();
    await conn?.close();
    await orgUsersConn?.close();
    await store?.stop();
  });

  /** Verifies an access token identity issued, against identity's own JWKS. */
  const verifyIssued = async (jwt: string) =>
    (await jwtVerify(jwt, identityJwks, { issuer: 'usergraph', audience: 'usergraph', algorithms: ['EdDSA'] })).payload;

  /**
   * Signs in, then has the test issuer (the JWKS this service trusts) sign a
   * token for that session: identity honours a token only while its session stands.
   */
  const signedIn = async (organization: { id: string; slug: string }, identifier: string) => {
    const session = (await login(organization.slug, identifier, PASSWORD)).body.data!.login;
    const { sub } = await verifyIssued(session.jwt as string);
    return { token: await issuer.sign({ sub, org: organization.id, sid: session._id }), sessionId: session._id as string };
  };

  it('publishes only public keys in its JWKS', async () => {
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.kid).toBeTruthy();
      expect(key.d).toBeUndefined();
    }
  });

  describe('register and login', () => {
    const email = `grace.${suffix()}@example.com`;
    let userId: string;

    it('registers into the organization of x-organization-slug and signs the user in', async () => {
      const res = await register(email, open.slug);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const { user, session, message } = res.body.data!.register;
      expect(user).toMatchObject({ email, firstName: 'Grace', lastName: 'Hopper', name: 'Grace Hopper', status: 'ACTIVE' });
      expect(message).toBeTruthy();
      userId = user.id;
      const claims = await verifyIssued(session.jwt);
      expect(claims).toMatchObject({ sub: userId, org: open.id, typ: 'user', sid: session._id });
      expect(session.expires).toBe(claims.exp! * 1000);
      expect(session.refreshToken).toMatch(new RegExp(`^${session._id}\\.`));
      // The profile lives in org-users; the password only as an argon2id hash here.
      expect(await orgUsersCommand('findUserIdByIdentifier', { organizationId: open.id, kind: 'email', value: email })).toEqual({ userId });
      const credential = await conn.collection<CredentialDoc>('credentials').findOne({ _id: userId });
      expect(credential?.passwordHash).toMatch(/^\$argon2id\$/);
      expect(JSON.stringify(credential)).not.toContain(PASSWORD);
    });

    it('refuses the same email again with CONFLICT, leaving no orphan credential', async () => {
      const before = await conn.collection('credentials').countDocuments();
      const res = await register(email.toUpperCase(), open.slug);
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', fields: [{ path: 'email' }] });
      expect(await conn.collection('credentials').countDocuments()).toBe(before);
    });

    it('refuses an organization without self-signup, and an unknown one, with one answer (no existence oracle)', async () => {
      const closedOne = await register(`x.${suffix()}@example.com`, closed.slug);
      const unknown = await register(`y.${suffix()}@example.com`, `no-such-org-${suffix()}`);
      expect(closedOne.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(closedOne.body.errors).toEqual(unknown.body.errors);
    });

    it('refuses a weak password with BAD_USER_INPUT on the password field', async () => {
      const res = await register(`weak.${suffix()}@example.com`, open.slug, 'password');
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect((res.body.errors?.[0]?.extensions?.fields as Array<{ path: string }>).map((f) => f.path)).toContain('password');
    });

    it('logs in with the email (any case) and the password', async () => {
      const res = await login(open.slug, email.toUpperCase(), PASSWORD);
      expect(res.body.errors).toBeUndefined();
      const session = res.body.data!.login;
      expect(await verifyIssued(session.jwt)).toMatchObject({ sub: userId, org: open.id, typ: 'user', sid: session._id });
    });

    it('gives one and the same error for a wrong password, an unknown identifier and an unknown organization', async () => {
      const wrongPassword = await login(open.slug, email, `${PASSWORD}-wrong`);
      const unknownUser = await login(open.slug, `nobody.${suffix()}@example.com`, PASSWORD);
      const unknownOrg = await login(`no-such-org-${suffix()}`, email, PASSWORD);
      const otherOrg = await login(closed.slug, email, PASSWORD);
      const errors = [wrongPassword, unknownUser, unknownOrg, otherOrg].map((r) => {
        expect(r.body.data ?? null).toBeNull();
        const { message, extensions } = r.body.errors![0]!;
        return { message, code: extensions?.code };
      });
      expect(errors[0]!.code).toBe('UNAUTHENTICATED');
      for (const e of errors) expect(e).toEqual(errors[0]);
    });

    it('refreshSession rotates; re-using a rotated token revokes the whole family', async () => {
      const first = (await login(open.slug, email, PASSWORD)).body.data!.login;
      const second = await postGraphQL(url, REFRESH, { t: first.refreshToken });
      expect(second.body.errors).toBeUndefined();
      const rotated = second.body.data!.refreshSession;
      expect(rotated.refreshToken).not.toBe(first.refreshToken);
      expect(rotated._id).not.toBe(first._id);
      expect(await verifyIssued(rotated.jwt)).toMatchObject({ sub: userId, sid: rotated._id });

      const reuse = await postGraphQL(url, REFRESH, { t: first.refreshToken });
      expect(reuse.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(reuse.body.errors?.[0]?.message).toMatch(/reuse/i);

      // The thief's (or the victim's) newer token is dead too.
      const after = await postGraphQL(url, REFRESH, { t: rotated.refreshToken });
      expect(after.body.data ?? null).toBeNull();
      expect(after.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('a refresh token presented three times at once is reuse: no session of that login survives', async () => {
      const session = (await login(open.slug, email, PASSWORD)).body.data!.login;
      const results = await Promise.all([1, 2, 3].map(() => postGraphQL(url, REFRESH, { t: session.refreshToken })));
      const winners = results.filter((r) => r.body.data?.refreshSession);
      expect(winners.length).toBeLessThanOrEqual(1);
      for (const loser of results.filter((r) => !r.body.data?.refreshSession)) {
        expect(loser.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      // Whichever request got a new session, the reuse revoked it with its family.
      for (const w of winners) {
        const next = await postGraphQL(url, REFRESH, { t: w.body.data!.refreshSession.refreshToken });
        expect(next.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      expect((await postGraphQL(url, REFRESH, { t: session.refreshToken })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('a login ends SESSION_MAX_DAYS after its sign-in, however often it is refreshed (red-team: refreshing slid the expiry forever)', async () => {
      const session = (await login(open.slug, email, PASSWORD)).body.data!.login;
      const refreshed = (await postGraphQL(url, REFRESH, { t: session.refreshToken })).body.data!.refreshSession;
      // The login's family id is its first session's ObjectId: pretend it was signed in 91 days ago.
      const signedIn91DaysAgo = Types.ObjectId.createFromTime(Math.floor(Date.now() / 1000) - 91 * 86_400).toHexString();
      await conn.collection<SessionDoc>('sessions').updateOne({ _id: refreshed._id }, { $set: { familyId: signedIn91DaysAgo } });
      const res = await postGraphQL(url, REFRESH, { t: refreshed.refreshToken });
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('a refresh token of a user whose credentials are gone (a login that raced the deletion) ends its login', async () => {
      const racer = `racer.${suffix()}@example.com`;
      const registered = (await register(racer, open.slug)).body.data!.register;
      await conn.collection('credentials').deleteOne({ _id: registered.user.id });
      const res = await postGraphQL(url, REFRESH, { t: registered.session.refreshToken });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(
        await command('callerStatus', {
          kind: 'user',
          organizationId: open.id,
          userId: registered.user.id,
          sessionId: registered.session._id,
        }),
      ).toEqual({ live: false });
    });

    it('refuses malformed and forged refresh tokens', async () => {
      const session = (await login(open.slug, email, PASSWORD)).body.data!.login;
      const [id] = session.refreshToken.split('.');
      for (const t of ['garbage', `${id}.${randomBytes(32).toString('base64url')}`]) {
        const res = await postGraphQL(url, REFRESH, { t });
        expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      // The session itself was not harmed by the forgery attempt.
      expect((await postGraphQL(url, REFRESH, { t: session.refreshToken })).body.data?.refreshSession).toBeTruthy();
    });
  });

  describe('provisioned users and _entities(User)', () => {
    let userId: string;
    const username = `ada_${suffix()}`;
    const email = `ada.${suffix()}@example.com`;

    beforeAll(async () => {
      ({ userId } = await command<{ userId: string }>('provisionUser', {
        organizationId: closed.id,
        email,
        username,
        password: PASSWORD,
        firstName: 'Ada',
        lastName: 'Lovelace',
      }));
    });

    it('provisionUser refuses a taken username with CONFLICT on ["username"]', async () => {
      const res = await postCommand(
        url,
        'provisionUser',
        { organizationId: closed.id, email: `other.${suffix()}@example.com`, username, password: PASSWORD, firstName: 'A', lastName: 'B' },
        { secret: SECRET, service: 'identity' },
      );
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'CONFLICT', fields: [{ path: ['username'] }] });
    });

    it('the provisioned user logs in by username', async () => {
      const res = await login(closed.slug, username, PASSWORD);
      expect(res.body.errors).toBeUndefined();
      expect(await verifyIssued(res.body.data!.login.jwt)).toMatchObject({ sub: userId, org: closed.id });
    });

    it('returns the username to a caller of the same organization', async () => {
      const { token } = await signedIn(closed, username);
      const res = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] }, { token });
      expect(res.body).toEqual({ data: { _entities: [{ id: userId, username }] } });
    });

    it('returns no data for a user of another organization: a null entity and an error', async () => {
      const stranger = `stranger.${suffix()}@example.com`;
      expect((await register(stranger, open.slug)).body.errors).toBeUndefined();
      const { token } = await signedIn(open, stranger);
      const res = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] }, { token });
      expect(res.body.data?._entities).toEqual([null]);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(res.body)).not.toContain(username);
    });

    it('honours a token only while its session stands: after logout the same token is a 401', async () => {
      const { token, sessionId } = await signedIn(closed, username);
      const subject = { kind: 'user', organizationId: closed.id, userId, sessionId };
      expect((await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] }, { token })).status).toBe(200);
      expect(await command('callerStatus', subject)).toEqual({ live: true });
      // The session id names another user's session: not live for this one.
      expect(await command('callerStatus', { ...subject, userId: 'someone-else' })).toEqual({ live: false });

      expect((await postGraphQL(url, 'mutation { logout }', {}, { token })).body.data?.logout).toBe(true);
      expect(await command('callerStatus', subject)).toEqual({ live: false });
      const res = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] }, { token });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(res.body)).not.toContain(username);
    });

    it('callerStatus: an application is live while it exists in its organization and is ACTIVE, and says what it holds now', async () => {
      const app = await command('createApplication', {
        organizationId: closed.id,
        name: 'Status probe',
        permissions: ['organization-users:read'],
      });
      const subject = { kind: 'application', organizationId: closed.id, clientId: app.clientId };
      expect(await command('callerStatus', subject)).toEqual({ live: true, permissions: ['organization-users:read'] });
      expect(await command('callerStatus', { ...subject, organizationId: open.id })).toEqual({ live: false });
      expect(await command('callerStatus', { ...subject, clientId: 'app_unknown' })).toEqual({ live: false });
      await conn.collection('applications').updateOne({ _id: app.clientId }, { $set: { status: 'INACTIVE' } });
      expect(await command('callerStatus', subject)).toEqual({ live: false });
    });

    it('answers UNAUTHENTICATED without a token', async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] });
      expect(res.body.data?._entities ?? [null]).toEqual([null]);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(res.body)).not.toContain(username);
    });

    it('answers HTTP 401 for a token not signed by the trusted issuer', async () => {
      // identity's own token is not in the (test) JWKS this service trusts.
      const own = (await login(closed.slug, username, PASSWORD)).body.data!.login.jwt as string;
      const res = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] }, { token: own });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('internal commands', () => {
    it('createApplication returns the secret once and stores only its hash', async () => {
      const app = await command('createApplication', {
        organizationId: open.id,
        name: 'CRM sync',
        permissions: ['organization-users:read'],
      });
      expect(app).toMatchObject({ organizationId: open.id, name: 'CRM sync', status: 'ACTIVE', permissions: ['organization-users:read'] });
      expect(app.clientId).toMatch(/^app_/);
      expect(app.clientSecret).toMatch(/^secret_/);
      const stored = await conn.collection('applications').findOne({ _id: app.clientId });
      expect(stored).toBeTruthy();
      expect(JSON.stringify(stored)).not.toContain(app.clientSecret);
    });

    it('refuses a request without a service token', async () => {
      const res = await postCommand(
        url,
        'createApplication',
        { organizationId: open.id, name: 'x', permissions: [] },
        { secret: SECRET, service: 'identity', authorization: null },
      );
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('refuses a client EdDSA access token, even one identity issued itself', async () => {
      const email = `cmd.${suffix()}@example.com`;
      const jwt = (await register(email, open.slug)).body.data!.register.session.jwt as string;
      for (const token of [jwt, await issuer.sign({ sub: 'u', org: open.id })]) {
        const res = await postCommand(
          url,
          'provisionUser',
          { organizationId: open.id },
          { secret: SECRET, service: 'identity', authorization: `Bearer ${token}` },
        );
        expect(res.status).toBe(401);
      }
    });

    it('refuses a service token for another service', async () => {
      const res = await postCommand(
        url,
        'createApplication',
        { organizationId: open.id, name: 'x', permissions: [] },
        { secret: SECRET, service: 'org-users' },
      );
      expect(res.status).toBe(401);
    });
  });
  describe('hot paths read and write the growing collections by _id', () => {
    // The embedded store answers a filter from its key only when it holds `_id`;
    // any other filter decodes every document of the collection.
    const GROWING = ['credentials', 'sessions', 'user_sessions', 'rate_limits', 'verification_codes', 'applications'];
    const REGISTER_PENDING = `mutation($email: String!, $password: String!) {
      register(email: $email, password: $password, firstName: "Kath", lastName: "Johnson", withVerificationCode: true) { user { id } }
    }`;
    const VERIFY =
      'mutation($org: String!, $email: String!, $code: String!) { verifyEmail(organizationSlug: $org, email: $email, code: $code) { success } }';

    it('register, verifyEmail, login, refresh, username lookup, logout, createCredentials and the client-credentials grant', async () => {
      const recorder = recordFilters(conn, GROWING);
      try {
        const app = await command('createApplication', { organizationId: open.id, name: 'Hot path', permissions: ['users:register'] });
        const grant = await fetch(`${url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }),
        });
        expect(grant.status).toBe(200);

        const email = `kath.${suffix()}@example.com`;
        const registered = await postGraphQL(
          url,
          REGISTER_PENDING,
          { email, password: PASSWORD },
          { headers: { 'x-organization-slug': open.slug } },
        );
        expect(registered.body.errors).toBeUndefined();
        const userId = registered.body.data!.register.user.id as string;
        const sent = await conn.collection('outbox').findOne({ to: email });
        const code = /\b(\d{6})\b/.exec(String(sent?.text))![1]!;
        const wrong = code === '000000' ? '000001' : '000000';
        expect((await postGraphQL(url, VERIFY, { org: open.slug, email, code: wrong })).body.errors?.[0]?.extensions?.code).toBe(
          'BAD_USER_INPUT',
        );
        expect((await postGraphQL(url, VERIFY, { org: open.slug, email, code })).body.data?.verifyEmail.success).toBe(true);

        const session = (await login(open.slug, email, PASSWORD)).body.data!.login;
        const refreshed = (await postGraphQL(url, REFRESH, { t: session.refreshToken })).body.data!.refreshSession;
        expect(refreshed).toBeTruthy();
        const token = await issuer.sign({ sub: userId, org: open.id, sid: refreshed._id });
        const entities = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'User', id: userId }] }, { token });
        expect(entities.body.data?._entities).toEqual([{ id: userId, username: null }]);
        const logout = await postGraphQL(url, 'mutation { logout }', {}, { token });
        expect(logout.body.data?.logout).toBe(true);
        expect((await postGraphQL(url, REFRESH, { t: refreshed.refreshToken })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

        // D's createUser: credentials for a profile org-users wrote (retried: idempotent), then a login by username.
        const username = `kj_${suffix()}`;
        const credentials = { organizationId: open.id, userId: randomBytes(12).toString('hex'), username, password: PASSWORD };
        // As D's createUser does: org-users writes the profile first (login refuses credentials without one).
        await orgUsersCommand('createProfile', {
          userId: credentials.userId,
          organizationId: open.id,
          email: `${username}@example.com`,
          firstName: 'Kath',
          lastName: 'Johnson',
          status: 'ACTIVE',
          username,
        });
        expect(await command('createCredentials', credentials)).toEqual({ userId: credentials.userId });
        expect(await command('createCredentials', credentials)).toEqual({ userId: credentials.userId });
        expect((await login(open.slug, username, PASSWORD)).body.errors).toBeUndefined();
        // Issue 13: D's createUser asks who holds a username (read-only, normalized) to list a taken one with its other errors.
        expect(await command('usernameOwner', { organizationId: open.id, username: username.toUpperCase() })).toEqual({
          ownerId: credentials.userId,
        });
        expect(await command('usernameOwner', { organizationId: closed.id, username })).toEqual({ ownerId: null });
        expect(
          (
            await postCommand(
              url,
              'usernameOwner',
              { organizationId: open.id, username },
              { secret: SECRET, service: 'identity', from: 'licensing' },
            )
          ).status,
        ).toBe(403);

        expect(new Set(recorder.operations.map((o) => o.collection))).toEqual(new Set(GROWING));
        expect(recorder.scans()).toEqual([]);
      } finally {
        recorder.stop();
      }
    });

    it('another tenant\'s session is "not found" to revokeSession, and stays live', async () => {
      const email = `tenant.${suffix()}@example.com`;
      expect((await register(email, open.slug)).body.errors).toBeUndefined();
      const session = (await login(open.slug, email, PASSWORD)).body.data!.login;
      const strangerName = `stranger_${suffix()}`;
      await command('provisionUser', {
        organizationId: closed.id,
        email: `${strangerName}@example.com`,
        username: strangerName,
        password: PASSWORD,
        firstName: 'S',
        lastName: 'T',
      });
      const { token: stranger } = await signedIn(closed, strangerName);
      const recorder = recordFilters(conn, GROWING);
      try {
        const res = await postGraphQL(url, 'mutation($id: ID!) { revokeSession(id: $id) }', { id: session._id }, { token: stranger });
        expect(res.body.data?.revokeSession).toBe(false);
        expect(recorder.scans()).toEqual([]);
      } finally {
        recorder.stop();
      }
      expect((await postGraphQL(url, REFRESH, { t: session.refreshToken })).body.data?.refreshSession).toBeTruthy();
    });

    it("changePassword revokes the user's other sessions by key", async () => {
      const email = `change.${suffix()}@example.com`;
      const registered = (await register(email, open.slug)).body.data!.register;
      const token = await issuer.sign({ sub: registered.user.id, org: open.id, sid: registered.session._id });
      const recorder = recordFilters(conn, GROWING);
      try {
        const res = await postGraphQL(
          url,
          'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { success } }',
          { c: PASSWORD, n: `${PASSWORD}-new` },
          { token },
        );
        expect(res.body.data?.changePassword.success).toBe(true);
        expect(recorder.operations.some((o) => o.collection === 'user_sessions')).toBe(true);
        expect(recorder.scans()).toEqual([]);
      } finally {
        recorder.stop();
      }
      expect((await login(open.slug, email, `${PASSWORD}-new`)).body.errors).toBeUndefined();
    });
  });
});
