/**
 * Issue 17's outside review, as an attacker: each test is an attack that
 * worked on main before its fix (the test failed), through the gateway of a
 * real stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import {
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
  type GraphQLResponse,
} from './support/stack.js';

const PASSWORD = 'Kessel-Run-12-Parsecs';
const REGISTER = `mutation($email: String!, $password: String!) {
  register(email: $email, password: $password, firstName: "Han", lastName: "Solo") { user { _id } session { jwt } }
}`;
const ACCEPT = `mutation($version: String!) { acceptLegalAgreement(version: $version) { id legalAgreementVersions { version } } }`;
const PREFERENCES = `mutation($email: Boolean) { updateNotificationPreferences(input: { email: $email }) { id } }`;
const CHANGE_PASSWORD = `mutation($currentPassword: String!, $newPassword: String!) {
  changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { success }
}`;
const REFRESH = `mutation($refreshToken: String!) { refreshSession(refreshToken: $refreshToken) { jwt refreshToken } }`;

const codeOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.code;

describe('issue 17 review: what a stranger can still do', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  const url = () => stack.gatewayUrl;

  /** B's customer of the self-signup organization `shop`: anyone on the internet can be one. */
  async function customer(): Promise<{ id: string; jwt: string }> {
    const res = await gql(url(), REGISTER, { email: uniqueEmail('customer'), password: PASSWORD }, { 'x-organization-slug': 'shop' });
    expect(res.errors).toBeUndefined();
    return { id: res.data!.register.user._id as string, jwt: res.data!.register.session.jwt as string };
  }

  /** The customer signed in: a login with its refresh token. */
  async function signedIn(): Promise<{ id: string; email: string; jwt: string; refreshToken: string }> {
    const email = uniqueEmail('refresher');
    const res = await gql(url(), REGISTER, { email, password: PASSWORD }, { 'x-organization-slug': 'shop' });
    expect(res.errors).toBeUndefined();
    const session = await login(url(), 'shop', email, PASSWORD);
    return { id: res.data!.register.user._id as string, email, jwt: session.jwt, refreshToken: session.refreshToken };
  }

  beforeAll(async () => {
    let options;
    ({ stack, dataDir, options } = await startTestStack());
    prefix = options.databasePrefix ?? '';
    await bootstrapOrganization(dataDir, 'shop', ['--self-signup']);
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('finding 1: a self-signed-up customer floods their organization through their own account state', () => {
    it("A's account writes (acceptLegalAgreement, updateNotificationPreferences) are rate limited per user: no flood of events", async () => {
      const me = await customer();
      // Each of these was a user.updated event in the organization's trail and a POST to each of its webhook receivers.
      const answers: GraphQLResponse[] = [];
      for (let i = 0; i < 15; i++) answers.push(await gql(url(), ACCEPT, { version: `terms-${i}` }, bearer(me.jwt)));
      for (let i = 0; i < 5; i++) answers.push(await gql(url(), PREFERENCES, { email: i % 2 === 0 }, bearer(me.jwt)));
      expect(answers.map(codeOf)).toEqual(Array(20).fill(undefined));

      const over = await gql(url(), ACCEPT, { version: 'terms-over' }, bearer(me.jwt));
      expect(codeOf(over)).toBe('RATE_LIMITED');
      expect(over.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      const toggled = await gql(url(), PREFERENCES, { email: false }, bearer(me.jwt));
      expect(codeOf(toggled)).toBe('RATE_LIMITED');

      // The trail holds the 20 writes' events and nothing of the refused ones (each event is also a webhook delivery).
      const db = await openDatabase(stack, prefix, 'orgusers');
      try {
        const updates = () => db.collection('audit_events').countDocuments({ action: 'user.updated', 'target.id': me.id });
        await expect.poll(updates, { timeout: 10_000 }).toBe(20);
        await new Promise((r) => setTimeout(r, 500));
        expect(await updates()).toBeLessThanOrEqual(20);
      } finally {
        await db.close();
      }

      // Another customer has a budget of their own.
      const other = await customer();
      expect(codeOf(await gql(url(), ACCEPT, { version: 'terms-1' }, bearer(other.jwt)))).toBeUndefined();
    });

    it('a profile holds at most 100 accepted agreement versions: a new one past them is refused at `version`, an accepted one is still answered', async () => {
      const me = await customer();
      // 99 accepted already (written as the service writes them: accepting them over HTTP would take minutes under the rate limit).
      const db = await openDatabase(stack, prefix, 'orgusers');
      try {
        const at = new Date();
        const stored = await db
          .collection<{ _id: string }>('users')
          .updateOne(
            { _id: me.id },
            { $set: { legalAgreementVersions: Array.from({ length: 99 }, (_, i) => ({ version: `old-${i}`, acceptedAt: at })) } },
          );
        expect(stored.modifiedCount).toBe(1);
      } finally {
        await db.close();
      }
      const hundredth = await gql(url(), ACCEPT, { version: 'terms-100' }, bearer(me.jwt));
      expect(hundredth.errors).toBeUndefined();
      expect(hundredth.data!.acceptLegalAgreement.legalAgreementVersions).toHaveLength(100);

      const past = await gql(url(), ACCEPT, { version: 'terms-101' }, bearer(me.jwt));
      expect(codeOf(past)).toBe('BAD_USER_INPUT');
      expect(past.errors![0]!.extensions!.fields).toEqual([{ path: 'version', message: expect.stringContaining('100') }]);
      // In A's style (parseInput's message).
      expect(past.errors![0]!.message).toBe('Invalid input: version cannot be added: a user accepts at most 100 agreement versions');

      // Accepting a version already accepted stays an answer, not an error.
      const again = await gql(url(), ACCEPT, { version: 'old-5' }, bearer(me.jwt));
      expect(again.errors).toBeUndefined();
      expect(again.data!.acceptLegalAgreement.legalAgreementVersions).toHaveLength(100);
    });
  });

  describe('finding 2: a customer fills the session store by refreshing in a loop', () => {
    it('refreshSession is limited to 30 per user per minute; a refused refresh keeps the login (token not spent, family not revoked)', async () => {
      const me = await signedIn();
      const db = await openDatabase(stack, prefix, 'identity');
      try {
        const sessionsOf = () => db.collection('sessions').countDocuments({ userId: me.id });
        // Each refresh kept one more session document for REFRESH_TOKEN_TTL_DAYS (30 days): a loop wrote ~35 per second.
        const before = await sessionsOf();
        let current = { jwt: me.jwt, refreshToken: me.refreshToken };
        for (let i = 0; i < 30; i++) {
          const res = await gql(url(), REFRESH, { refreshToken: current.refreshToken });
          expect(res.errors, `refresh ${i + 1}`).toBeUndefined();
          current = res.data!.refreshSession as typeof current;
        }
        const over = await gql(url(), REFRESH, { refreshToken: current.refreshToken });
        expect(codeOf(over)).toBe('RATE_LIMITED');
        expect(over.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
        expect(await sessionsOf()).toBe(before + 30);
        // Refused before the token was rotated: the login stands (no reuse detected, no family revoked).
        const me2 = await gql(url(), `{ me { id } }`, {}, bearer(current.jwt));
        expect(me2.data?.me?.id).toBe(me.id);
        // In the database: the session behind `current` (its refresh token reads "<sessionId>.<secret>") is neither
        // rotated nor revoked, and nothing of the login was revoked.
        const behind = await db
          .collection<{ _id: string; rotatedAt?: Date; revokedAt?: Date }>('sessions')
          .findOne({ _id: current.refreshToken.split('.')[0]! });
        expect(behind).not.toBeNull();
        expect(behind!.rotatedAt).toBeUndefined();
        expect(behind!.revokedAt).toBeUndefined();
        expect(await db.collection('sessions').countDocuments({ userId: me.id, revokedAt: { $exists: true } })).toBe(0);
        // Another user's refreshes are their own.
        const other = await signedIn();
        expect(codeOf(await gql(url(), REFRESH, { refreshToken: other.refreshToken }))).toBeUndefined();
      } finally {
        await db.close();
      }
    });

    it('the limit never hides a reuse: a leaked, already rotated token past the 30 refreshes is reuse-detected and ends the login', async () => {
      const me = await signedIn();
      // The thief's copy: the first refresh token, which the owner's client rotates away.
      const leaked = me.refreshToken;
      let current = { jwt: me.jwt, refreshToken: me.refreshToken };
      for (let i = 0; i < 30; i++) {
        const res = await gql(url(), REFRESH, { refreshToken: current.refreshToken });
        expect(res.errors, `refresh ${i + 1}`).toBeUndefined();
        current = res.data!.refreshSession as typeof current;
      }
      const reuse = await gql(url(), REFRESH, { refreshToken: leaked });
      // Not RATE_LIMITED: the reuse is detected (UNAUTHENTICATED) and answered by revoking the login.
      expect(codeOf(reuse)).toBe('UNAUTHENTICATED');
      // The whole login is revoked: the owner's current tokens no longer work either.
      expect(codeOf(await gql(url(), `{ me { id } }`, {}, bearer(current.jwt)))).toBe('UNAUTHENTICATED');
      expect(codeOf(await gql(url(), REFRESH, { refreshToken: current.refreshToken }))).toBe('UNAUTHENTICATED');
      const db = await openDatabase(stack, prefix, 'identity');
      try {
        // The presented (leaked) session and the login's current one are revoked in the database (rotated ones are refused as rotated).
        const ids = [leaked, current.refreshToken].map((t) => t.split('.')[0]!);
        const revoked = await db
          .collection<{ _id: string }>('sessions')
          .countDocuments({ _id: { $in: ids }, revokedAt: { $exists: true } });
        expect(revoked).toBe(2);
      } finally {
        await db.close();
      }
    });
  });

  describe('finding 3: one login signs out everywhere over and over', () => {
    it("revokeAllSessions ends the caller's own session too: a second call with the same token writes no second event", async () => {
      const me = await signedIn();
      const db = await openDatabase(stack, prefix, 'identity');
      try {
        // Each call was a session.revoked in the trail and a webhook delivery; the token's cached liveness
        // (REVOCATION_CHECK_TTL_MS) let one login make ~65 of them a second.
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => gql(url(), `mutation { revokeAllSessions }`, {}, bearer(me.jwt))),
        );
        const succeeded = answers.filter((a) => a.errors === undefined);
        expect(succeeded).toHaveLength(1);
        expect(answers.filter((a) => a.errors !== undefined).map(codeOf)).toEqual(Array(9).fill('UNAUTHENTICATED'));
        const credential = await db.collection<{ _id: string; sessionsGeneration?: number }>('credentials').findOne({ _id: me.id });
        expect(credential?.sessionsGeneration).toBe(1);
      } finally {
        await db.close();
      }
    });
  });

  describe('finding 4: a signed-in customer holds the password hasher', () => {
    const passwords = [PASSWORD, 'Second-Password-22'] as const;
    /** Five changes alternating the two passwords, each going through: the last sets passwords[1]. */
    const changeFiveTimes = async (jwt: string) => {
      for (let i = 0; i < 5; i++) {
        const res = await gql(
          url(),
          CHANGE_PASSWORD,
          { currentPassword: passwords[i % 2], newPassword: passwords[(i + 1) % 2] },
          bearer(jwt),
        );
        expect(res.errors, `change ${i + 1}`).toBeUndefined();
      }
    };
    it('changePassword makes at most 5 changes per user per minute: alternating two passwords cost two argon2id hashes a call', async () => {
      const me = await signedIn();
      // Each call hashed twice (verify, then the new hash): a loop kept HASH_CONCURRENCY busy for everyone.
      await changeFiveTimes(me.jwt);
      const over = await gql(url(), CHANGE_PASSWORD, { currentPassword: passwords[1], newPassword: passwords[0] }, bearer(me.jwt));
      expect(codeOf(over)).toBe('RATE_LIMITED');
      expect(over.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      // Refused before anything was checked or written: the password is the one the fifth change set.
      expect((await login(url(), 'shop', me.email, passwords[1])).jwt).toBeTruthy();
    });

    it("a wrong current password spends login's budget, not the change budget: 4 wrong guesses, then 5 changes still go through", async () => {
      const me = await signedIn();
      // Below login's lockout (LOGIN_MAX_FAILURES_PER_IDENTIFIER, 5): each guess reserves a change and gives it back.
      for (let i = 0; i < 4; i++) {
        const res = await gql(url(), CHANGE_PASSWORD, { currentPassword: `Wrong-Guess-${i}-x`, newPassword: passwords[1] }, bearer(me.jwt));
        expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'currentPassword' }] });
      }
      // Without the give-back, 4 of the 5 were spent: the second change would be RATE_LIMITED.
      await changeFiveTimes(me.jwt);
      expect(codeOf(await gql(url(), CHANGE_PASSWORD, { currentPassword: passwords[1], newPassword: passwords[0] }, bearer(me.jwt)))).toBe(
        'RATE_LIMITED',
      );
    });
  });
});
