/**
 * The webhook worker on the real store with a real HTTP receiver, events
 * stored by the audit module (audit_events): fan-out once, signed delivery,
 * order per user, two workers never sending one attempt at once, give-up
 * disables the endpoint with an audit event the audit relay moves. Every
 * actor type in a payload. And the URL guard.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { connectDatabase, createRateLimiterFactory } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger, DomainError, generateEncryptionKey, type Caller } from '@usergraph/service-kit';
import { auditEvent, type AuditActor, type WebhookEventType } from '@usergraph/audit';
import type { AccessPolicy } from '../../access-policy.js';
import { createAuditModule, type AuditModule } from '../audit/audit-module.js';
import type { AuditEventDoc } from '../audit/audit-store.js';
import { isPublicAddress, resolveWebhookUrl, URL_REFUSALS } from './url-guard.js';
import { createWebhookService, MAX_ENDPOINTS_PER_ORGANIZATION, REDELIVERY_LIMIT, WEBHOOK_MUTATION_LIMIT } from './webhook-service.js';
import { openWebhookCollections, type EndpointDoc, type WebhookCollections } from './webhook-store.js';
import {
  createWebhookWorker,
  PER_ENDPOINT_IN_FLIGHT,
  retryDelayMs,
  webhookPayload,
  type WebhookWorker,
  type WebhookWorkerOptions,
} from './webhook-worker.js';

const logger = createLogger({ service: 'webhooks-test', level: 'silent' });
const DEV = { allowPrivate: true, allowHttp: true };
const STRICT = { allowPrivate: false, allowHttp: false };

describe('URL guard', () => {
  it.each([
    ['http://127.0.0.1/hook', 'scheme'],
    ['https://127.0.0.1/hook', 'private-address'],
    ['https://169.254.169.254/latest/meta-data', 'private-address'],
    ['https://10.1.2.3/', 'private-address'],
    ['https://192.168.0.1/', 'private-address'],
    ['https://[::1]/', 'private-address'],
    ['https://[::ffff:127.0.0.1]/', 'private-address'],
    // IPv4-compatible IPv6 (::/96): ::7f00:1, which ipaddr.js calls unicast.
    ['https://[::127.0.0.1]/', 'private-address'],
    ['https://[::a00:1]/', 'private-address'],
    ['https://[64:ff9b::7f00:1]/', 'private-address'],
    ['https://0x7f.1/', 'private-address'],
    ['https://2130706433/', 'private-address'],
    ['https://0.0.0.0/', 'private-address'],
    ['https://localhost/', 'private-address'],
    ['http://93.184.215.14/', 'scheme'],
    ['ftp://93.184.215.14/', 'scheme'],
    ['https://user:pw@93.184.215.14/', 'credentials'],
    ['not a url', 'malformed'],
  ])('refuses %s by default (%s)', async (url, refusal) => {
    const res = await resolveWebhookUrl(url, STRICT, async () => [{ address: '127.0.0.1', family: 4 }]);
    expect(res).toEqual({ ok: false, refusal });
  });

  it('refuses a name when any address it resolves to is private, and pins the checked one', async () => {
    const mixed = await resolveWebhookUrl('https://hooks.example.com/x', STRICT, async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ]);
    expect(mixed).toEqual({ ok: false, refusal: 'private-address' });
    const ok = await resolveWebhookUrl('https://hooks.example.com/x', STRICT, async () => [{ address: '93.184.215.14', family: 4 }]);
    expect(ok.ok && ok.target.address).toBe('93.184.215.14');
  });

  it('answers a name that does not resolve like one that resolves to a private address (no DNS probing)', async () => {
    const none = await resolveWebhookUrl('https://internal.example/x', STRICT, async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    });
    const internal = await resolveWebhookUrl('https://intranet.example/x', STRICT, async () => [{ address: '10.0.0.5', family: 4 }]);
    expect(!none.ok && !internal.ok && [URL_REFUSALS[none.refusal], URL_REFUSALS[internal.refusal]]).toEqual([
      'must resolve to public addresses only',
      'must resolve to public addresses only',
    ]);
  });

  it('allows loopback and http only with the development setting', async () => {
    const res = await resolveWebhookUrl('http://127.0.0.1:9/x', DEV);
    expect(res.ok).toBe(true);
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('fd00::1')).toBe(false);
  });

  it('waits 0-20 % longer than each step of the schedule, and gives up after the last', () => {
    expect(retryDelayMs([5, 300], 1, () => 0)).toBe(5_000);
    expect(retryDelayMs([5, 300], 2, () => 0.999)).toBeLessThanOrEqual(360_000);
    expect(retryDelayMs([5, 300], 2, () => 0.999)).toBeGreaterThan(300_000);
    expect(retryDelayMs([5, 300], 3)).toBeUndefined();
  });
});

interface Received {
  id: string;
  body: string;
  headers: Record<string, string>;
}

describe('webhook worker on the real store', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let col: WebhookCollections;
  let audit: AuditModule;
  let server: http.Server;
  let receiverUrl: string;
  const received: Received[] = [];
  /** What the receiver answers: a status, or 'hang' (never answers); after answerDelayMs. */
  let answer: number | 'hang' = 204;
  let answerDelayMs = 0;
  /** A tarpit: accepts connections and never answers. */
  let tarpit: net.Server;
  let tarpitUrl: string;
  let tarpitConnections = 0;
  const workers: WebhookWorker[] = [];
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('orgusers_webhooks'), appName: 'webhooks-test' });
    col = await openWebhookCollections(conn, generateEncryptionKey());
    audit = await createAuditModule({
      conn,
      logger,
      retentionDays: 1,
      queryMaxTimeMs: 5000,
      relayIntervalMs: 60_000,
      sweepIntervalMs: 60_000,
    });
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ id: String(req.headers['webhook-id']), body, headers: req.headers as Record<string, string> });
        if (answer === 'hang') return;
        const status = answer;
        setTimeout(() => {
          res.statusCode = status;
          res.end();
        }, answerDelayMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    tarpit = net.createServer((socket) => {
      tarpitConnections++;
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => tarpit.listen(0, '127.0.0.1', r));
    tarpitUrl = `http://127.0.0.1:${(tarpit.address() as AddressInfo).port}/tarpit`;
  }, 60_000);

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    received.length = 0;
    answer = 204;
    answerDelayMs = 0;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    tarpit?.close();
    await audit?.stop();
    await conn?.close();
    await store?.stop();
  });

  const startWorker = (schedule: number[] = [0.2, 0.2], more: Partial<WebhookWorkerOptions> = {}) => {
    const w = createWebhookWorker(
      col,
      {
        retryScheduleSeconds: schedule,
        timeoutMs: 500,
        pollIntervalMs: 50,
        retentionDays: 1,
        urlPolicy: DEV,
        relayAudit: audit.kickEndpoint,
        ...more,
      },
      logger,
    );
    workers.push(w);
    return w;
  };

  let slots = 0;
  async function newEndpoint(
    organizationId: string,
    eventTypes: EndpointDoc['eventTypes'],
    url = receiverUrl,
    status: EndpointDoc['status'] = 'ENABLED',
  ): Promise<string> {
    const id = randomBytes(12).toString('hex');
    const now = new Date(Date.now() - 60_000);
    await col.endpoints.insertOne({
      _id: id,
      organizationId,
      url,
      eventTypes,
      secret: col.secrets.encrypt(secret),
      slot: slots++,
      status,
      createdAt: now,
      updatedAt: now,
    });
    return id;
  }

  /** An event about a user, stored as the audit log stores every service's once admitted (admission.ts sets webhookType). */
  async function recordEvent(organizationId: string, userId: string, type: WebhookEventType, offsetMs = 0) {
    const event = {
      ...auditEvent(
        { actor: { type: 'user', id: 'admin-1' } },
        {
          action: 'user.updated',
          organizationId,
          target: { type: 'user', id: userId },
          subjectUserId: userId,
          outcome: 'success',
          occurredAt: new Date(Date.now() + offsetMs),
        },
      ),
      webhookType: type,
    };
    expect(await audit.store.record([event])).toBe(1);
    return event.id;
  }

  const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('fans an event out once per matching endpoint and delivers it signed, in order per user', async () => {
    const org = randomBytes(6).toString('hex');
    const endpointId = await newEndpoint(org, ['user.created', 'user.updated']);
    await newEndpoint(org, ['session.revoked']); // not subscribed: receives nothing
    const ids = [
      await recordEvent(org, 'u1', 'user.created', 0),
      await recordEvent(org, 'u1', 'user.updated', 1),
      await recordEvent(org, 'u1', 'user.updated', 2),
    ];
    // Two workers (two replicas) on the same database.
    startWorker();
    startWorker();
    await until('three deliveries', async () => (await col.deliveries.countDocuments({ endpointId, status: 'DELIVERED' })) === 3);
    expect(await col.deliveries.countDocuments({ organizationId: org })).toBe(3);
    expect(await col.events.countDocuments({ _id: { $in: ids }, fanout: 'done' })).toBe(3);
    const wh = new Webhook(secret);
    for (const r of received) expect(wh.verify(r.body, r.headers)).toMatchObject({ data: { eventId: r.id } });
    expect(received.map((r) => r.id)).toEqual(ids);
  });

  it('an expired event whose fan-out is pending survives the retention sweep, is delivered, and goes with the next sweep', async () => {
    const org = randomBytes(6).toString('hex');
    const endpointId = await newEndpoint(org, ['user.updated']);
    // An endpoint gets the events after its creation: this one is older than the event.
    await col.endpoints.updateOne({ _id: endpointId }, { $set: { createdAt: new Date(Date.now() - 3 * 86_400_000) } });
    // Older than the module's retention (1 day), stored while no worker ran (org-users down, a backlog).
    const id = await recordEvent(org, 'u-old', 'user.updated', -2 * 86_400_000);
    await audit.reconcile();
    expect(await col.events.findOne({ _id: id }, { projection: { fanout: 1 } })).toMatchObject({ fanout: 'pending' });
    startWorker();
    await until('the delivery', async () => (await col.deliveries.countDocuments({ endpointId, status: 'DELIVERED' })) === 1);
    expect(received.map((r) => r.id)).toEqual([id]);
    expect(new Webhook(secret).verify(received[0]!.body, received[0]!.headers)).toMatchObject({ data: { eventId: id } });
    await until('the fan-out done', async () => (await col.events.countDocuments({ _id: id, fanout: 'done' })) === 1);
    expect((await audit.reconcile()).sweptAuditEvents).toBeGreaterThanOrEqual(1);
    expect(await col.events.countDocuments({ _id: id })).toBe(0);
  });

  it("an event the audit log stores (its own relay's, or recordAuditEvents') wakes the worker: no wait for the poll", async () => {
    const org = randomBytes(6).toString('hex');
    await newEndpoint(org, ['user.updated']);
    // A poll far longer than the wait below: only the notify can deliver in time.
    const w = createWebhookWorker(
      col,
      {
        retryScheduleSeconds: [60],
        timeoutMs: 500,
        pollIntervalMs: 600_000,
        retentionDays: 1,
        urlPolicy: DEV,
        relayAudit: audit.kickEndpoint,
      },
      logger,
    );
    workers.push(w);
    audit.onWebhookEvents(() => w.notify());
    await w.runOnce();
    // Through org-users' outbox and relay (the path of every org-users write), into audit_events.
    await audit.record(
      { actor: { type: 'user', id: 'admin-1' } },
      {
        action: 'user.updated',
        organizationId: org,
        target: { type: 'user', id: 'u5' },
        subjectUserId: 'u5',
        outcome: 'success',
      },
    );
    await until('the delivery', () => received.length === 1, 10_000);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ type: 'user.updated', data: { organizationId: org, userId: 'u5' } });
  });

  it('two workers never send one attempt at once: a hanging receiver sees each event once per lease', async () => {
    const org = randomBytes(6).toString('hex');
    await newEndpoint(org, ['user.deleted']);
    answer = 'hang';
    const id = await recordEvent(org, 'u2', 'user.deleted');
    startWorker([60]);
    startWorker([60]);
    await until('the first attempt', () => received.some((r) => r.id === id));
    // The attempt times out at 500 ms and is rescheduled 60 s later: in between no second send of it.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(received.filter((r) => r.id === id)).toHaveLength(1);
  });

  it('gives up after the schedule: the delivery FAILED, the endpoint disabled, an audit event recorded', async () => {
    const org = randomBytes(6).toString('hex');
    const endpointId = await newEndpoint(org, ['user.locked_out']);
    answer = 500;
    await recordEvent(org, 'u3', 'user.locked_out');
    const worker = startWorker([0.05, 0.05]);
    await until('the give-up', async () => (await col.deliveries.countDocuments({ endpointId, status: 'FAILED' })) === 1);
    // The audit event rode in the endpoint's write, then moved to audit_events.
    await until('the audit event', async () => (await col.endpoints.findOne({ _id: endpointId }))?.auditOutbox?.length === 0);
    expect(await col.events.countDocuments({ action: 'webhook.endpoint_disabled', 'target.id': endpointId })).toBe(1);
    expect(await col.endpoints.findOne({ _id: endpointId })).toMatchObject({ status: 'DISABLED', disabledReason: 'FAILING' });
    expect((await col.deliveries.findOne({ endpointId }))?.attempts).toBe(3);
    expect(worker.counters().webhook_endpoints_disabled).toBe(1);
    // Nothing further goes to a disabled endpoint.
    const before = received.length;
    await recordEvent(org, 'u3', 'user.locked_out');
    await worker.runOnce();
    expect(received.length).toBe(before);
  });

  /** The real service on the real store; only who the caller is comes from this stand-in of the access policy. */
  function serviceFor(organizationId: string, worker?: WebhookWorker) {
    const policy = {
      viewerOf: async () => ({ kind: 'user', role: 'admin', organizationId, userId: 'admin-1' }),
      auditOrigin: async () => ({ actor: { type: 'user', id: 'admin-1' } }),
    } as unknown as AccessPolicy;
    const caller: Caller = { kind: 'user', userId: 'admin-1', organizationId, sessionId: 's' };
    const service = createWebhookService({
      col,
      policy,
      urlPolicy: DEV,
      relayAudit: audit.kickEndpoint,
      notify: () => worker?.notify(),
      limiters: createRateLimiterFactory(conn),
    });
    return { service, caller };
  }
  const codeOf = (r: PromiseSettledResult<unknown>) =>
    r.status === 'rejected' && r.reason instanceof DomainError ? r.reason.code : r.status;

  it("one organization's hanging receivers do not hold back another's deliveries", async () => {
    const evil = randomBytes(6).toString('hex');
    const victim = randomBytes(6).toString('hex');
    const tarpits: string[] = [];
    for (let i = 0; i < 20; i++) tarpits.push(await newEndpoint(evil, ['user.created'], tarpitUrl));
    const victimEndpoint = await newEndpoint(victim, ['user.created']);
    // 200 deliveries to hanging receivers, all older than the victim's one.
    for (let u = 0; u < 10; u++) await recordEvent(evil, `evil-${u}`, 'user.created', -10_000 + u);
    const victimEvent = await recordEvent(victim, 'v1', 'user.created', -5_000);
    tarpitConnections = 0;
    const started = Date.now();
    startWorker([60], { timeoutMs: 2_000 });
    await until('the victim delivery', () => received.some((r) => r.id === victimEvent), 10_000);
    // Before the first hanging attempt times out (2 s), not after a batch of them.
    expect(Date.now() - started).toBeLessThan(1_500);
    await until(
      'the victim recorded',
      async () => (await col.deliveries.countDocuments({ endpointId: victimEndpoint, status: 'DELIVERED' })) === 1,
    );
    // Each hanging endpoint held at most its own places; after its first timeout its whole queue waits for the retry.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(tarpitConnections).toBeLessThanOrEqual(tarpits.length * PER_ENDPOINT_IN_FLIGHT);
    const soonest = await col.deliveries
      .find({ endpointId: { $in: tarpits }, status: 'PENDING' })
      .sort({ nextAttemptAt: 1 })
      .limit(1)
      .toArray();
    expect(soonest[0]!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
  }, 30_000);

  it('40 concurrent creates store at most the cap, and the list shows every stored endpoint', async () => {
    const org = randomBytes(6).toString('hex');
    const { service, caller } = serviceFor(org);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => service.create(caller, { url: receiverUrl, eventTypes: ['user.created'] }, {})),
    );
    const created = results.filter((r) => r.status === 'fulfilled' && r.value.endpoint !== null);
    const stored = await col.endpoints.countDocuments({ organizationId: org });
    expect(stored).toBe(MAX_ENDPOINTS_PER_ORGANIZATION);
    expect(created).toHaveLength(MAX_ENDPOINTS_PER_ORGANIZATION);
    expect((await service.list(caller)).length).toBe(stored);
    const refused = results.filter((r) => r.status === 'fulfilled' && r.value.endpoint === null);
    for (const r of refused)
      expect(r.status === 'fulfilled' && r.value.errors).toEqual([
        expect.objectContaining({ path: ['url'], message: expect.stringContaining(`at most ${MAX_ENDPOINTS_PER_ORGANIZATION}`) }),
      ]);
  }, 60_000);

  it('redeliveries and other endpoint changes are rate limited, per event and per organization', async () => {
    const org = randomBytes(6).toString('hex');
    const worker = startWorker();
    const { service, caller } = serviceFor(org, worker);
    const created = await service.create(caller, { url: receiverUrl, eventTypes: ['user.created'] }, {});
    const endpointId = created.endpoint!.id;
    const eventId = await recordEvent(org, 'u-rl', 'user.created');
    await until('the first delivery', async () => (await col.deliveries.countDocuments({ endpointId, status: 'DELIVERED' })) === 1);
    const spam = await Promise.allSettled(Array.from({ length: 20 }, () => service.redeliver(caller, { endpointId, eventId }, {})));
    expect(spam.filter((r) => codeOf(r) === 'fulfilled')).toHaveLength(REDELIVERY_LIMIT.points);
    expect(spam.filter((r) => codeOf(r) === 'RATE_LIMITED')).toHaveLength(20 - REDELIVERY_LIMIT.points);
    // Audited only when done: at most the allowed redeliveries in the outbox and the log.
    await until('the audit relay', async () => (await col.endpoints.findOne({ _id: endpointId }))?.auditOutbox?.length === 0);
    expect(await col.events.countDocuments({ action: 'webhook.redelivery_requested', 'target.id': endpointId })).toBe(
      REDELIVERY_LIMIT.points,
    );
    // The organization's budget of webhook changes: used by the create and the 20 redelivery calls above.
    const more = await Promise.allSettled(
      Array.from({ length: WEBHOOK_MUTATION_LIMIT.points }, () => service.setStatus(caller, endpointId, 'ENABLED', {})),
    );
    expect(more.filter((r) => codeOf(r) === 'RATE_LIMITED')).toHaveLength(21);
    const refused = more.find((r) => r.status === 'rejected')!;
    expect((refused.reason as DomainError).extensions.retryAfterSeconds).toBeGreaterThan(0);
  }, 30_000);

  it("a disabled endpoint's deliveries are parked out of the due query, and pending again when it is enabled", async () => {
    const org = randomBytes(6).toString('hex');
    const { service, caller } = serviceFor(org);
    const endpointId = (await service.create(caller, { url: receiverUrl, eventTypes: ['user.created'] }, {})).endpoint!.id;
    const past = new Date(Date.now() - 1_000);
    const backlog = Array.from({ length: 2_000 }, (_, i) => ({
      _id: `${endpointId}:parked-${i}`,
      endpointId,
      organizationId: org,
      eventId: `parked-${i}`,
      eventType: 'user.created' as const,
      orderKey: `u${i % 50}`,
      occurredAt: new Date(past.getTime() + i),
      payload: '{}',
      status: 'PENDING' as const,
      attempts: 1,
      nextAttemptAt: past,
      createdAt: past,
    }));
    for (let i = 0; i < backlog.length; i += 500) await col.deliveries.insertMany(backlog.slice(i, i + 500));
    await service.setStatus(caller, endpointId, 'DISABLED', {});
    expect(await col.deliveries.countDocuments({ endpointId, status: 'PARKED' })).toBe(2_000);
    // The due query (the worker's) now sees none of them.
    expect(await col.deliveries.countDocuments({ endpointId, status: 'PENDING', nextAttemptAt: { $lte: new Date() } })).toBe(0);
    // One written after the disable (a dispatch that read the endpoint as enabled) is parked by the worker when due.
    await col.deliveries.insertOne({ ...backlog[0]!, _id: `${endpointId}:late`, eventId: 'late' });
    await startWorker().runOnce();
    expect(await col.deliveries.countDocuments({ endpointId, status: 'PARKED' })).toBe(2_001);
    expect(received).toHaveLength(0);
    // Listed as pending with no next attempt while parked: the API's states are unchanged.
    expect((await service.deliveries(caller, endpointId, 1))[0]).toMatchObject({ status: 'PENDING', nextAttemptAt: null });
    await service.setStatus(caller, endpointId, 'ENABLED', {});
    expect(await col.deliveries.countDocuments({ endpointId, status: 'PENDING' })).toBe(2_001);
    // Finished here, so the next tests' workers do not send this backlog.
    await col.deliveries.updateMany({ endpointId }, { $set: { status: 'DELIVERED' } });
  }, 60_000);

  it('a redelivery requested while an attempt is in flight is sent again after it', async () => {
    const org = randomBytes(6).toString('hex');
    const worker = startWorker([60], { timeoutMs: 3_000 });
    const { service, caller } = serviceFor(org, worker);
    const endpointId = (await service.create(caller, { url: receiverUrl, eventTypes: ['user.created'] }, {})).endpoint!.id;
    answerDelayMs = 1_000;
    const eventId = await recordEvent(org, 'u-flight', 'user.created');
    await until('the attempt in flight', () => received.some((r) => r.id === eventId));
    const res = await service.redeliver(caller, { endpointId, eventId }, {});
    expect(res.errors).toEqual([]);
    // The first attempt's success lands on a delivery that was reset meanwhile: it must not erase the request.
    await until('the redelivery', () => received.filter((r) => r.id === eventId).length === 2, 10_000);
    await until('delivered', async () => (await col.deliveries.findOne({ _id: `${endpointId}:${eventId}` }))?.status === 'DELIVERED');
  }, 30_000);

  it('a host lookup that never answers is cut at the attempt deadline, inside the lease', async () => {
    const org = randomBytes(6).toString('hex');
    const endpointId = await newEndpoint(org, ['user.created'], 'https://hooks.example.com/x');
    const eventId = await recordEvent(org, 'u-dns', 'user.created');
    startWorker([60], { timeoutMs: 300, resolveHost: () => new Promise(() => undefined) });
    const id = `${endpointId}:${eventId}`;
    await until('the timed-out attempt', async () => (await col.deliveries.findOne({ _id: id }))?.lastError === 'TIMEOUT', 5_000);
    const d = (await col.deliveries.findOne({ _id: id }))!;
    expect(d).toMatchObject({ status: 'PENDING', attempts: 1, leaseHolder: null });
  }, 30_000);
});

