/**
 * Issue 16, webhooks, end to end: a real HTTP receiver in this test verifies
 * every delivery with the standardwebhooks library.
 * - every webhook event type arrives with a valid signature; a tampered
 *   payload (or a wrong secret) fails verification;
 * - the receiver is down for a while, then back: everything arrives, in order
 *   per user, duplicates only with the same event id and body;
 * - org-users is killed mid-delivery, then restarted: nothing is lost;
 * - redelivery and secret rotation; another organization's ADMIN sees
 *   neither endpoints nor deliveries, a member without ADMIN is refused;
 * - SSRF: by default loopback, link-local, private, IPv4-mapped addresses and
 *   a name resolving to loopback are refused at creation, and at delivery.
 *
 * Events: real actions through the gateway (D's createUser, updateUser and
 * deleteUsers, license and group changes, logout, a lockout, an application
 * change). Their audit events (org-users' own, and those identity and
 * licensing relay) are what the worker delivers; the test only reads
 * audit_events, to learn an action's event ids.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { freePort } from './support/prometheus.js';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  LOGIN,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
  until,
} from './support/stack.js';

const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.licenses_changed',
  'user.groups_changed',
  'session.revoked',
  'user.locked_out',
  'application.changed',
] as const;

const CREATE_ENDPOINT = `mutation($url: String!, $eventTypes: [String!]!) {
  createWebhookEndpoint(url: $url, eventTypes: $eventTypes) { errors { path message fullMessage } endpoint { id url status eventTypes } secret }
}`;
const ENDPOINTS = `{ webhookEndpoints { id url status disabledReason } }`;
const DELIVERIES = `query($id: ID!, $first: Int) { webhookDeliveries(endpointId: $id, first: $first) { id eventId eventType status attempts lastError } }`;
const DISABLE = `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { errors { path message } endpoint { id status disabledReason } } }`;
const ENABLE = `mutation($id: ID!) { enableWebhookEndpoint(id: $id) { errors { path message } endpoint { id status } } }`;
const ROTATE = `mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { errors { path message } secret } }`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
const UPDATE_USER = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id } } }`;
const DELETE_USERS = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }`;
const USER_PASSWORD = 'Kessel-Run-12-Parsecs';
const REDELIVER = `mutation($endpointId: ID!, $eventId: ID!) {
  redeliverWebhookEvent(endpointId: $endpointId, eventId: $eventId) { errors { path message } delivery { eventId status attempts } }
}`;

interface Receipt {
  id: string;
  body: string;
  headers: Record<string, string>;
  /** The receiver answered 2xx (it accepted the event). */
  accepted: boolean;
}

