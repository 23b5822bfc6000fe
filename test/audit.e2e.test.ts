/**
 * Issue 16, the audit log: every registration (A, B, C, D, bootstrap), profile
 * change, deletion, login, failed login and lockout leaves an event in
 * org-users' log, which only the organization's ADMINs read (`auditEvents`,
 * newest first, cursor pagination, filters), never holding a personal value or a
 * secret; events older than AUDIT_RETENTION_DAYS are swept.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { BootstrapResult, RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { C_REGISTER_USER } from './support/seed-operations-c.js';
import {
  ADMIN_PASSWORD,
  LOGIN,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  reconcile,
  waitForOutbox,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }`;
const REGISTER_A = `mutation($input: RegisterOrganizationUserInput!) { registerOrganizationUser(input: $input) { user { id } } }`;

const SSN = '536-22-8841';
const D_PASSWORD = 'Kessel-Run-12-Parsecs';
const WRONG_PASSWORD = 'wrong-password-1';

describe('audit log', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  let orgusers: Connection;
  let acme: BootstrapResult;
  let globex: BootstrapResult;
  let acmeAdmin: string;
  let globexAdmin: string;
  let acmeApp: string;
  /**
   * Where the services export their spans: an OTLP receiver that accepts and drops them. An endpoint
   * that refuses connections would hold each service's shutdown ~10 s while its exporter retries.
   */
  const spanSink = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end()));
  /** Every personal value and secret the suite sends: none may be stored in an event. */
  const secrets = new Set<string>([ADMIN_PASSWORD, D_PASSWORD, WRONG_PASSWORD, SSN, '536228841']);
  const url = () => stack.gatewayUrl;

  const audit = async (token: string, variables: Record<string, unknown> = {}) => {
    const res = await gql(url(), AUDIT_EVENTS, variables, bearer(token));
    expect(res.errors).toBeUndefined();
    expect(res.data!.auditEvents.errors).toEqual([]);
    return res.data!.auditEvents as { nodes: AuditNode[]; edges: Array<{ cursor: string }>; pageInfo: Record<string, any> };
  };
  /** The events relayed from another service arrive a moment after the write: polled, at most 10 s. */
  async function eventually(token: string, filter: Record<string, unknown>, count = 1): Promise<AuditNode[]> {
    let nodes: AuditNode[] = [];
    for (let i = 0; i < 100; i++) {
      nodes = (await audit(token, { filter })).nodes;
      if (nodes.length >= count) return nodes;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`expected ${count} audit events matching ${JSON.stringify(filter)}, found ${nodes.length}`);
  }

  beforeAll(async () => {
    await new Promise<void>((resolve) => spanSink.listen(0, '127.0.0.1', resolve));
    const sink = `http://127.0.0.1:${(spanSink.address() as AddressInfo).port}`;
    const started = await startTestStack({
      // Traces on (issue 15): events carry the request's trace id. The sink drops the spans.
      env: { LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: sink, OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
      serviceEnv: { identity: { LOGIN_MAX_FAILURES_PER_IDENTIFIER: '3', LOGIN_MAX_FAILURES_PER_IP: '1000' } },
    });
    ({ stack, dataDir } = started);
    prefix = started.options.databasePrefix ?? '';
    orgusers = await openDatabase(stack, prefix, 'orgusers');
    acme = await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    globex = await bootstrapOrganization(dataDir, 'globex');
    acmeAdmin = (await login(url(), 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    globexAdmin = (await login(url(), 'globex', 'admin', ADMIN_PASSWORD)).jwt;
    acmeApp = await applicationToken(url(), acme.application.clientId, acme.application.clientSecret);
    secrets.add(acme.application.clientSecret).add(acmeAdmin).add(globexAdmin).add(acmeApp);
    secrets.add('admin@acme.test').add('admin@globex.test');
  });

  afterAll(async () => {
    await orgusers?.close();
    await stack?.stop();
    spanSink.closeAllConnections();
    await new Promise((resolve) => spanSink.close(resolve));
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it("bootstrap's first admin is recorded, as the operator's", async () => {
    const [created] = await eventually(acmeAdmin, { action: 'user.created', target: acme.admin.id });
    expect(created).toMatchObject({ actor: { type: 'system', id: 'bootstrap' }, target: { type: 'user', id: acme.admin.id } });
  });

  let dUserId: string;
  it("D's createUser, updateUser and deleteUsers: who did what to whom, from where, and which fields changed", async () => {
    const email = uniqueEmail('han');
    secrets.add(email);
    // Raw, to read the gateway's traceresponse header (00-<trace id>-<span id>-<flags>).
    const response = await fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(acmeAdmin) },
      body: JSON.stringify({
        query: CREATE,
        variables: {
          input: {
            user: { firstName: 'Hanrahan', lastName: 'Solovich', email, credentials: { username: 'hansolo', password: D_PASSWORD } },
            requestedLicenses: ['AUTHOR'],
            requestedGroups: ['DEFAULT'],
            requestedOriginGroup: 'DEFAULT',
          },
        },
      }),
    });
    const created = {
      requestId: response.headers.get('x-request-id'),
      traceId: /^00-([0-9a-f]{32})-/.exec(response.headers.get('traceresponse') ?? '')?.[1],
      data: ((await response.json()) as { data: Record<string, any> }).data,
    };
    expect(created.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.data.createUser.errors).toEqual([]);
    dUserId = created.data.createUser.user.id;
    const [event] = await eventually(acmeAdmin, { action: 'user.created', target: dUserId });
    expect(event).toMatchObject({
      action: 'user.created',
      actor: { type: 'user', id: acme.admin.id },
      target: { type: 'user', id: dUserId },
      outcome: 'SUCCESS',
      clientIp: '127.0.0.1',
      requestId: created.requestId,
      traceId: created.traceId,
    });
    expect(Date.now() - Date.parse(event!.occurredAt)).toBeLessThan(60_000);

    const newEmail = uniqueEmail('han.new');
    secrets.add(newEmail).add('Hanuman');
    const updated = await gql(
      url(),
      UPDATE,
      { input: { id: dUserId, user: { firstName: 'Hanuman', email: newEmail, lastName: 'Solovich' } } },
      bearer(acmeAdmin),
    );
    expect(updated.data!.updateUser.errors).toEqual([]);
    const [change] = await eventually(acmeAdmin, { action: 'user.updated', target: dUserId });
    // lastName was sent unchanged: only the fields whose value changed are named.
    expect(change!.changedFields!.sort()).toEqual(['email', 'firstName']);
    expect(change!.requestId).toBe(updated.requestId);

    const deleted = await gql(url(), DELETE, { ids: [dUserId] }, bearer(acmeAdmin));
    expect(deleted.data!.deleteUsers.deletedIds).toEqual([dUserId]);
    const [gone] = await eventually(acmeAdmin, { action: 'user.deleted', target: dUserId });
    expect(gone).toMatchObject({ actor: { type: 'user', id: acme.admin.id }, outcome: 'SUCCESS', requestId: deleted.requestId });
  });

  it('license, seat, group and origin-group changes, and closing an account, are recorded (relayed from licensing)', async () => {
    const asAdmin = (query: string, variables: Record<string, unknown> = {}) => gql(url(), query, variables, bearer(acmeAdmin));
    const email = uniqueEmail('leia');
    secrets.add(email).add('Leialani');
    const created = await asAdmin(CREATE, {
      input: {
        user: { firstName: 'Leialani', lastName: 'Organa', email, credentials: { username: 'leia', password: D_PASSWORD } },
        requestedLicenses: ['AUTHOR'],
        requestedGroups: ['DEFAULT'],
        requestedOriginGroup: 'DEFAULT',
      },
    });
    const userId = created.data!.createUser.user.id as string;
    // Her first licenses are part of her creation: no separate licenses event.
    await eventually(acmeAdmin, { action: 'user.created', target: userId });
    expect((await audit(acmeAdmin, { filter: { action: 'user.licenses_changed', target: userId } })).nodes).toEqual([]);

    const licensed = await asAdmin(UPDATE, { input: { id: userId, requestedLicenses: ['AUTHOR', 'ANALYST'] } });
    expect(licensed.data!.updateUser.errors).toEqual([]);
    const [licenses] = await eventually(acmeAdmin, { action: 'user.licenses_changed', target: userId });
    expect(licenses).toMatchObject({
      actor: { type: 'user', id: acme.admin.id },
      changedFields: ['licenses'],
      requestId: licensed.requestId,
    });

    expect((await asAdmin('mutation { createGroup(name: "SALES") { name } }')).errors).toBeUndefined();
    const added = await asAdmin('mutation($ids: [ID!]!) { addGroupMembers(name: "SALES", userIds: $ids) { memberCount } }', {
      ids: [userId],
    });
    expect(added.errors).toBeUndefined();
    const [groups] = await eventually(acmeAdmin, { action: 'user.groups_changed', target: userId });
    expect(groups).toMatchObject({ changedFields: ['groups'], requestId: added.requestId });
    expect((await asAdmin('mutation { renameGroup(name: "SALES", newName: "REVENUE") { name } }')).errors).toBeUndefined();
    const origin = await asAdmin(UPDATE, { input: { id: userId, requestedOriginGroup: 'REVENUE' } });
    expect(origin.data!.updateUser.errors).toEqual([]);
    const moved = await eventually(acmeAdmin, { action: 'user.groups_changed', target: userId }, 2);
    expect(moved[0]!.changedFields).toEqual(['originGroup']);

    expect((await asAdmin('mutation { createGroup(name: "TEMP") { name } }')).errors).toBeUndefined();
    expect((await asAdmin('mutation { deleteGroup(name: "TEMP") }')).data!.deleteGroup).toBe(true);
    const groupEvents = await eventually(acmeAdmin, { actor: acme.admin.id, action: 'group.created' }, 2);
    const temp = groupEvents[0]!.target.id;
    expect(groupEvents[0]!.target.type).toBe('group');
    expect((await eventually(acmeAdmin, { action: 'group.renamed' }))[0]!.changedFields).toEqual(['name']);
    expect((await eventually(acmeAdmin, { action: 'group.deleted' }))[0]!.target).toEqual({ type: 'group', id: temp });

    const capped = await asAdmin('mutation { setSeatCap(license: VIEWER, cap: 50) { license cap } }');
    expect(capped.errors).toBeUndefined();
    const [cap] = await eventually(acmeAdmin, { action: 'license.seat_cap_changed' });
    expect(cap).toMatchObject({ target: { type: 'license', id: 'VIEWER' }, changedFields: ['cap'], requestId: capped.requestId });

    const closed = await asAdmin('mutation($id: ID!) { closeAccount(userId: $id) { status } }', { id: userId });
    expect(closed.data!.closeAccount.status).toBe('CLOSED');
    const [close] = await eventually(acmeAdmin, { action: 'user.closed', target: userId });
    expect(close).toMatchObject({ changedFields: ['status'], actor: { type: 'user', id: acme.admin.id } });
    // Closing gave her licenses back: recorded as a licenses change too.
    await eventually(acmeAdmin, { action: 'user.licenses_changed', target: userId }, 2);
  });

  it("B's register (anonymous) and C's registerUser (an application) are recorded with their actor", async () => {
    const email = uniqueEmail('jeanne');
    secrets.add(email).add('Jeanne').add('Tremblay').add('maple-Syrup-1867!').add('+15145550142');
    const b = await gql(url(), B_REGISTER, realisticRegisterVariables(email), { 'x-organization-slug': 'acme' });
    expect(b.errors).toBeUndefined();
    const bUser = b.data!.register.user.id as string;
    secrets.add(b.data!.register.session.jwt).add(b.data!.register.session.refreshToken ?? 'no-refresh-token');
    const [bEvent] = await eventually(acmeAdmin, { action: 'user.created', target: bUser });
    expect(bEvent).toMatchObject({ actor: { type: 'anonymous', id: '-' }, outcome: 'SUCCESS', requestId: b.requestId });

    const cEmail = uniqueEmail('jane.doe');
    secrets.add(cEmail).add('Janeway');
    const c = await gql(
      url(),
      C_REGISTER_USER,
      {
        firstName: 'Janeway',
        lastName: 'Doe',
        phoneNumber: '4155550123',
        regionCode: 'US',
        emailAddress: cEmail,
        dateOfBirth: '1990-05-15',
      },
      bearer(acmeApp),
    );
    expect(c.data!.registerUser).toEqual({ success: true, error: null });
    const cEvents = await eventually(acmeAdmin, { action: 'user.created', actor: acme.application.clientId });
    expect(cEvents[0]).toMatchObject({ actor: { type: 'application', id: acme.application.clientId }, requestId: c.requestId });
  });

  it("A's registerOrganizationUser is recorded, without the national ID or any other value", async () => {
    const email = uniqueEmail('maria');
    secrets.add(email).add('Mariella').add('500 Howard Street');
    const res = await gql(
      url(),
      REGISTER_A,
      {
        input: {
          organizationSlug: 'acme',
          email,
          phoneNumber: '+14155550188',
          name: { first: 'Mariella', middle: 'Elena', last: 'García' },
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
          nationalId: SSN,
        },
      },
      bearer(acmeApp),
    );
    expect(res.errors).toBeUndefined();
    const id = res.data!.registerOrganizationUser.user.id as string;
    const [event] = await eventually(acmeAdmin, { action: 'user.created', target: id });
    expect(event!.actor).toEqual({ type: 'application', id: acme.application.clientId });
  });

  it("logins, failed logins and a lockout are recorded (relayed from identity): a failure is the anonymous caller's, never naming the identifier", async () => {
    const ok = await gql(url(), LOGIN, { organizationSlug: 'globex', identifier: 'admin', password: ADMIN_PASSWORD });
    expect(ok.errors).toBeUndefined();
    secrets.add(ok.data!.login.jwt);
    const logins = await eventually(globexAdmin, { action: 'user.login', actor: globex.admin.id }, 2);
    expect(logins.find((e) => e.requestId === ok.requestId)?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(logins.find((e) => e.requestId === ok.requestId)).toMatchObject({
      actor: { type: 'user', id: globex.admin.id },
      target: { type: 'user', id: globex.admin.id },
      outcome: 'SUCCESS',
      clientIp: '127.0.0.1',
    });

    // Three wrong passwords lock the account (LOGIN_MAX_FAILURES_PER_IDENTIFIER=3); the fourth attempt is refused.
    for (let i = 0; i < 3; i++) {
      const bad = await gql(url(), LOGIN, { organizationSlug: 'globex', identifier: 'admin@globex.test', password: WRONG_PASSWORD });
      expect(bad.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const locked = await gql(url(), LOGIN, { organizationSlug: 'globex', identifier: 'admin', password: WRONG_PASSWORD });
    expect(locked.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Whoever tried is anonymous; the account tried is the target (review: the victim was named the actor).
    const failures = await eventually(globexAdmin, { action: 'user.login_failed', target: globex.admin.id }, 3);
    expect(failures.map((e) => [e.outcome, e.actor])).toEqual(Array(3).fill(['FAILURE', { type: 'anonymous', id: '-' }]));
    const [lockout] = await eventually(globexAdmin, { action: 'user.locked_out' });
    expect(lockout).toMatchObject({
      actor: { type: 'anonymous', id: '-' },
      target: { type: 'user', id: globex.admin.id },
      outcome: 'REFUSED',
      // A refused event keeps no request id (the request's may be the client's X-Request-Id).
      requestId: null,
    });
    expect(await eventually(globexAdmin, { action: 'user.login_failed', actor: globex.admin.id }, 0)).toEqual([]);

    // Identifiers that name no one: "an account", never which, and one event per organization and failure window
    // however many are guessed (a spray of guesses cannot flood the trail).
    // (LOGIN_FAILURE_WINDOW_MINUTES: 15 by default; the windows are counted from the epoch.)
    const windowOf = () => Math.floor(Date.now() / (15 * 60_000));
    const firstWindow = windowOf();
    for (let i = 0; i < 3; i++) {
      const nobody = uniqueEmail('nobody');
      secrets.add(nobody);
      await gql(url(), LOGIN, { organizationSlug: 'globex', identifier: nobody, password: WRONG_PASSWORD });
    }
    const windows = windowOf() - firstWindow + 1;
    await reconcile(dataDir); // whatever identity still holds is in the log now
    const unknown = await eventually(globexAdmin, { action: 'user.login_failed', target: 'unknown' });
    expect(unknown.map((e) => [e.actor, e.target])).toEqual(
      Array(windows).fill([
        { type: 'anonymous', id: '-' },
        { type: 'account', id: 'unknown' },
      ]),
    );
  });

  it('password changes and resets, session revocations, and application changes are recorded, never a secret', async () => {
    const email = uniqueEmail('luke');
    const password = 'Alderaan-Forever-77';
    secrets.add(email).add(password).add('Second-Password-22').add('Third-Password-333');
    const registered = await gql(
      url(),
      B_REGISTER,
      { ...realisticRegisterVariables(email), password, telephone: null },
      { 'x-organization-slug': 'acme' },
    );
    expect(registered.errors).toBeUndefined();
    const userId = registered.data!.register.user.id as string;
    const first = await login(url(), 'acme', email, password);
    secrets.add(first.jwt);
    const changed = await gql(
      url(),
      'mutation { changePassword(currentPassword: "Alderaan-Forever-77", newPassword: "Second-Password-22") { success } }',
      {},
      bearer(first.jwt),
    );
    expect(changed.data!.changePassword.success).toBe(true);
    const [change] = await eventually(acmeAdmin, { action: 'user.password_changed', target: userId });
    expect(change).toMatchObject({ actor: { type: 'user', id: userId }, requestId: changed.requestId });
    const [changeRevoked] = await eventually(acmeAdmin, { action: 'session.revoked', target: userId });
    expect(changeRevoked!.requestId).toBe(changed.requestId);

    await gql(url(), 'mutation($email: String!) { requestPasswordReset(organizationSlug: "acme", email: $email) { success } }', { email });
    const code = /\b(\d{6})\b/.exec((await waitForOutbox(dataDir, email, 1))[0]!.text)![1]!;
    secrets.add(code);
    const reset = await gql(
      url(),
      `mutation($email: String!, $code: String!) {
        resetPassword(organizationSlug: "acme", email: $email, code: $code, newPassword: "Third-Password-333") { success }
      }`,
      { email, code },
    );
    expect(reset.data!.resetPassword.success).toBe(true);
    const [resetEvent] = await eventually(acmeAdmin, { action: 'user.password_reset', target: userId });
    expect(resetEvent).toMatchObject({ actor: { type: 'user', id: userId }, outcome: 'SUCCESS' });

    const session = await login(url(), 'acme', email, 'Third-Password-333');
    secrets.add(session.jwt);
    expect((await gql(url(), 'mutation { logout }', {}, bearer(session.jwt))).data!.logout).toBe(true);
    const second = await login(url(), 'acme', email, 'Third-Password-333');
    secrets.add(second.jwt);
    expect((await gql(url(), 'mutation { revokeAllSessions }', {}, bearer(second.jwt))).errors).toBeUndefined();
    const revocations = await eventually(acmeAdmin, { action: 'session.revoked', actor: userId }, 4);
    expect(revocations.some((e) => e.target.type === 'session')).toBe(true);
    // X-Request-Id is the client's: reusing one must not make a later revocation a "duplicate" and hide it.
    for (let i = 0; i < 2; i++) {
      const again = await login(url(), 'acme', email, 'Third-Password-333');
      secrets.add(again.jwt);
      const out = await gql(url(), 'mutation { logout }', {}, { ...bearer(again.jwt), 'x-request-id': 'reused-request-id-1' });
      expect(out.data!.logout).toBe(true);
    }
    // (eventually throws unless both arrive)
    await eventually(acmeAdmin, { action: 'session.revoked', actor: userId }, revocations.length + 2);

    const asAdmin = (query: string, variables: Record<string, unknown> = {}) => gql(url(), query, variables, bearer(acmeAdmin));
    const app = await asAdmin(
      'mutation { createApplication(name: "CRM sync", permissions: ["users:register"]) { application { clientId } clientSecret } }',
    );
    const clientId = app.data!.createApplication.application.clientId as string;
    secrets.add(app.data!.createApplication.clientSecret);
    await asAdmin(
      'mutation($id: ID!) { setApplicationPermissions(clientId: $id, permissions: ["organization-users:read"]) { clientId } }',
      {
        id: clientId,
      },
    );
    await asAdmin('mutation($id: ID!) { setApplicationStatus(clientId: $id, status: INACTIVE) { clientId } }', { id: clientId });
    const rotated = await asAdmin('mutation($id: ID!) { rotateApplicationSecret(clientId: $id) { clientSecret } }', { id: clientId });
    secrets.add(rotated.data!.rotateApplicationSecret.clientSecret);
    const appEvents = await eventually(acmeAdmin, { target: clientId }, 4);
    expect(appEvents.map((e) => [e.action, e.changedFields])).toEqual([
      ['application.secret_rotated', ['secret']],
      ['application.status_changed', ['status']],
      ['application.permissions_changed', ['permissions']],
      ['application.created', null],
    ]);
    expect(appEvents.every((e) => e.actor.id === acme.admin.id)).toBe(true);
    // The bootstrap's application, created by the operator.
    const [bootstrapApp] = await eventually(acmeAdmin, { action: 'application.created', target: acme.application.clientId });
    expect(bootstrapApp!.actor).toEqual({ type: 'system', id: 'bootstrap' });
  });

  it("a support admin's actions are recorded as the support admin's", async () => {
    const support = await bootstrapOrganization(dataDir, 'supportco', ['--support-admin']);
    const jwt = (await login(url(), 'supportco', 'admin', ADMIN_PASSWORD)).jwt;
    secrets.add(jwt).add('admin@supportco.test').add(support.application.clientSecret);
    const email = uniqueEmail('chewie');
    secrets.add(email);
    const created = await gql(
      url(),
      CREATE,
      {
        input: { user: { firstName: 'Chewbacca', lastName: 'Kashyyyk', email, credentials: { username: 'chewie', password: D_PASSWORD } } },
      },
      bearer(jwt),
    );
    expect(created.data!.createUser.errors).toEqual([]);
    const [event] = await eventually(jwt, { action: 'user.created', target: created.data!.createUser.user.id });
    expect(event!.actor).toEqual({ type: 'support_admin', id: support.admin.id });
  });

  it("another organization's ADMIN sees none of these events; a member and an application without admin see nothing", async () => {
    const acmeIds = new Set((await audit(acmeAdmin, { first: 100 })).nodes.map((n) => n.id));
    expect(acmeIds.size).toBeGreaterThan(5);
    const globexNodes = (await audit(globexAdmin, { first: 100 })).nodes;
    expect(globexNodes.length).toBeGreaterThan(0);
    expect(globexNodes.filter((n) => acmeIds.has(n.id))).toEqual([]);
    // Even filtering on an acme user's id finds nothing.
    expect((await audit(globexAdmin, { filter: { target: acme.admin.id } })).nodes).toEqual([]);

    const email = uniqueEmail('member');
    secrets.add(email);
    const member = await gql(
      url(),
      B_REGISTER,
      { ...realisticRegisterVariables(email), telephone: null },
      { 'x-organization-slug': 'acme' },
    );
    expect(member.errors).toBeUndefined();
    const memberJwt = member.data!.register.session.jwt as string;
    secrets.add(memberJwt);
    for (const token of [memberJwt, acmeApp]) {
      const res = await gql(url(), AUDIT_EVENTS, {}, bearer(token));
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(res.data?.auditEvents ?? null).toBeNull();
    }
    const anonymous = await gql(url(), AUDIT_EVENTS, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('pages newest first with an opaque cursor, without overlap, and filters by actor, target, action and time', async () => {
    // Relayed events may still be arriving: wait until the trail stops growing (bounded).
    let all = (await audit(acmeAdmin, { first: 100 })).nodes;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const again = (await audit(acmeAdmin, { first: 100 })).nodes;
      if (again.length === all.length) break;
      all = again;
    }
    expect(all.length).toBeGreaterThan(5);
    expect(all.length).toBeLessThan(100);
    const times = all.map((n) => Date.parse(n.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res = await audit(acmeAdmin, { first: 2, after });
      expect(res.nodes.length).toBeLessThanOrEqual(2);
      seen.push(...res.nodes.map((n) => n.id));
      if (!res.pageInfo.hasNextPage) break;
      after = res.pageInfo.endCursor as string;
    }
    expect(seen).toEqual(all.map((n) => n.id));

    const byActor = (await audit(acmeAdmin, { filter: { actor: acme.admin.id }, first: 100 })).nodes;
    expect(byActor.length).toBeGreaterThan(0);
    expect(byActor.every((n) => n.actor.id === acme.admin.id)).toBe(true);
    expect(byActor.length).toBe(all.filter((n) => n.actor.id === acme.admin.id).length);
    const deletions = (await audit(acmeAdmin, { filter: { action: 'user.deleted' } })).nodes;
    expect(deletions.map((n) => n.target.id)).toEqual([dUserId]);
    const middle = all[Math.floor(all.length / 2)]!;
    const since = (await audit(acmeAdmin, { filter: { since: middle.occurredAt }, first: 100 })).nodes;
    const until = (await audit(acmeAdmin, { filter: { until: middle.occurredAt }, first: 100 })).nodes;
    expect(since.every((n) => n.occurredAt >= middle.occurredAt)).toBe(true);
    expect(until.every((n) => n.occurredAt < middle.occurredAt)).toBe(true);
    expect(since.length + until.length).toBe(all.length);

    const bad = await gql(url(), AUDIT_EVENTS, { filter: { since: 'yesterday' }, first: 1000, after: 'not-a-cursor' }, bearer(acmeAdmin));
    expect(bad.errors).toBeUndefined();
    expect(bad.data!.auditEvents.errors.map((e: { path: string[] }) => e.path.join('.')).sort()).toEqual([
      'after',
      'filter.since',
      'first',
    ]);
  });

  it('no stored event holds a personal value or a secret of the suite', async () => {
    const stored = await orgusers.collection('audit_events').find({}).toArray();
    expect(stored.length).toBeGreaterThan(10);
    const text = JSON.stringify(stored);
    for (const secret of secrets) expect(text, 'an audit event holds a personal value or secret').not.toContain(secret);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    expect(text).not.toMatch(/@/);
  });

  it('events older than AUDIT_RETENTION_DAYS (365 by default) are swept by reconcile; younger ones stay', async () => {
    const events = orgusers.collection<{ _id: string } & Record<string, unknown>>('audit_events');
    const old = new Date(Date.now() - 366 * 86_400_000);
    const recent = new Date(Date.now() - 364 * 86_400_000);
    const base = {
      organizationId: acme.organization.id,
      action: 'user.updated',
      actor: { type: 'user', id: acme.admin.id },
      target: { type: 'user', id: acme.admin.id },
      outcome: 'success',
      fanout: 'done',
    };
    await events.insertMany([
      { _id: 'retention-old', ...base, occurredAt: old },
      { _id: 'retention-recent', ...base, occurredAt: recent },
    ]);
    const result = await reconcile(dataDir);
    expect(result.orgUsers.sweptAuditEvents).toBe(1);
    expect(await events.countDocuments({ _id: 'retention-old' })).toBe(0);
    const kept = (await audit(acmeAdmin, { filter: { until: new Date(Date.now() - 300 * 86_400_000).toISOString() } })).nodes;
    expect(kept.map((n) => n.id)).toEqual(['retention-recent']);
  });
});
