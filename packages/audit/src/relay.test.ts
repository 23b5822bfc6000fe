import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@usergraph/service-kit';
import { connectDatabase } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName, type EmbeddedStore } from '@usergraph/mongo/testing';
import type { AuditEvent } from '@usergraph/contracts';
import { auditEvent, deterministicEventId } from './event.js';
import { AUDIT_OUTBOX_COLLECTION, createAuditOutbox, embeddedOutboxSource } from './outbox.js';
import { createAuditRelay, MAX_RETRY_DELAY_MS, MAX_SINK_BYTES, retryDelayMs } from './relay.js';

const logger = createLogger({ service: 'audit-test', level: 'silent' });
const origin = { actor: { type: 'user' as const, id: 'u1' }, requestId: 'r1' };
const event = (n: number, key?: string[]) =>
  auditEvent(origin, { action: 'user.updated', organizationId: 'o1', target: { type: 'user', id: `t${n}` }, outcome: 'success', key });

describe('audit outbox and relay, on the real store', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('audit'), appName: 'audit-test' });
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('a deterministic id is the same for the same key, and differs for another', () => {
    expect(deterministicEventId('u1', 'user.deleted')).toBe(deterministicEventId('u1', 'user.deleted'));
    expect(deterministicEventId('u1', 'user.deleted')).not.toBe(deterministicEventId('u2', 'user.deleted'));
    expect(event(1, ['a']).id).toBe(event(2, ['a']).id);
    expect(event(1).id).not.toBe(event(1).id);
  });

  it('a backlog of big events goes in calls a service accepts (MAX_BODY_BYTES), never one batch refused on every pass', async () => {
    const outbox = createAuditOutbox(conn);
    // 200 events at the contract's largest changedFields (50 names of 64 characters): ~700 KB in one batch.
    const changedFields = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(2, '0')}${'f'.repeat(62)}`);
    const big = Array.from({ length: 200 }, (_, n) =>
      auditEvent(origin, {
        action: 'user.updated',
        organizationId: 'o2',
        target: { type: 'user', id: `big${n}` },
        outcome: 'success',
        changedFields,
      }),
    );
    await outbox.put(big);
    const calls: number[] = [];
    const relay = createAuditRelay({
      // As org-users answers: a body over its default MAX_BODY_BYTES is refused before the command runs.
      sink: async (events) => {
        const bytes = Buffer.byteLength(JSON.stringify({ events }));
        if (bytes > 100_000) throw new Error(`413: ${bytes} bytes`);
        calls.push(bytes);
      },
      sources: [outbox.source()],
      logger,
      intervalMs: 3_600_000,
    });
    expect(await relay.drain()).toBe(200);
    expect(calls.length).toBeGreaterThan(1);
    expect(Math.max(...calls)).toBeLessThanOrEqual(MAX_SINK_BYTES + 100);
    expect(await conn.collection(AUDIT_OUTBOX_COLLECTION).countDocuments({ organizationId: 'o2' })).toBe(0);
    await relay.stop();
  });

  it('put is idempotent by event id; the relay moves everything, keeps what the sink refused, and a replay is harmless', async () => {
    const outbox = createAuditOutbox(conn);
    const a = event(1);
    const b = event(2);
    await outbox.put([a, b]);
    await outbox.put([a, b, a]); // a replay
    expect(await conn.collection(AUDIT_OUTBOX_COLLECTION).countDocuments({})).toBe(2);

    const delivered: AuditEvent[] = [];
    let refuse = true;
    const relay = createAuditRelay({
      sink: async (events) => {
        if (refuse) throw new Error('org-users unavailable');
        delivered.push(...events);
      },
      sources: [outbox.source()],
      logger,
      intervalMs: 3_600_000,
    });
    await expect(relay.drain()).rejects.toThrow('org-users unavailable');
    expect(await conn.collection(AUDIT_OUTBOX_COLLECTION).countDocuments({})).toBe(2);
    refuse = false;
    expect(await relay.drain()).toBe(2);
    expect(delivered.map((e) => e.id).sort()).toEqual([a.id, b.id].sort());
    expect(delivered[0]!.occurredAt).toBeInstanceOf(Date);
    expect(await conn.collection(AUDIT_OUTBOX_COLLECTION).countDocuments({})).toBe(0);
    expect(await relay.drain()).toBe(0);
    await relay.stop();
  });

  it("events embedded in documents: a kick moves only the named document's, a full pass the rest, and only ready documents'", async () => {
    const docs = conn.collection<{ _id: string; held?: boolean; auditOutbox?: AuditEvent[] }>('things');
    const [e1, e2, e3, e4] = [event(11), event(12), event(13), event(14)];
    await docs.insertMany([
      { _id: 'd1', auditOutbox: [e1, e2] },
      { _id: 'd2', auditOutbox: [e3] },
      { _id: 'd3', held: true, auditOutbox: [e4] },
    ]);
    const source = embeddedOutboxSource(conn, 'things', { held: { $exists: false } });
    const delivered: string[] = [];
    const relay = createAuditRelay({
      sink: async (events) => {
        delivered.push(...events.map((e) => e.id));
      },
      sources: [source],
      logger,
      intervalMs: 3_600_000,
    });
    relay.kick({ source, id: 'd1' });
    for (let i = 0; i < 50 && delivered.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(delivered.sort()).toEqual([e1.id, e2.id].sort());
    expect((await docs.findOne({ _id: 'd1' }))?.auditOutbox).toEqual([]);
    expect((await docs.findOne({ _id: 'd2' }))?.auditOutbox).toHaveLength(1);

    expect(await relay.drain()).toBe(1);
    expect(delivered).toContain(e3.id);
    // Held (a profile still being created): not relayed, still there.
    expect(delivered).not.toContain(e4.id);
    expect((await docs.findOne({ _id: 'd3' }))?.auditOutbox).toHaveLength(1);
    await relay.stop();
  });

  it('the interval retries a kick that failed, without scanning documents no kick named', async () => {
    const docs = conn.collection<{ _id: string; auditOutbox?: AuditEvent[] }>('retried');
    const [kicked, crashedLeftover] = [event(21), event(22)];
    await docs.insertMany([
      { _id: 'k1', auditOutbox: [kicked] },
      { _id: 'k2', auditOutbox: [crashedLeftover] },
    ]);
    const source = embeddedOutboxSource(conn, 'retried');
    const delivered: string[] = [];
    let refuse = true;
    const relay = createAuditRelay({
      sink: async (events) => {
        if (refuse) throw new Error('org-users unavailable');
        delivered.push(...events.map((e) => e.id));
      },
      sources: [source],
      logger,
      intervalMs: 50,
    });
    relay.start();
    relay.kick({ source, id: 'k1' });
    await new Promise((r) => setTimeout(r, 120));
    expect(delivered).toEqual([]);
    refuse = false;
    for (let i = 0; i < 50 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(delivered).toEqual([kicked.id]);
    await new Promise((r) => setTimeout(r, 150));
    // k2's event (a crash's leftover: no kick named it) waits for the start-up pass or reconcile.
    expect(delivered).toEqual([kicked.id]);
    expect(await relay.drain()).toBe(1);
    expect(delivered).toEqual([kicked.id, crashedLeftover.id]);
    await relay.stop();
  });
  it('retries back off while the sink fails: the interval doubles, capped, with jitter', () => {
    expect([1, 2, 3, 5].map((n) => retryDelayMs(30_000, n, () => 1))).toEqual([30_000, 60_000, 120_000, 480_000]);
    expect(retryDelayMs(30_000, 6, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(30_000, 1_000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(30_000, 3, () => 0)).toBe(60_000);
    // An interval above the cap is never shortened by it.
    expect(retryDelayMs(3_600_000, 4, () => 1)).toBe(3_600_000);
  });

  it('a down sink after a failed start-up pass: no more scans, fewer calls as it stays down, writes call nothing; one scan once it is back', async () => {
    const docs = conn.collection<{ _id: string; auditOutbox?: AuditEvent[] }>('outage');
    const held = [event(31), event(32), event(33)];
    await docs.insertMany(held.map((e, i) => ({ _id: `o${i}`, auditOutbox: [e] })));
    const inner = embeddedOutboxSource(conn, 'outage');
    let scans = 0;
    // The same source, counting its passes over the whole collection (no ids: a scan on the embedded store).
    const source = {
      ...inner,
      pending: (limit: number, ids?: string[]) => {
        if (!ids) scans++;
        return inner.pending(limit, ids);
      },
    };
    let down = true;
    let calls = 0;
    const delivered: string[] = [];
    const relay = createAuditRelay({
      sink: async (events) => {
        calls++;
        if (down) throw new Error('org-users unavailable');
        delivered.push(...events.map((e) => e.id));
      },
      sources: [source],
      logger,
      intervalMs: 20,
      random: () => 1,
    });
    await expect(relay.drain()).rejects.toThrow('org-users unavailable');
    expect([scans, calls]).toEqual([1, 1]);
    relay.start();
    // 50 interval ticks, and writes that kick the relay meanwhile.
    for (let i = 0; i < 20; i++) {
      relay.kick({ source, id: 'o0' });
      await new Promise((r) => setTimeout(r, 50));
    }
    // Before: a scan and a call on every tick (and a call per write). Now: the failed batch is sent again, at
    // 20, 40, 80, 160, 320, 640 ms... no scan until it arrives.
    expect(scans).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThanOrEqual(10);
    down = false;
    for (let i = 0; i < 100 && (await docs.countDocuments({ 'auditOutbox.0': { $exists: true } })) > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await docs.countDocuments({ 'auditOutbox.0': { $exists: true } })).toBe(0);
    expect(new Set(delivered)).toEqual(new Set(held.map((e) => e.id)));
    expect(scans).toBe(2);
    await relay.stop();
  });

  it('an event the log refuses for good is dropped with a log line naming its id, and never holds back the events behind it', async () => {
    const outbox = createAuditOutbox(conn);
    await conn.collection(AUDIT_OUTBOX_COLLECTION).deleteMany({});
    const [bad, good1, good2] = [event(31), event(32), event(33)];
    await outbox.put([bad, good1, good2]);
    const stored: string[] = [];
    const logged: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const relay = createAuditRelay({
      // As org-users answers recordAuditEvents: the others stored, `bad` refused (never stored, never will be).
      sink: async (events) => {
        stored.push(...events.filter((e) => e.id !== bad.id).map((e) => e.id));
        const refused = events.filter((e) => e.id === bad.id).map((e) => ({ id: e.id, reason: 'AUDIT_ACTION_NOT_ALLOWED' }));
        return { refused };
      },
      sources: [outbox.source()],
      logger: { error: (obj: Record<string, unknown>, msg: string) => void logged.push({ obj, msg }) } as unknown as typeof logger,
      intervalMs: 3_600_000,
    });
    expect(await relay.drain()).toBe(3);
    expect(stored.sort()).toEqual([good1.id, good2.id].sort());
    // Out of the outbox: the next pass does not send it again.
    expect(await conn.collection(AUDIT_OUTBOX_COLLECTION).countDocuments({})).toBe(0);
    expect(await relay.drain()).toBe(0);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.obj).toEqual({ source: 'audit_outbox', refused: [{ id: bad.id, reason: 'AUDIT_ACTION_NOT_ALLOWED' }] });
    // Ids and reasons only: nothing of the event's content.
    expect(JSON.stringify(logged)).not.toContain('o1');
    await relay.stop();
  });
});
