/**
 * Issue 16, review of the audit log's coverage (docs/audit-log.md, "What is recorded"):
 * - every state change is recorded: an organization's creation, email verification and the status change
 *   it makes, A's account state (sync mark, legal agreements, notification preferences) and its financial data;
 * - authorization refusals of administrative mutations are recorded (`outcome: 'refused'`), in the
 *   caller's organization, at most AUDIT_REFUSED_PER_MINUTE per caller and service;
 * - a support admin's actions through licensing and identity name the support admin, as org-users' do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootstrapResult, RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
  waitForOutbox,
} from './support/stack.js';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';
import { C_REGISTER_USER, C_SEED_VARIABLES } from './support/seed-operations-c.js';

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }`;
const VERIFY = `mutation($o: String!, $e: String!, $c: String!) { verifyEmail(organizationSlug: $o, email: $e, code: $c) { success } }`;
const RESEND = `mutation($o: String!, $e: String!) { resendVerificationCode(organizationSlug: $o, email: $e) { success } }`;
const SYNCED = `mutation($id: ID!) { markUserSynced(userId: $id) { id } }`;
const ACCEPT = `mutation($v: String!, $id: ID) { acceptLegalAgreement(version: $v, userId: $id) { id } }`;
const PREFS = `mutation($input: NotificationPreferencesInput!, $id: ID) { updateNotificationPreferences(input: $input, userId: $id) { id } }`;
const RECORD_CONNECTION = `mutation($input: RecordConnectionInput!) { recordConnection(input: $input) { id } }`;
const RECORD_TRADELINE = `mutation($input: RecordTradelineInput!) { recordTradeline(input: $input) { id } }`;
const CREATE_APP =
  'mutation($name: String!) { createApplication(name: $name, permissions: ["organization-users:read"]) { application { clientId } clientSecret } }';

const PASSWORD = 'Kessel-Run-12-Parsecs';
const REFUSED_PER_MINUTE = 4;
const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)?.[1];

describe('audit log coverage', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  let acme: BootstrapResult;
  let globex: BootstrapResult;
  let acmeAdmin: string;
  let globexAdmin: string;
  let acmeApp: string;
  const url = () => stack.gatewayUrl;
  /** Every value the suite sends that an event could be tempted to carry: none may be stored in one. */
  const values = new Set<string>([PASSWORD, ADMIN_PASSWORD, 'Chase', 'Wells Fargo', '00042.10', '2024-06', 'Mallory', 'Organa']);

  const audit = async (token: string, filter: Record<string, unknown>) => {
    const res = await gql(url(), AUDIT_EVENTS, { filter, first: 100 }, bearer(token));
    expect(res.errors).toBeUndefined();
    return res.data!.auditEvents.nodes as AuditNode[];
  };
  /** Relayed events arrive a moment after the write: polled, at most 10 s. */
  async function eventually(token: string, filter: Record<string, unknown>, count = 1): Promise<AuditNode[]> {
    let nodes: AuditNode[] = [];
    for (let i = 0; i < 100; i++) {
      nodes = await audit(token, filter);
      if (nodes.length >= count) return nodes;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`expected ${count} audit events matching ${JSON.stringify(filter)}, found ${nodes.length}`);
  }
  /** For "nothing more arrives": the relay runs after each write, well within this. */
  const settle = () => new Promise((r) => setTimeout(r, 1500));

  async function createUser(token: string, label: string, extra: Record<string, unknown> = {}) {
    const email = uniqueEmail(label);
    values.add(email);
    const res = await gql(
      url(),
      CREATE,
      { input: { user: { firstName: 'Leia', lastName: 'Organa', email, credentials: { username: label, password: PASSWORD } }, ...extra } },
      bearer(token),
    );
    expect(res.data!.createUser.errors).toEqual([]);
    return { id: res.data!.createUser.user.id as string, email, username: label };
  }

  async function registerMember(): Promise<{ jwt: string; id: string }> {
    const res = await gql(
      url(),
      B_REGISTER,
      { ...realisticRegisterVariables(uniqueEmail('member')), telephone: null },
      {
        'x-organization-slug': 'acme',
      },
    );
    expect(res.errors).toBeUndefined();
    return { jwt: res.data!.register.session.jwt as string, id: res.data!.register.user.id as string };
  }

  beforeAll(async () => {
    const started = await startTestStack({ env: { AUDIT_REFUSED_PER_MINUTE: String(REFUSED_PER_MINUTE) } });
    ({ stack, dataDir } = started);
    prefix = started.options.databasePrefix ?? '';
    acme = await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    globex = await bootstrapOrganization(dataDir, 'globex');
    acmeAdmin = (await login(url(), 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    globexAdmin = (await login(url(), 'globex', 'admin', ADMIN_PASSWORD)).jwt;
    acmeApp = await applicationToken(url(), acme.application.clientId, acme.application.clientSecret);
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('every state change is recorded', () => {
    it("an organization's creation (bootstrap) is in its own trail, as the operator's", async () => {
      const [created] = await eventually(acmeAdmin, { action: 'organization.created' });
      expect(created).toMatchObject({
        actor: { type: 'system', id: 'bootstrap' },
        target: { type: 'organization', id: acme.organization.id },
        outcome: 'SUCCESS',
      });
      // globex's is in globex's trail only.
      expect((await eventually(globexAdmin, { action: 'organization.created' })).map((e) => e.target.id)).toEqual([globex.organization.id]);
    });

    it("B's email verification activates the account: user.activated, the status named, no value", async () => {
      const email = uniqueEmail('pending');
      values.add(email);
      const res = await gql(
        url(),
        B_REGISTER,
        { ...realisticRegisterVariables(email), telephone: null, withVerificationCode: true },
        { 'x-organization-slug': 'acme' },
      );
      expect(res.errors).toBeUndefined();
      const code = codeIn((await waitForOutbox(dataDir, email, 1))[0]!.text)!;
      const ok = await gql(url(), VERIFY, { o: 'acme', e: email, c: code });
      expect(ok.data!.verifyEmail.success).toBe(true);
      const [activated] = await eventually(acmeAdmin, { action: 'user.activated' });
      expect(activated).toMatchObject({ target: { type: 'user' }, outcome: 'SUCCESS', changedFields: ['status'] });
      // The user proved the code; the request was anonymous.
      expect(activated!.actor).toEqual({ type: 'anonymous', id: '-' });
      const created = await eventually(acmeAdmin, { action: 'user.created', target: activated!.target.id });
      expect(created).toHaveLength(1);
    });

    it('a changed email, verified by its user: user.email_verified, by that user', async () => {
      const user = await createUser(acmeAdmin, 'verifier', { requestedLicenses: ['AUTHOR'] });
      const newEmail = uniqueEmail('moved');
      values.add(newEmail);
      const updated = await gql(url(), UPDATE, { input: { id: user.id, user: { email: newEmail } } }, bearer(acmeAdmin));
      expect(updated.data!.updateUser.errors).toEqual([]);
      const jwt = (await login(url(), 'acme', user.username, PASSWORD)).jwt;
      expect((await gql(url(), RESEND, { o: 'acme', e: newEmail }, bearer(jwt))).data!.resendVerificationCode.success).toBe(true);
      const code = codeIn((await waitForOutbox(dataDir, newEmail, 1))[0]!.text)!;
      // Licensing (who acts: a support admin?) down: the request fails before the code is used up.
      await stack.kill('licensing', 'SIGKILL');
      expect((await gql(url(), VERIFY, { o: 'acme', e: newEmail, c: code }, bearer(jwt))).errors).toBeDefined();
      await stack.restart('licensing');
      expect((await gql(url(), VERIFY, { o: 'acme', e: newEmail, c: code }, bearer(jwt))).data!.verifyEmail.success).toBe(true);
      const [verified] = await eventually(acmeAdmin, { action: 'user.email_verified', target: user.id });
      expect(verified).toMatchObject({ actor: { type: 'user', id: user.id }, outcome: 'SUCCESS', changedFields: ['emailVerified'] });
      // The account was active already: no status change is claimed.
      await settle();
      expect(await audit(acmeAdmin, { action: 'user.activated', target: user.id })).toEqual([]);
    });

    it("A's account state and financial data: sync mark, legal agreement, preferences, connection, tradeline", async () => {
      const user = await createUser(acmeAdmin, 'consumer');
      const asApp = (query: string, variables: Record<string, unknown>) => gql(url(), query, variables, bearer(acmeApp));
      expect((await asApp(SYNCED, { id: user.id })).errors).toBeUndefined();
      expect((await asApp(ACCEPT, { v: '2024-06', id: user.id })).errors).toBeUndefined();
      // Accepted already: nothing changes, nothing is recorded.
      expect((await asApp(ACCEPT, { v: '2024-06', id: user.id })).errors).toBeUndefined();
      expect((await asApp(PREFS, { input: { email: true, sms: false }, id: user.id })).errors).toBeUndefined();
      const connection = await asApp(RECORD_CONNECTION, { input: { userId: user.id, institutionName: 'Chase', status: 'ACTIVE' } });
      expect(connection.errors).toBeUndefined();
      const connectionId = connection.data!.recordConnection.id as string;
      const tradeline = await asApp(RECORD_TRADELINE, {
        input: {
          userId: user.id,
          connectionId,
          accountType: 'credit_card',
          creditorName: 'Wells Fargo Active Cash',
          balanceAmount: '00042.10',
          currency: 'usd',
        },
      });
      expect(tradeline.errors).toBeUndefined();
      const tradelineId = tradeline.data!.recordTradeline.id as string;

      const app = { type: 'application', id: acme.application.clientId };
      const events = await eventually(acmeAdmin, { actor: acme.application.clientId }, 5);
      const mine = events.filter((e) => e.target.id === user.id || e.target.id === connectionId || e.target.id === tradelineId);
      expect(mine.map((e) => [e.action, e.target.type, e.changedFields]).sort()).toEqual(
        [
          ['connection.recorded', 'connection', null],
          ['tradeline.recorded', 'tradeline', null],
          ['user.synced', 'user', ['syncedAt']],
          ['user.updated', 'user', ['legalAgreementVersions']],
          // Only the preference that changed (sms was false already).
          ['user.updated', 'user', ['notificationPreferences.email']],
        ].sort(),
      );
      expect(mine.every((e) => e.actor.type === app.type && e.actor.id === app.id && e.outcome === 'SUCCESS')).toBe(true);
    });
  });

  describe('authorization refusals of administrative mutations', () => {
    it("a member's D, A, licensing and identity admin mutations are refused and recorded, naming the member", async () => {
      const member = await registerMember();
      const target = acme.admin.id;
      const update = await gql(url(), UPDATE, { input: { id: target, user: { firstName: 'Mallory' } } }, bearer(member.jwt));
      expect(update.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const synced = await gql(url(), SYNCED, { id: target }, bearer(member.jwt));
      expect(synced.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const group = await gql(url(), 'mutation { createGroup(name: "EVIL") { name } }', {}, bearer(member.jwt));
      expect(group.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const app = await gql(url(), CREATE_APP, { name: 'evil' }, bearer(member.jwt));
      expect(app.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      // C's registerUser answers a user's token NOT_ALLOWED in its payload; the refusal is recorded all the same.
      const registered = await gql(url(), C_REGISTER_USER, C_SEED_VARIABLES, {
        ...bearer(member.jwt),
        'x-request-id': 'typed-by-the-client',
      });
      expect(registered.data!.registerUser.error.code).toBe('AUTH-0022');

      const refused = await eventually(acmeAdmin, { actor: member.id }, 5);
      expect(refused.map((e) => [e.action, e.target.type, e.target.id, e.outcome]).sort()).toEqual(
        [
          ['user.updated', 'user', target, 'REFUSED'],
          ['user.synced', 'user', target, 'REFUSED'],
          ['group.created', 'organization', acme.organization.id, 'REFUSED'],
          ['application.created', 'organization', acme.organization.id, 'REFUSED'],
          ['user.created', 'organization', acme.organization.id, 'REFUSED'],
        ].sort(),
      );
      // No request id: the one a request carries may be the client's own X-Request-Id.
      expect(refused.every((e) => e.actor.type === 'user' && e.clientIp && e.requestId === null)).toBe(true);
      // No field names: nothing changed.
      expect(refused.every((e) => e.changedFields === null)).toBe(true);
    });

    it("an ADMIN acting on another organization's user: recorded as refused in the caller's log only", async () => {
      const victim = await createUser(acmeAdmin, 'victim');
      const deleted = await gql(url(), DELETE, { ids: [victim.id] }, bearer(globexAdmin));
      expect(deleted.data!.deleteUsers.deletedIds).toEqual([]);
      const updated = await gql(url(), UPDATE, { input: { id: victim.id, user: { lastName: 'Gone' } } }, bearer(globexAdmin));
      expect(updated.data!.updateUser.errors.map((e: { path: string[] }) => e.path.join('.'))).toEqual(['id']);
      const refused = await eventually(globexAdmin, { target: victim.id }, 2);
      expect(refused.map((e) => [e.action, e.outcome, e.actor.id]).sort()).toEqual(
        [
          ['user.deleted', 'REFUSED', globex.admin.id],
          ['user.updated', 'REFUSED', globex.admin.id],
        ].sort(),
      );
      // acme's trail shows the user's creation, and nothing of globex's attempts.
      await settle();
      expect((await audit(acmeAdmin, { target: victim.id })).map((e) => e.action)).toEqual(['user.created']);
    });

    it('bad input is not a refusal: a malformed id and a validation error record nothing', async () => {
      const before = (await audit(acmeAdmin, { actor: acme.admin.id })).length;
      const bad = await gql(url(), UPDATE, { input: { id: 'not an id', user: { firstName: '' } } }, bearer(acmeAdmin));
      expect(bad.data!.updateUser.errors.length).toBeGreaterThan(0);
      await settle();
      expect((await audit(acmeAdmin, { actor: acme.admin.id })).length).toBe(before);
    });

    it(`one caller's refusals are bounded: at most ${REFUSED_PER_MINUTE} a minute per action are recorded; another action still is`, async () => {
      const member = await registerMember();
      for (let i = 0; i < 3 * REFUSED_PER_MINUTE; i++) {
        const res = await gql(url(), UPDATE, { input: { id: acme.admin.id, user: { firstName: `M${i}` } } }, bearer(member.jwt));
        expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
      await eventually(acmeAdmin, { actor: member.id }, REFUSED_PER_MINUTE);
      await settle();
      expect(await audit(acmeAdmin, { actor: member.id })).toHaveLength(REFUSED_PER_MINUTE);
      // The junk refusals of updateUser do not hide the deleteUsers that follows.
      await gql(url(), DELETE, { ids: [acme.admin.id] }, bearer(member.jwt));
      expect(await eventually(acmeAdmin, { actor: member.id, action: 'user.deleted' })).toHaveLength(1);
    });
  });

  it('no stored event holds a value the suite sent (emails, names, institutions, amounts, versions, passwords)', async () => {
    const orgusers = await openDatabase(stack, prefix, 'orgusers');
    try {
      const stored = await orgusers.collection('audit_events').find({}).toArray();
      expect(stored.length).toBeGreaterThan(20);
      const text = JSON.stringify(stored);
      for (const value of values) expect(text, 'an audit event holds a value').not.toContain(value);
      expect(text).not.toMatch(/@/);
    } finally {
      await orgusers.close();
    }
  });

  describe("a support admin's actions name the support admin", () => {
    it('in licensing (groups, seat caps) and identity (applications), as in org-users', async () => {
      const support = await bootstrapOrganization(dataDir, 'supportco', ['--support-admin']);
      const jwt = (await login(url(), 'supportco', 'admin', ADMIN_PASSWORD)).jwt;
      expect((await gql(url(), 'mutation { createGroup(name: "OPS") { name } }', {}, bearer(jwt))).errors).toBeUndefined();
      expect((await gql(url(), 'mutation { setSeatCap(license: VIEWER, cap: 7) { cap } }', {}, bearer(jwt))).errors).toBeUndefined();
      const app = await gql(url(), CREATE_APP, { name: 'ops' }, bearer(jwt));
      expect(app.errors).toBeUndefined();
      const user = await createUser(jwt, 'opsuser');

      const actions = ['group.created', 'license.seat_cap_changed', 'application.created', 'user.created'];
      // Besides their sign-in (identity's lifecycle events, not in this review's scope).
      const events = (await eventually(jwt, { actor: support.admin.id }, actions.length + 1)).filter((e) => e.action !== 'user.login');
      expect(events.map((e) => e.action).sort()).toEqual([...actions].sort());
      expect(events.every((e) => e.actor.type === 'support_admin')).toBe(true);
      expect(events.find((e) => e.action === 'user.created')!.target.id).toBe(user.id);
      // Ids only: no personal value of the support admin's.
      expect(JSON.stringify(events)).not.toContain('@');
    });
  });
});
