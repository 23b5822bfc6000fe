/**
 * Issue 16, "nothing lost": an audit event is written in the same atomic write
 * as its change (a profile's `auditOutbox`, the deletion mark's event) or in an
 * `audit_outbox` document that the relay and `usergraph reconcile` replay. For
 * each point where a crash can fall between the change and the event reaching
 * the log, the service is killed there (FAULT_INJECTION), restarted, and the
 * event is found by `auditEvents`; and a creation that a crash undid leaves no
 * `user.created` event for a user that never existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import {
  ADMIN_PASSWORD,
  LOGIN,
  bearer,
  bootstrapOrganization,
  crashLeavingDown,
  gql,
  login,
  openDatabase,
  reconcile,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }`;
const PASSWORD = 'Kessel-Run-12-Parsecs';

describe('audit log: a crash between a change and its event loses nothing', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let dbs: Record<'identity' | 'orgusers', Connection>;
  const adminJwt = async () => (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  const events = async (filter: Record<string, unknown>): Promise<AuditNode[]> => {
    const res = await gql(stack.gatewayUrl, AUDIT_EVENTS, { filter, first: 100 }, bearer(await adminJwt()));
    expect(res.data!.auditEvents.errors).toEqual([]);
    return res.data!.auditEvents.nodes as AuditNode[];
  };
  const createUser = async (email: string, username: string) =>
    gql(
      stack.gatewayUrl,
      CREATE,
      {
        input: {
          user: { firstName: 'Han', lastName: 'Solo', email, credentials: { username, password: PASSWORD } },
          requestedLicenses: ['AUTHOR'],
          requestedGroups: ['DEFAULT'],
          requestedOriginGroup: 'DEFAULT',
        },
      },
      bearer(await adminJwt()),
    );
  const profileOf = (email: string) =>
    dbs.orgusers
      .collection<{ _id: string; auditOutbox?: Array<{ id: string; action: string }> }>('users')
      .findOne({ emailNormalized: email });

  beforeAll(async () => {
    // The interval pass is pushed far away: only a restart's first pass or reconcile can move what a crash left.
    const started = await startTestStack({
      // Webhook endpoints on loopback (the endpoint case): allowed outside production.
      serviceEnv: { 'org-users': { WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_ALLOW_HTTP_URLS: 'true' } },
      env: { LOG_LEVEL: 'info', RECONCILE_MIN_MARKER_AGE_SECONDS: '0', AUDIT_RELAY_INTERVAL_SECONDS: '3600' },
    });
    ({ stack, dataDir } = started);
    const prefix = started.options.databasePrefix ?? '';
    dbs = { identity: await openDatabase(stack, prefix, 'identity'), orgusers: await openDatabase(stack, prefix, 'orgusers') };
    acme = await bootstrapOrganization(dataDir, 'acme');
  });

  afterAll(async () => {
    for (const db of Object.values(dbs ?? {})) await db.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('org-users killed after the creation committed, before its relay: the event was in the profile write, and arrives after the restart', async () => {
    const email = uniqueEmail('relaycrash');
    await crashLeavingDown(stack, 'org-users', 'audit:before-relay', async () => {
      await createUser(email, 'relay_crash');
    });
    // While org-users is down: the user exists, its event rides on the profile.
    const profile = await profileOf(email);
    expect(profile?.auditOutbox?.map((e) => e.action)).toEqual(['user.created']);
    await stack.restart('org-users');
    let found: AuditNode[] = [];
    for (let i = 0; i < 100 && found.length === 0; i++) {
      found = await events({ action: 'user.created', target: profile!._id });
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toHaveLength(1);
    expect(found[0]!.id).toBe(`org-users:${profile!.auditOutbox![0]!.id}`);
    expect(found[0]!.actor).toEqual({ type: 'user', id: acme.admin.id });
    // Removed from the profile once logged (just after: the log is written first).
    let left = (await profileOf(email))?.auditOutbox ?? [];
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await profileOf(email))?.auditOutbox ?? [];
    }
    expect(left).toEqual([]);
  });

  it('org-users killed after an endpoint was created, before its relay: the event was in the endpoint write, and arrives after the restart', async () => {
    const jwt = await adminJwt();
    await crashLeavingDown(stack, 'org-users', 'audit:before-relay', async () => {
      // No answer: org-users dies right after the write, before replying. Port 9: nothing is ever delivered.
      await gql(
        stack.gatewayUrl,
        'mutation { createWebhookEndpoint(url: "http://127.0.0.1:9/hooks", eventTypes: ["application.changed"]) { endpoint { id } } }',
        {},
        bearer(jwt),
      );
    });
    const endpoints = dbs.orgusers.collection<{ _id: string; auditOutbox?: Array<{ id: string; action: string }> }>('webhook_endpoints');
    const endpoint = await endpoints.findOne({ organizationId: acme.organization.id });
    expect(endpoint?.auditOutbox?.map((e) => e.action)).toEqual(['webhook.endpoint_created']);
    await stack.restart('org-users');
    let found: AuditNode[] = [];
    for (let i = 0; i < 100 && found.length === 0; i++) {
      found = await events({ action: 'webhook.endpoint_created', target: endpoint!._id });
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ id: `org-users:${endpoint!.auditOutbox![0]!.id}`, actor: { type: 'user', id: acme.admin.id } });
    let left = (await endpoints.findOne({ _id: endpoint!._id }))?.auditOutbox ?? [];
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await endpoints.findOne({ _id: endpoint!._id }))?.auditOutbox ?? [];
    }
    expect(left).toEqual([]);
  });

  it('org-users killed after a deletion removed the profile, before its relay: the event waits in audit_outbox and reconcile logs it once', async () => {
    const email = uniqueEmail('delcrash');
    const created = await createUser(email, 'del_crash');
    const userId = created.data!.createUser.user.id as string;
    await crashLeavingDown(stack, 'org-users', 'audit:before-relay', async () => {
      await gql(stack.gatewayUrl, DELETE, { ids: [userId] }, bearer(await adminJwt()));
    });
    expect(await dbs.orgusers.collection('audit_outbox').countDocuments({ subjectUserId: userId, action: 'user.deleted' })).toBe(1);
    await stack.restart('org-users');
    await reconcile(dataDir);
    await reconcile(dataDir); // a replay stores nothing twice
    const deleted = await events({ action: 'user.deleted', target: userId });
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.actor).toEqual({ type: 'user', id: acme.admin.id });
    expect(await dbs.orgusers.collection('audit_outbox').countDocuments({})).toBe(0);
  });

  for (const point of ['deprovision:after-mark', 'deprovision:after-licenses', 'deprovision:after-credentials']) {
    it(`deleteUsers crashed at ${point}: reconcile finishes the deletion and logs it as the ADMIN's, once`, async () => {
      const email = uniqueEmail('sagadel');
      const created = await createUser(email, `sd_${point.split(':')[1]!.replaceAll('-', '_')}`);
      const userId = created.data!.createUser.user.id as string;
      await crashLeavingDown(stack, 'org-users', point, async () => {
        await gql(stack.gatewayUrl, DELETE, { ids: [userId] }, bearer(await adminJwt()));
      });
      await stack.restart('org-users');
      // Not yet deleted, not yet logged: the event waits on the mark.
      expect(await events({ action: 'user.deleted', target: userId })).toEqual([]);
      const report = await reconcile(dataDir);
      expect(report.orgUsers.deletedProfiles).toBe(1);
      const deleted = await events({ action: 'user.deleted', target: userId });
      expect(deleted).toHaveLength(1);
      expect(deleted[0]).toMatchObject({ actor: { type: 'user', id: acme.admin.id }, outcome: 'SUCCESS' });
    });
  }

  for (const point of ['provision:after-profile', 'provision:before-activate']) {
    it(`createUser crashed at ${point}: reconcile removes the user, and no user.created event claims it existed`, async () => {
      const email = uniqueEmail('sagacreate');
      await crashLeavingDown(stack, 'org-users', point, async () => {
        await createUser(email, `sc_${point.split(':')[1]!.replaceAll('-', '_')}`);
      });
      const profile = await profileOf(email);
      expect(profile?.auditOutbox?.map((e) => e.action)).toEqual(['user.created']);
      await stack.restart('org-users');
      const report = await reconcile(dataDir);
      expect(report.orgUsers.removedProfiles).toBe(1);
      expect(await events({ target: profile!._id })).toEqual([]);
    });
  }

  it('identity killed after a login event was stored, before its relay: the event is in its outbox and arrives after the restart', async () => {
    await crashLeavingDown(stack, 'identity', 'audit:before-relay', async () => {
      const res = await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'acme', identifier: 'admin', password: 'wrong-password-1' });
      expect(res.errors?.length).toBeGreaterThan(0);
    });
    const left = await dbs.identity.collection<{ _id: string; action: string }>('audit_outbox').find({}).toArray();
    expect(left.map((e) => e.action)).toEqual(['user.login_failed']);
    await stack.restart('identity');
    let found: AuditNode[] = [];
    for (let i = 0; i < 100 && found.length === 0; i++) {
      found = await events({ action: 'user.login_failed' });
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    // The log stores it under its producer's name (no service can take another's ids).
    expect(found.map((e) => e.id)).toEqual([`identity:${left[0]!._id}`]);
    expect(await dbs.identity.collection('audit_outbox').countDocuments({})).toBe(0);
  });

  it("an event left in identity's outbox while org-users was down is moved by reconcile", async () => {
    // As a relay that failed (org-users unavailable) leaves it; identity's interval pass is an hour away.
    await dbs.identity.collection<{ _id: string } & Record<string, unknown>>('audit_outbox').insertOne({
      _id: 'left-behind-1',
      id: 'left-behind-1',
      action: 'user.login_failed',
      organizationId: acme.organization.id,
      actor: { type: 'anonymous', id: '-' },
      target: { type: 'account', id: 'unknown' },
      outcome: 'failure',
      occurredAt: new Date(),
    });
    const report = await reconcile(dataDir);
    expect(report.identity.relayedAuditEvents).toBeGreaterThanOrEqual(1);
    expect((await events({ action: 'user.login_failed' })).map((e) => e.id)).toContain('identity:left-behind-1');
  });
});
