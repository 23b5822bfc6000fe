/**
 * Issue 16 review (s16-lifecycle): a password change or reset, a sign-out
 * everywhere, a logout and a login are each one write that carries its audit
 * event, so a crash cannot split them.
 *
 * - A password change or reset writes the new hash and a session cut-off (the
 *   credentials' `sessionsGeneration`) in one document update; the sweep that
 *   revokes the sessions one by one is only cleanup. identity is killed right
 *   after that write (FAULT_INJECTION `audit:before-relay`, before the sweep):
 *   after the restart the attacker's access token and refresh token are
 *   refused, the changer's own session still works, and both events arrived.
 * - A logout, a sign-out everywhere and a login were recorded *before* their
 *   change: the same crash point then left an event for a change that never
 *   happened. Now the event rides in the change's write: after the crash the
 *   change and its event are both there.
 * - `user.closed` had the id of the user: a second closing (after a reopen)
 *   was dropped as a duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  crash,
  gql,
  LOGIN,
  login,
  openDatabase,
  reconcile,
  removeDir,
  startTestStack,
  uniqueEmail,
  waitForOutbox,
} from './support/stack.js';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';
import { CHANGE, ME, REFRESH, REQUEST_RESET, RESET } from './support/session-operations.js';

const CLOSE = 'mutation($id: ID) { closeAccount(userId: $id) { status } }';
const PASSWORD = 'maple-Syrup-1867!';
const NEW_PASSWORD = 'Second-Password-22';

const codeOf = (res: { errors?: Array<{ extensions?: Record<string, any> }> }) => res.errors?.[0]?.extensions?.code as string | undefined;

describe('session lifecycle: a crash cannot split a change from its cut-off or its event', () => {
  let stack: RunningStack;
  let dataDir: string;
  let dbs: Record<'identity' | 'orgusers', Connection>;
  const adminJwt = async () => (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  const events = async (filter: Record<string, unknown>): Promise<AuditNode[]> => {
    const res = await gql(stack.gatewayUrl, AUDIT_EVENTS, { filter, first: 100 }, bearer(await adminJwt()));
    expect(res.data!.auditEvents.errors).toEqual([]);
    return res.data!.auditEvents.nodes as AuditNode[];
  };
  /** identity relays what a crash left at its start; reconcile moves whatever is still waiting. */
  const settledEvents = async (filter: Record<string, unknown>) => {
    await reconcile(dataDir);
    return events(filter);
  };
  /** A self-registered member of acme (B's register), its email verified for resets. */
  async function member(label: string) {
    const email = uniqueEmail(label);
    const res = await gql(
      stack.gatewayUrl,
      B_REGISTER,
      { ...realisticRegisterVariables(email), telephone: null },
      { 'x-organization-slug': 'acme' },
    );
    expect(res.errors).toBeUndefined();
    return { email, id: res.data!.register.user.id as string };
  }
  /** The gateway's verdict on an access token; a verdict is cached REVOCATION_CHECK_TTL_MS (2 s): polled up to 5 s. */
  const expectRefusedSoon = async (token: string) =>
    expect
      .poll(async () => codeOf(await gql(stack.gatewayUrl, ME, {}, bearer(token))), { timeout: 5_000, interval: 250 })
      .toBe('UNAUTHENTICATED');

  beforeAll(async () => {
    // The interval pass is pushed far away: only a restart's first pass or reconcile can move what a crash left.
    const started = await startTestStack({
      env: { LOG_LEVEL: 'info', RECONCILE_MIN_MARKER_AGE_SECONDS: '0', AUDIT_RELAY_INTERVAL_SECONDS: '3600' },
    });
    ({ stack, dataDir } = started);
    const prefix = started.options.databasePrefix ?? '';
    dbs = { identity: await openDatabase(stack, prefix, 'identity'), orgusers: await openDatabase(stack, prefix, 'orgusers') };
    await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
  });

  afterAll(async () => {
    for (const db of Object.values(dbs ?? {})) await db.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it("changePassword killed after the credentials write, before the sweep: the attacker's tokens are refused, the changer's session stands", async () => {
    const { email, id } = await member('change');
    const attacker = await login(stack.gatewayUrl, 'acme', email, PASSWORD);
    const owner = await login(stack.gatewayUrl, 'acme', email, PASSWORD);
    expect((await gql(stack.gatewayUrl, ME, {}, bearer(attacker.jwt))).data?.me.id).toBe(id);
    await crash(stack, 'identity', 'audit:before-relay', async () => {
      await gql(stack.gatewayUrl, CHANGE, { c: PASSWORD, n: NEW_PASSWORD }, bearer(owner.jwt));
    });
    // The change committed (the new password works), the sweep never ran (the attacker's session is not marked revoked)...
    await login(stack.gatewayUrl, 'acme', email, NEW_PASSWORD);
    const stored = await dbs.identity.collection<{ _id: string; revokedAt?: Date }>('sessions').findOne({ _id: attacker._id });
    expect(stored?.revokedAt).toBeUndefined();
    // ...and still the attacker's access token and refresh token are refused.
    await expectRefusedSoon(attacker.jwt);
    expect(codeOf(await gql(stack.gatewayUrl, REFRESH, { t: attacker.refreshToken }))).toBe('UNAUTHENTICATED');
    // The changer keeps the session the change was made from, and its refreshes.
    expect((await gql(stack.gatewayUrl, ME, {}, bearer(owner.jwt))).data?.me.id).toBe(id);
    const refreshed = await gql(stack.gatewayUrl, REFRESH, { t: owner.refreshToken });
    expect(refreshed.errors).toBeUndefined();
    expect((await gql(stack.gatewayUrl, ME, {}, bearer(refreshed.data!.refreshSession.jwt))).data?.me.id).toBe(id);
    // mySessions lists what stands: the changer's login, not the attacker's.
    const mine = await gql(stack.gatewayUrl, '{ mySessions { id } }', {}, bearer(refreshed.data!.refreshSession.jwt));
    expect(mine.data!.mySessions.map((s: { id: string }) => s.id)).not.toContain(attacker._id);
    // Both events were in that one write.
    expect((await settledEvents({ target: id })).map((e) => e.action).sort()).toEqual(
      expect.arrayContaining(['session.revoked', 'user.password_changed']),
    );
  });

  it("resetPassword killed after the credentials write, before the sweep: every old session's tokens are refused", async () => {
    const { email, id } = await member('reset');
    const attacker = await login(stack.gatewayUrl, 'acme', email, PASSWORD);
    await gql(stack.gatewayUrl, REQUEST_RESET, { e: email });
    const code = /\b(\d{6})\b/.exec((await waitForOutbox(dataDir, email, 1))[0]!.text)![1]!;
    await crash(stack, 'identity', 'audit:before-relay', async () => {
      await gql(stack.gatewayUrl, RESET, { e: email, c: code, n: NEW_PASSWORD });
    });
    await login(stack.gatewayUrl, 'acme', email, NEW_PASSWORD);
    await expectRefusedSoon(attacker.jwt);
    expect(codeOf(await gql(stack.gatewayUrl, REFRESH, { t: attacker.refreshToken }))).toBe('UNAUTHENTICATED');
    const actions = (await settledEvents({ target: id })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['session.revoked', 'user.password_reset']));
  });

  it('logout killed right after its write: the session is revoked and its session.revoked event arrives (never one without the other)', async () => {
    const { email, id } = await member('logout');
    const session = await login(stack.gatewayUrl, 'acme', email, PASSWORD);
    await crash(stack, 'identity', 'audit:before-relay', async () => {
      await gql(stack.gatewayUrl, 'mutation { logout }', {}, bearer(session.jwt));
    });
    const revoked = (await dbs.identity.collection<{ _id: string; revokedAt?: Date }>('sessions').findOne({ _id: session._id }))?.revokedAt;
    const logged = await settledEvents({ action: 'session.revoked', actor: id });
    expect({ revoked: revoked !== undefined, events: logged.map((e) => e.target) }).toEqual({
      revoked: true,
      events: [{ type: 'session', id: session._id }],
    });
    await expectRefusedSoon(session.jwt);
  });

  it('revokeAllSessions killed right after its write: every session is refused and the event arrives', async () => {
    const { email, id } = await member('signout');
    const other = await login(stack.gatewayUrl, 'acme', email, PASSWORD);
    const current = await login(stack.gatewayUrl, 'acme', email, PASSWORD);
    await crash(stack, 'identity', 'audit:before-relay', async () => {
      await gql(stack.gatewayUrl, 'mutation { revokeAllSessions }', {}, bearer(current.jwt));
    });
    await expectRefusedSoon(other.jwt);
    await expectRefusedSoon(current.jwt);
    expect(codeOf(await gql(stack.gatewayUrl, REFRESH, { t: other.refreshToken }))).toBe('UNAUTHENTICATED');
    expect((await settledEvents({ action: 'session.revoked', actor: id })).map((e) => e.target)).toEqual([{ type: 'user', id }]);
  });

  it('login killed right after its write: the session and its user.login event both exist (no event for a session never made)', async () => {
    const { email, id } = await member('login');
    // B's register signed the member in already (a session, no user.login event).
    const sessionsOf = () => dbs.identity.collection('sessions').countDocuments({ userId: id });
    const before = await sessionsOf();
    await crash(stack, 'identity', 'audit:before-relay', async () => {
      await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'acme', identifier: email, password: PASSWORD });
    });
    const logins = await settledEvents({ action: 'user.login', actor: id });
    expect({ sessions: (await sessionsOf()) - before, logins: logins.length }).toEqual({ sessions: 1, logins: 1 });
  });

  it('closing, reopening and closing again: two user.closed events; closing a closed account adds none', async () => {
    const { id } = await member('closer');
    const admin = await adminJwt();
    expect((await gql(stack.gatewayUrl, CLOSE, { id }, bearer(admin))).data?.closeAccount.status).toBe('CLOSED');
    // Reopened (as an operator's repair leaves it: no API reopens an account today).
    await dbs.orgusers.collection<{ _id: string }>('users').updateOne({ _id: id }, { $set: { status: 'ACTIVE' } });
    expect((await gql(stack.gatewayUrl, CLOSE, { id }, bearer(admin))).data?.closeAccount.status).toBe('CLOSED');
    expect((await gql(stack.gatewayUrl, CLOSE, { id }, bearer(admin))).data?.closeAccount.status).toBe('CLOSED');
    const closed = await settledEvents({ action: 'user.closed', target: id });
    expect(closed).toHaveLength(2);
    expect(new Set(closed.map((e) => e.id)).size).toBe(2);
  });
});
