/**
 * Issue 16 review (s16-lifecycle fix-up): the session cut-off under concurrent requests.
 *
 * - A password change compares-and-sets the credential it checked: of two changes (or a change and a
 *   reset) verified against the same credential, only one applies; the other gets CONFLICT
 *   (CONCURRENT_CHANGE) and writes nothing. A reset proves a code, not a password: it always ends last,
 *   and it keeps no login, so an attacker who knew the old password is cut off.
 * - Logins, B's register replays and refreshes that checked the account before a change are born
 *   under the old generation: cut off by it.
 * - The sweep after a change keeps the changer's login (family), whichever of its sessions is current.
 * - Revoking a rotated or already cut-off session revokes nothing and records nothing.
 * - A wrong current password in changePassword is a failed sign-in: recorded, and under login's lockout.
 *
 * One stack; every loop is bounded. Liveness is asked on every request (REVOCATION_CHECK_TTL_MS=0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  LOGIN,
  login,
  removeDir,
  startTestStack,
  uniqueEmail,
  waitForOutbox,
  type GraphQLResponse,
} from './support/stack.js';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';
import { CHANGE, ME, REFRESH, REQUEST_RESET, RESET } from './support/session-operations.js';

const P0 = 'maple-Syrup-1867!';
const VICTIM = 'Victim-New-Pass-41';
const ATTACKER = 'Attacker-Pass-77x';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.code as string | undefined;

describe('session races: a change, a reset, logins, replays and refreshes in flight together', () => {
  let stack: RunningStack;
  let dataDir: string;

  const adminJwt = async () => (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  const events = async (filter: Record<string, unknown>): Promise<AuditNode[]> => {
    const res = await gql(stack.gatewayUrl, AUDIT_EVENTS, { filter, first: 100 }, bearer(await adminJwt()));
    expect(res.data!.auditEvents.errors).toEqual([]);
    return res.data!.auditEvents.nodes as AuditNode[];
  };
  /** A self-registered member of acme (B's register), its email verified for resets. */
  async function member(label: string, idempotencyKey?: string) {
    const email = uniqueEmail(label);
    const vars = { ...realisticRegisterVariables(email), telephone: null };
    const res = await gql(stack.gatewayUrl, B_REGISTER, vars, {
      'x-organization-slug': 'acme',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    });
    expect(res.errors).toBeUndefined();
    return { email, id: res.data!.register.user.id as string, vars };
  }
  const signIn = (email: string, password: string) =>
    gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'acme', identifier: email, password });
  const stands = async (jwt: string) => codeOf(await gql(stack.gatewayUrl, ME, {}, bearer(jwt))) === undefined;
  const refreshes = async (token: string) => codeOf(await gql(stack.gatewayUrl, REFRESH, { t: token })) === undefined;
  async function resetCode(email: string) {
    await gql(stack.gatewayUrl, REQUEST_RESET, { e: email });
    return /\b(\d{6})\b/.exec((await waitForOutbox(dataDir, email, 1))[0]!.text)![1]!;
  }

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack({
      env: { LOG_LEVEL: 'info', REVOCATION_CHECK_TTL_MS: '0' },
      // The wrong passwords the races produce all come from 127.0.0.1: the per-IP lockout stays out of the way.
      serviceEnv: { identity: { LOGIN_MAX_FAILURES_PER_IP: '10000' } },
    }));
    await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('two changes verified against the same password: exactly one applies, the other is a CONFLICT that wrote nothing', async () => {
    // Both usually read the credential before either writes (the hash is slow), and the loser's compare-and-set
    // fails: CONFLICT. Under load the loser may lag the winner's whole path and never reach the compare-and-set
    // (its session already cut off: UNAUTHENTICATED; or the new password read: BAD_USER_INPUT): that round is rerun.
    // Every round must keep the invariants; at least one CONFLICT within the bound.
    const MAX_ROUNDS = 6;
    let conflicts = 0;
    for (let round = 0; round < MAX_ROUNDS && conflicts < 2; round++) {
      const { email } = await member(`lost-${round}`);
      const victim = await login(stack.gatewayUrl, 'acme', email, P0);
      const attacker = await login(stack.gatewayUrl, 'acme', email, P0);
      const [v, a] = await Promise.all([
        gql(stack.gatewayUrl, CHANGE, { c: P0, n: VICTIM }, bearer(victim.jwt)),
        gql(stack.gatewayUrl, CHANGE, { c: P0, n: ATTACKER }, bearer(attacker.jwt)),
      ]);
      const applied = [v, a].filter((r) => r.data?.changePassword.success === true);
      expect(applied, `round ${round}`).toHaveLength(1);
      const loser = applied[0] === v ? a : v;
      const extensions = loser.errors?.[0]?.extensions;
      if (extensions?.code === 'CONFLICT') {
        expect(extensions).toMatchObject({ code: 'CONFLICT', reason: 'CONCURRENT_CHANGE' });
        conflicts++;
      } else {
        expect(['UNAUTHENTICATED', 'BAD_USER_INPUT'], `round ${round}: the loser answered ${JSON.stringify(extensions)}`).toContain(
          extensions?.code,
        );
      }
      const [winner, lost] =
        applied[0] === v
          ? [
              { s: victim, p: VICTIM },
              { s: attacker, p: ATTACKER },
            ]
          : [
              { s: attacker, p: ATTACKER },
              { s: victim, p: VICTIM },
            ];
      expect(codeOf(await signIn(email, winner.p))).toBeUndefined();
      expect(codeOf(await signIn(email, lost.p))).toBe('UNAUTHENTICATED');
      expect(await stands(winner.s.jwt)).toBe(true);
      expect(await stands(lost.s.jwt)).toBe(false);
    }
    expect(conflicts, `no CONFLICT in ${MAX_ROUNDS} rounds`).toBeGreaterThanOrEqual(1);
  });

  it("a reset racing the attacker's change (verified against the old password) ends last: the attacker is locked out of the account", async () => {
    for (const offsetMs of [0, 15]) {
      const { email } = await member(`reset-race-${offsetMs}`);
      const attacker = await login(stack.gatewayUrl, 'acme', email, P0);
      const code = await resetCode(email);
      const change = gql(stack.gatewayUrl, CHANGE, { c: P0, n: ATTACKER }, bearer(attacker.jwt));
      await sleep(offsetMs);
      const reset = await gql(stack.gatewayUrl, RESET, { e: email, c: code, n: VICTIM });
      await change;
      expect(reset.errors).toBeUndefined();
      expect(codeOf(await signIn(email, VICTIM))).toBeUndefined();
      expect(codeOf(await signIn(email, ATTACKER))).toBe('UNAUTHENTICATED');
      expect(await stands(attacker.jwt)).toBe(false);
      expect(await refreshes(attacker.refreshToken)).toBe(false);
    }
  });

  it('an attacker who changed the password (keeping their login) is cut off by the reset that follows', async () => {
    const { email } = await member('changed-then-reset');
    const attacker = await login(stack.gatewayUrl, 'acme', email, P0);
    expect((await gql(stack.gatewayUrl, CHANGE, { c: P0, n: ATTACKER }, bearer(attacker.jwt))).errors).toBeUndefined();
    expect(await stands(attacker.jwt)).toBe(true);
    const reset = await gql(stack.gatewayUrl, RESET, { e: email, c: await resetCode(email), n: VICTIM });
    expect(reset.errors).toBeUndefined();
    expect(await stands(attacker.jwt)).toBe(false);
    expect(await refreshes(attacker.refreshToken)).toBe(false);
    expect(codeOf(await signIn(email, ATTACKER))).toBe('UNAUTHENTICATED');
  });

  /** Fires `attempt` every `everyMs` for `forMs` while `change` runs; the sessions it got. */
  async function around(
    change: () => Promise<GraphQLResponse>,
    attempt: () => Promise<Array<string | undefined>>,
    everyMs: number,
    forMs: number,
  ) {
    const attempts: Array<Promise<Array<string | undefined>>> = [];
    const changed = change();
    for (const start = Date.now(); Date.now() - start < forMs;) {
      attempts.push(attempt());
      await sleep(everyMs);
    }
    expect((await changed).errors).toBeUndefined();
    return (await Promise.all(attempts)).flat().filter((jwt): jwt is string => jwt !== undefined);
  }

  it('logins and B register replays checked against the old password around a change: none of their sessions stands after it', async () => {
    const key = `replay-${Date.now()}`;
    const { email, vars } = await member('replay', key);
    const owner = await login(stack.gatewayUrl, 'acme', email, P0);
    const viaLogin = async () => (await signIn(email, P0)).data?.login.jwt as string | undefined;
    const viaReplay = async () =>
      (await gql(stack.gatewayUrl, B_REGISTER, vars, { 'x-organization-slug': 'acme', 'idempotency-key': key })).data?.register.session
        .jwt as string | undefined;
    const issued = await around(
      () => gql(stack.gatewayUrl, CHANGE, { c: P0, n: VICTIM }, bearer(owner.jwt)),
      () => Promise.all([viaLogin(), viaReplay()]),
      40,
      1_500,
    );
    expect(issued.length).toBeGreaterThan(0);
    for (const jwt of issued) expect(await stands(jwt)).toBe(false);
    expect(await stands(owner.jwt)).toBe(true);
  });

  it("refreshes racing a change inherit the old generation: the attacker's last session is cut off", async () => {
    const { email } = await member('refresh-race');
    const owner = await login(stack.gatewayUrl, 'acme', email, P0);
    let latest = await login(stack.gatewayUrl, 'acme', email, P0);
    const changed = gql(stack.gatewayUrl, CHANGE, { c: P0, n: VICTIM }, bearer(owner.jwt));
    // A chain of refreshes, each with the last token, until one is refused or the bound is reached.
    for (let i = 0; i < 40; i++) {
      const next = await gql(stack.gatewayUrl, REFRESH, { t: latest.refreshToken });
      if (next.errors) break;
      latest = next.data!.refreshSession;
    }
    expect((await changed).errors).toBeUndefined();
    expect(await stands(latest.jwt)).toBe(false);
    expect(await refreshes(latest.refreshToken)).toBe(false);
  });

  it("the sweep keeps the changer's login when its client refreshed; a logout with the old access token ends that login", async () => {
    const { email } = await member('refreshed-changer');
    const first = await login(stack.gatewayUrl, 'acme', email, P0);
    const other = await login(stack.gatewayUrl, 'acme', email, P0);
    const refreshed = (await gql(stack.gatewayUrl, REFRESH, { t: first.refreshToken })).data!.refreshSession;
    // The change is made with the access token from before the refresh (still valid: same login).
    expect((await gql(stack.gatewayUrl, CHANGE, { c: P0, n: VICTIM }, bearer(first.jwt))).errors).toBeUndefined();
    expect(await stands(refreshed.jwt)).toBe(true);
    expect(await stands(other.jwt)).toBe(false);
    const again = (await gql(stack.gatewayUrl, REFRESH, { t: refreshed.refreshToken })).data?.refreshSession;
    expect(again).toBeDefined();
    // Logging out with the old access token ends the login: its current session.
    expect((await gql(stack.gatewayUrl, 'mutation { logout }', {}, bearer(first.jwt))).errors).toBeUndefined();
    expect(await stands(again!.jwt)).toBe(false);
    expect(await refreshes(again!.refreshToken)).toBe(false);
  });

  it('revoking a rotated or cut-off session revokes nothing and records nothing; a live one is revoked with its event', async () => {
    const { email, id } = await member('revoke-one');
    const rotated = await login(stack.gatewayUrl, 'acme', email, P0);
    const successor = (await gql(stack.gatewayUrl, REFRESH, { t: rotated.refreshToken })).data!.refreshSession;
    const current = await login(stack.gatewayUrl, 'acme', email, P0);
    const revoke = async (sessionId: string, jwt: string) =>
      (await gql(stack.gatewayUrl, 'mutation($id: ID!) { revokeSession(id: $id) }', { id: sessionId }, bearer(jwt))).data?.revokeSession;
    expect(await revoke(rotated._id, current.jwt)).toBe(false);
    expect(await stands(successor.jwt)).toBe(true);
    // revokeAllSessions cuts every session off; `late` is signed in after it and stands.
    expect((await gql(stack.gatewayUrl, 'mutation { revokeAllSessions }', {}, bearer(current.jwt))).errors).toBeUndefined();
    const late = await login(stack.gatewayUrl, 'acme', email, P0);
    expect(await revoke(successor._id, late.jwt)).toBe(false);
    const victimOfLogout = await login(stack.gatewayUrl, 'acme', email, P0);
    expect(await revoke(victimOfLogout._id, late.jwt)).toBe(true);
    await expect
      .poll(async () => (await events({ action: 'session.revoked', actor: id })).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    const targets = (await events({ action: 'session.revoked', actor: id })).map((e) => e.target);
    expect(targets).toEqual(
      expect.arrayContaining([
        { type: 'user', id },
        { type: 'session', id: victimOfLogout._id },
      ]),
    );
    expect(targets).toHaveLength(2);
  });

  it("a wrong current password in changePassword is the caller's failed sign-in: recorded, and locked out like a login", async () => {
    const { email, id } = await member('guesser');
    const session = await login(stack.gatewayUrl, 'acme', email, P0);
    // LOGIN_MAX_FAILURES_PER_IDENTIFIER (5) wrong guesses, then the account is locked.
    for (let i = 0; i < 5; i++)
      expect(codeOf(await gql(stack.gatewayUrl, CHANGE, { c: `Wrong-Guess-${i}-x`, n: VICTIM }, bearer(session.jwt)))).toBe(
        'BAD_USER_INPUT',
      );
    expect(codeOf(await gql(stack.gatewayUrl, CHANGE, { c: P0, n: VICTIM }, bearer(session.jwt)))).toBe('RATE_LIMITED');
    expect(codeOf(await signIn(email, P0))).toBe('RATE_LIMITED');
    await expect.poll(async () => (await events({ action: 'user.locked_out', target: id })).length, { timeout: 10_000 }).toBe(1);
    const failed = await events({ action: 'user.login_failed', target: id });
    expect(failed).toHaveLength(5);
    // An authenticated caller: the failure is theirs.
    for (const e of failed) expect(e.actor).toEqual({ type: 'user', id });
  });
});