describe('webhook payload', () => {
  const actors: Array<[AuditActor, Record<string, string>]> = [
    [
      { type: 'user', id: 'u-1' },
      { type: 'user', id: 'u-1' },
    ],
    [
      { type: 'application', id: 'client-1' },
      { type: 'application', id: 'client-1' },
    ],
    [
      { type: 'support_admin', id: 'u-2' },
      { type: 'support_admin', id: 'u-2' },
    ],
    [
      { type: 'system', id: 'reconcile' },
      { type: 'system', id: 'reconcile' },
    ],
    // B's self-registration: nobody to name, so no placeholder id either.
    [{ type: 'anonymous', id: '-' }, { type: 'anonymous' }],
  ];
  it.each(actors)('names the actor %j as %j', (actor, expected) => {
    const event = auditEvent(
      { actor, requestId: 'req-1', clientIp: '203.0.113.9' },
      {
        action: 'user.created',
        organizationId: 'org-1',
        target: { type: 'user', id: 'u-9' },
        outcome: 'success',
      },
    );
    const doc: AuditEventDoc = { _id: event.id, ...event, webhookType: 'user.created', fanout: 'pending' };
    const payload = JSON.parse(webhookPayload(doc)) as { type: string; data: Record<string, unknown> };
    expect(payload.type).toBe('user.created');
    expect(payload.data.actor).toEqual(expected);
    expect(payload.data).toMatchObject({ eventId: event.id, organizationId: 'org-1', requestId: 'req-1' });
    // The client IP is in the audit trail, not in what leaves for a third party.
    expect(JSON.stringify(payload)).not.toContain('203.0.113.9');
  });
});