/** The receiving server: `up` answers 204, `down` drops the connection, `hang` never answers. */
function startReceiver() {
  const receipts: Receipt[] = [];
  let mode: 'up' | 'down' | 'hang' = 'up';
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const receipt = { id: String(req.headers['webhook-id']), body, headers: req.headers as Record<string, string>, accepted: false };
      receipts.push(receipt);
      if (mode === 'down') return req.socket.destroy();
      if (mode === 'hang') return;
      receipt.accepted = true;
      res.statusCode = 204;
      res.end();
    });
  });
  return {
    receipts,
    setMode: (m: typeof mode) => (mode = m),
    async listen() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('webhooks end to end', () => {
  let stack: RunningStack;
  let dataDir: string;
  let orgusers: Connection;
  let acme: BootstrapResult;
  let adminJwt: string;
  const receiver = startReceiver();
  let receiverUrl: string;
  // Read by the stack at each (re)start: the SSRF case restarts org-users with the defaults.
  const orgUsersEnv: Record<string, string> = {
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_ALLOW_HTTP_URLS: 'true',
    // A compressed schedule (the default spans 27 hours): 15 retries within ~12 s.
    WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.2,0.4,0.8,0.8,0.8,0.8,0.8,0.8,0.8,0.8,0.8,0.8,0.8,0.8,0.8',
    WEBHOOK_TIMEOUT_MS: '1000',
    WEBHOOK_POLL_INTERVAL_MS: '100',
  };
  // A lockout after three wrong passwords (user.locked_out); the suite's own logins come from one IP.
  const identityEnv = { LOGIN_MAX_FAILURES_PER_IDENTIFIER: '3', LOGIN_MAX_FAILURES_PER_IP: '1000' };

  const admin = (query: string, variables: Record<string, unknown> = {}, jwt = adminJwt) =>
    gql(stack.gatewayUrl, query, variables, bearer(jwt));

  /** D's createUser, as the ADMIN: an AUTHOR who can sign in with `username`; the user's id. */
  let users = 0;
  async function createUser(username = `hook${++users}`): Promise<string> {
    const res = await admin(CREATE_USER, {
      input: {
        user: { firstName: 'Wanda', lastName: 'Hooks', email: uniqueEmail(username), credentials: { username, password: USER_PASSWORD } },
        requestedLicenses: ['AUTHOR'],
        requestedGroups: ['DEFAULT'],
        requestedOriginGroup: 'DEFAULT',
      },
    });
    expect(res.data!.createUser.errors).toEqual([]);
    return res.data!.createUser.user.id as string;
  }
  async function renameUser(id: string, firstName: string): Promise<void> {
    expect((await admin(UPDATE_USER, { input: { id, user: { firstName } } })).data!.updateUser.errors).toEqual([]);
  }

  /**
   * The ids of the webhook events the audit log holds for a filter, oldest first (the worker's order),
   * once there are `count`: read only, to know which deliveries an action must cause.
   */
  async function webhookEvents(filter: Record<string, unknown>, count: number): Promise<string[]> {
    const events = orgusers.collection<{ _id: string }>('audit_events');
    let ids: string[] = [];
    await until(`${count} webhook events matching ${JSON.stringify(filter)}`, async () => {
      ids = (
        await events
          .find({ webhookType: { $exists: true }, ...filter })
          .sort({ occurredAt: 1, _id: 1 })
          .toArray()
      ).map((e) => e._id);
      return ids.length >= count;
    });
    expect(ids).toHaveLength(count);
    return ids;
  }

  async function createEndpoint(eventTypes: readonly string[], url = receiverUrl, jwt = adminJwt) {
    const res = await admin(CREATE_ENDPOINT, { url, eventTypes }, jwt);
    expect(res.errors).toBeUndefined();
    const out = res.data!.createWebhookEndpoint as { errors: unknown[]; endpoint: { id: string }; secret: string };
    expect(out.errors).toEqual([]);
    return { id: out.endpoint.id, secret: out.secret };
  }

  const acceptedIds = () => new Set(receiver.receipts.filter((r) => r.accepted).map((r) => r.id));

  let metricsPort: number;

  beforeAll(async () => {
    receiverUrl = await receiver.listen();
    metricsPort = await freePort();
    orgUsersEnv.METRICS_PORT = String(metricsPort);
    const started = await startTestStack({ serviceEnv: { 'org-users': orgUsersEnv, identity: identityEnv } });
    ({ stack, dataDir } = started);
    orgusers = await openDatabase(stack, started.options.databasePrefix ?? '', 'orgusers');
    acme = await bootstrapOrganization(dataDir, 'acme');
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  }, 180_000);

  afterAll(async () => {
    receiver.close();
    await orgusers?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI && dataDir) removeDir(dataDir);
  });

  let endpoint: { id: string; secret: string };
  const sent = new Map<string, string>();

  it("an ADMIN's real actions arrive as webhooks, every event type, each with a valid Standard Webhooks signature", async () => {
    endpoint = await createEndpoint(EVENT_TYPES);
    const username = 'wanda';
    const userId = await createUser(username);
    await renameUser(userId, 'Wendy');
    expect((await admin(UPDATE_USER, { input: { id: userId, requestedLicenses: ['AUTHOR', 'ANALYST'] } })).data!.updateUser.errors).toEqual(
      [],
    );
    expect((await admin('mutation { createGroup(name: "HOOKS") { name } }')).errors).toBeUndefined();
    const added = await admin('mutation($ids: [ID!]!) { addGroupMembers(name: "HOOKS", userIds: $ids) { memberCount } }', {
      ids: [userId],
    });
    expect(added.errors).toBeUndefined();
    // The user signs in and out (session.revoked), then three wrong passwords lock the account (user.locked_out).
    const session = await login(stack.gatewayUrl, 'acme', username, USER_PASSWORD);
    expect((await gql(stack.gatewayUrl, 'mutation { logout }', {}, bearer(session.jwt))).data!.logout).toBe(true);
    for (let i = 0; i < 4; i++) await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'acme', identifier: username, password: 'wrong-1' });
    const app = await admin(
      'mutation { createApplication(name: "CRM sync", permissions: ["users:register"]) { application { clientId } } }',
    );
    expect(app.errors).toBeUndefined();
    const clientId = app.data!.createApplication.application.clientId as string;
    expect((await admin(DELETE_USERS, { ids: [userId] })).data!.deleteUsers.deletedIds).toEqual([userId]);

    // Each action's event, as the receiver got it: verified, typed, about this user (or this application).
    const wh = new Webhook(endpoint.secret);
    const about = (r: Receipt) => {
      const body = wh.verify(r.body, r.headers) as { type: string; data: { userId?: string; target: { id: string } } };
      return [body.data.userId, body.data.target.id].some((id) => id === userId || id === clientId) ? body : undefined;
    };
    await until('all eight types', () => {
      const types = new Set(receiver.receipts.filter((r) => r.accepted).map((r) => about(r)?.type));
      return EVENT_TYPES.every((t) => types.has(t));
    });
    const events = orgusers.collection<{ _id: string; action: string; webhookType?: string }>('audit_events');
    for (const r of receiver.receipts.filter((x) => x.accepted)) {
      const verified = about(r) as { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
      if (!verified) continue;
      sent.set(r.id, verified.type);
      // One source of truth: the webhook id is the audit event's id, with the same type and action.
      const recorded = await events.findOne({ _id: r.id });
      expect(recorded, r.id).toMatchObject({ webhookType: verified.type, action: verified.data.action });
      expect(verified.data).toMatchObject({ eventId: r.id, organizationId: acme.organization.id, outcome: expect.any(String) });
      expect(r.headers['content-type']).toBe('application/json');
      // The ADMIN's D actions name the ADMIN; no value (a name, an email, a password) is ever in a payload.
      if (['user.created', 'user.updated', 'user.deleted'].includes(verified.type))
        expect(verified.data.actor).toEqual({ type: 'user', id: acme.admin.id });
      for (const value of ['Wanda', 'Wendy', 'Hooks', USER_PASSWORD, 'wrong-1', '@example.ca']) expect(r.body).not.toContain(value);
    }
    expect(new Set(sent.values())).toEqual(new Set(EVENT_TYPES));
    // Listed, never with its secret; every delivery DELIVERED.
    const listed = await admin(ENDPOINTS);
    expect(listed.data!.webhookEndpoints).toEqual([{ id: endpoint.id, url: receiverUrl, status: 'ENABLED', disabledReason: null }]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
    const deliveries = (await admin(DELIVERIES, { id: endpoint.id, first: 50 })).data!.webhookDeliveries as Array<{
      eventId: string;
      status: string;
    }>;
    for (const id of sent.keys()) expect(deliveries.find((d) => d.eventId === id)?.status, id).toBe('DELIVERED');
    // The Prometheus counter of delivered attempts.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const delivered = /usergraph_webhook_delivery_attempts_total\{[^}]*outcome="delivered"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(delivered?.[1])).toBeGreaterThanOrEqual(8);
    // At rest the secret is sealed, not stored as issued.
    const stored = await orgusers.collection<{ _id: string }>('webhook_endpoints').findOne({ _id: endpoint.id });
    expect(JSON.stringify(stored)).not.toContain(endpoint.secret.slice(6));
  });

  it('a tampered payload, a wrong secret or a replayed old timestamp fails verification', () => {
    const r = receiver.receipts.find((x) => x.accepted && sent.has(x.id))!;
    const wh = new Webhook(endpoint.secret);
    expect(() => wh.verify(r.body, r.headers)).not.toThrow();
    expect(() => wh.verify(r.body.replace('"organizationId":"', '"organizationId":"x'), r.headers)).toThrow(WebhookVerificationError);
    expect(() => wh.verify(r.body, { ...r.headers, 'webhook-id': 'another-id' })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(r.body, r.headers)).toThrow(WebhookVerificationError);
    expect(() => wh.verify(r.body, { ...r.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) })).toThrow(
      WebhookVerificationError,
    );
  });

  it('the receiver is down for a while, then back: everything arrives, in order per user, duplicates only with the same id', async () => {
    receiver.receipts.length = 0;
    receiver.setMode('down');
    // Three users created, then each renamed three times, interleaved: twelve events, four per user.
    const users = [await createUser(), await createUser(), await createUser()];
    for (const firstName of ['Bea', 'Cal', 'Dee']) for (const userId of users) await renameUser(userId, firstName);
    const order = new Map<string, string[]>();
    for (const userId of users) order.set(userId, await webhookEvents({ subjectUserId: userId }, 4));
    const all = [...order.values()].flat();
    await until('attempts against the down receiver', () => receiver.receipts.length >= 6);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(acceptedIds().size).toBe(0);
    receiver.setMode('up');
    await until('every event after the outage', () => all.every((id) => acceptedIds().has(id)));
    // In order per user: each user's events were accepted in the order they happened, and no later one was even tried first.
    for (const [userId, ids] of order) {
      const accepted = receiver.receipts.filter((r) => r.accepted && ids.includes(r.id)).map((r) => r.id);
      expect([...new Set(accepted)], userId).toEqual(ids);
      const firstTried = [...new Set(receiver.receipts.filter((r) => ids.includes(r.id)).map((r) => r.id))];
      expect(firstTried, userId).toEqual(ids);
    }
    // Duplicates (at least once) carry the same event id and the same body.
    const wh = new Webhook(endpoint.secret);
    for (const id of all) {
      const copies = receiver.receipts.filter((r) => r.id === id);
      expect(new Set(copies.map((c) => c.body)).size).toBe(1);
      for (const c of copies) expect(wh.verify(c.body, c.headers)).toMatchObject({ data: { eventId: id } });
    }
    expect(receiver.receipts.every((r) => all.includes(r.id))).toBe(true);
  });

  let crashUsers: string[];
  it('org-users killed mid-delivery, then restarted: nothing is lost', async () => {
    crashUsers = [await createUser(), await createUser()];
    const created = await webhookEvents({ subjectUserId: { $in: crashUsers } }, 2);
    await until('the new users', () => created.every((id) => acceptedIds().has(id)));
    receiver.receipts.length = 0;
    receiver.setMode('hang');
    for (const firstName of ['Bea', 'Cal', 'Dee']) for (const userId of crashUsers) await renameUser(userId, firstName);
    const ids = await webhookEvents({ subjectUserId: { $in: crashUsers }, action: 'user.updated' }, 6);
    await until('a delivery in flight', () => receiver.receipts.length >= 1);
    await stack.kill('org-users', 'SIGKILL');
    expect(stack.pid('org-users')).toBeUndefined();
    receiver.setMode('up');
    await stack.restart('org-users');
    await until('every event after the restart', () => ids.every((id) => acceptedIds().has(id)));
    const deliveries = (await admin(DELIVERIES, { id: endpoint.id, first: 100 })).data!.webhookDeliveries as Array<{
      eventId: string;
      status: string;
    }>;
    for (const id of ids) expect(deliveries.find((d) => d.eventId === id)?.status).toBe('DELIVERED');
  });

  it('an ADMIN redelivers one event (same id), and a rotated secret signs alongside the old one', async () => {
    const [eventId] = [...sent.keys()];
    receiver.receipts.length = 0;
    const res = await admin(REDELIVER, { endpointId: endpoint.id, eventId });
    expect(res.data!.redeliverWebhookEvent).toMatchObject({ errors: [], delivery: { eventId, status: 'PENDING', attempts: 0 } });
    await until('the redelivery', () => acceptedIds().has(eventId!));
    expect(new Webhook(endpoint.secret).verify(receiver.receipts[0]!.body, receiver.receipts[0]!.headers)).toMatchObject({
      data: { eventId },
    });
    // Redeliveries of one event to one endpoint are rate limited (3 per 5 minutes): the fourth is refused with a code.
    for (let i = 0; i < 2; i++) expect((await admin(REDELIVER, { endpointId: endpoint.id, eventId })).errors).toBeUndefined();
    const refused = await admin(REDELIVER, { endpointId: endpoint.id, eventId });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    await until('the redeliveries', () => receiver.receipts.filter((r) => r.id === eventId && r.accepted).length >= 3);
    receiver.receipts.length = 0;

    const rotated = (await admin(ROTATE, { id: endpoint.id })).data!.rotateWebhookEndpointSecret as { errors: unknown[]; secret: string };
    expect(rotated.errors).toEqual([]);
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect((await admin(DELETE_USERS, { ids: [crashUsers[0]] })).data!.deleteUsers.deletedIds).toEqual([crashUsers[0]]);
    const [id] = await webhookEvents({ subjectUserId: crashUsers[0], webhookType: 'user.deleted' }, 1);
    await until('the event after rotation', () => acceptedIds().has(id!));
    const r = receiver.receipts.find((x) => x.id === id)!;
    expect(r.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(rotated.secret).verify(r.body, r.headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(r.body, r.headers)).not.toThrow();
    endpoint = { id: endpoint.id, secret: rotated.secret };
  });

  it('a disabled endpoint gets no new events; its pending deliveries wait until it is enabled again', async () => {
    receiver.receipts.length = 0;
    receiver.setMode('down');
    const [held] = await webhookEvents({ subjectUserId: await createUser() }, 1);
    await until('a failed attempt', () => receiver.receipts.some((r) => r.id === held));
    expect((await admin(DISABLE, { id: endpoint.id })).data!.disableWebhookEndpoint).toMatchObject({
      errors: [],
      endpoint: { status: 'DISABLED', disabledReason: 'ADMIN' },
    });
    receiver.setMode('up');
    const [skipped] = await webhookEvents({ subjectUserId: await createUser() }, 1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(acceptedIds().size).toBe(0);
    expect((await admin(ENABLE, { id: endpoint.id })).data!.enableWebhookEndpoint).toMatchObject({
      errors: [],
      endpoint: { status: 'ENABLED' },
    });
    await until('the held delivery', () => acceptedIds().has(held!));
    const deliveries = (await admin(DELIVERIES, { id: endpoint.id, first: 100 })).data!.webhookDeliveries as Array<{ eventId: string }>;
    expect(deliveries.some((d) => d.eventId === skipped)).toBe(false);
  });

  it('every change to an endpoint is in the audit log, with its actor and never the secret', async () => {
    const events = orgusers.collection('audit_events');
    await until('the relayed audit events', async () => (await events.countDocuments({ 'target.id': endpoint.id })) >= 5);
    const recorded = await events.find({ 'target.id': endpoint.id }).toArray();
    expect(new Set(recorded.map((e) => e.action))).toEqual(
      new Set([
        'webhook.endpoint_created',
        'webhook.redelivery_requested',
        'webhook.secret_rotated',
        'webhook.endpoint_disabled',
        'webhook.endpoint_enabled',
      ]),
    );
    for (const e of recorded) expect(e).toMatchObject({ organizationId: acme.organization.id, actor: { type: 'user', id: acme.admin.id } });
    expect(JSON.stringify(recorded)).not.toContain('whsec_');
    // The ADMIN reads them in the trail, one page at a time: their ids fit its cursor like every other event's.
    const paged: string[] = [];
    let after: string | null = null;
    do {
      const res = await admin(AUDIT_EVENTS, { filter: { target: endpoint.id }, first: 1, after });
      const page = res.data!.auditEvents as {
        errors: unknown[];
        nodes: AuditNode[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
      expect(page.errors).toEqual([]);
      paged.push(...page.nodes.map((n) => n.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after && paged.length <= recorded.length);
    expect(paged.sort()).toEqual(recorded.map((e) => String(e._id)).sort());
  });

  it("another organization's ADMIN sees neither endpoints nor deliveries and changes nothing; a member is refused", async () => {
    await bootstrapOrganization(dataDir, 'globex');
    const globexJwt = (await login(stack.gatewayUrl, 'globex', 'admin', ADMIN_PASSWORD)).jwt;
    expect((await admin(ENDPOINTS, {}, globexJwt)).data!.webhookEndpoints).toEqual([]);
    const deliveries = await admin(DELIVERIES, { id: endpoint.id }, globexJwt);
    expect(deliveries.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(JSON.stringify(deliveries)).not.toContain('user.');
    const [eventId] = [...sent.keys()];
    for (const [query, field, variables] of [
      [DISABLE, 'disableWebhookEndpoint', { id: endpoint.id }],
      [ROTATE, 'rotateWebhookEndpointSecret', { id: endpoint.id }],
      [REDELIVER, 'redeliverWebhookEvent', { endpointId: endpoint.id, eventId }],
    ] as const) {
      const res = await admin(query, variables, globexJwt);
      const out = res.data![field] as { errors: Array<{ message: string }> };
      expect(out.errors[0]?.message, field).toBe('does not name a webhook endpoint of your organization');
    }
    // Same answer as an id that does not exist.
    const absent = (await admin(DISABLE, { id: '0123456789abcdef01234567' }, globexJwt)).data!.disableWebhookEndpoint as {
      errors: Array<{ message: string }>;
    };
    expect(absent.errors[0]?.message).toBe('does not name a webhook endpoint of your organization');
    expect((await admin(ENDPOINTS)).data!.webhookEndpoints).toMatchObject([{ id: endpoint.id, status: 'ENABLED' }]);

    // A colleague without ADMIN (an AUTHOR) may not read or create endpoints.
    const email = uniqueEmail('author');
    const created = await admin(`mutation($input: CreateUserInput!) { createUser(input: $input) { errors { message } user { id } } }`, {
      input: {
        user: { firstName: 'Ada', lastName: 'Author', email, credentials: { username: 'author1', password: 'Kessel-Run-12-Parsecs' } },
        requestedLicenses: ['AUTHOR'],
        requestedGroups: ['DEFAULT'],
        requestedOriginGroup: 'DEFAULT',
      },
    });
    expect(created.data!.createUser).toMatchObject({ errors: [] });
    const authorJwt = (await login(stack.gatewayUrl, 'acme', 'author1', 'Kessel-Run-12-Parsecs')).jwt;
    expect((await admin(ENDPOINTS, {}, authorJwt)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(
      (await admin(CREATE_ENDPOINT, { url: receiverUrl, eventTypes: ['user.created'] }, authorJwt)).errors?.[0]?.extensions?.code,
    ).toBe('FORBIDDEN');
    // Anonymous: nothing.
    expect((await gql(stack.gatewayUrl, ENDPOINTS)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('bad input names the field', async () => {
    const res = await admin(CREATE_ENDPOINT, { url: receiverUrl, eventTypes: ['user.exploded'] });
    expect(res.data!.createWebhookEndpoint).toMatchObject({ errors: [{ path: ['eventTypes'] }], endpoint: null, secret: null });
    const none = await admin(CREATE_ENDPOINT, { url: receiverUrl, eventTypes: [] });
    expect(none.data!.createWebhookEndpoint).toMatchObject({ errors: [{ path: ['eventTypes'] }] });
    const first = await admin(DELIVERIES, { id: endpoint.id, first: 100_000 });
    expect(first.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('SSRF: by default private, loopback, link-local and mapped addresses are refused at creation and at delivery', async () => {
    delete orgUsersEnv.WEBHOOK_ALLOW_PRIVATE_URLS;
    delete orgUsersEnv.WEBHOOK_ALLOW_HTTP_URLS;
    await stack.restart('org-users');
    for (const url of [
      'https://127.0.0.1/hooks',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.7/hooks',
      'https://192.168.1.1/hooks',
      'https://[::1]/hooks',
      'https://[::ffff:127.0.0.1]/hooks',
      'https://[fe80::1]/hooks',
      'https://0177.0.0.1/hooks',
      'https://localhost/hooks',
      // IPv4-compatible IPv6 (::/96) of 127.0.0.1.
      'https://[::127.0.0.1]/hooks',
      // A name that does not resolve gets the same answer as an internal one: no DNS probing through this mutation.
      'https://no-such-host.invalid/hooks',
    ]) {
      const res = await admin(CREATE_ENDPOINT, { url, eventTypes: ['user.created'] });
      expect(res.data!.createWebhookEndpoint, url).toMatchObject({
        errors: [{ path: ['url'], message: 'must resolve to public addresses only' }],
        endpoint: null,
        secret: null,
      });
    }
    const plain = await admin(CREATE_ENDPOINT, { url: 'http://hooks.example.com/x', eventTypes: ['user.created'] });
    expect(plain.data!.createWebhookEndpoint).toMatchObject({ errors: [{ path: ['url'], message: 'must use https://' }] });

    // The endpoint created while allowed (the receiver on 127.0.0.1) is refused at delivery now.
    receiver.receipts.length = 0;
    const [id] = await webhookEvents({ subjectUserId: await createUser() }, 1);
    await until('a refused attempt', async () => {
      const list = (await admin(DELIVERIES, { id: endpoint.id, first: 5 })).data!.webhookDeliveries as Array<{
        eventId: string;
        lastError: string | null;
      }>;
      return list.some((d) => d.eventId === id && d.lastError === 'ADDRESS_REFUSED');
    });
    expect(receiver.receipts).toHaveLength(0);
  });
});
