/**
 * The audit store on the real store: the trail's filters read through their
 * own index (explain on the embedded store), a page that runs out of its time
 * answers a coded error, and the retention sweep deletes in bounded batches,
 * never an event whose webhook fan-out is pending.
 */
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName, type EmbeddedStore } from '@usergraph/mongo/testing';
import { DomainError } from '@usergraph/service-kit';
import { auditEvent, type AuditEvent, type NewAuditEvent } from '@usergraph/audit';
import { AUDIT_EVENTS_COLLECTION, createAuditStore, type AuditEventDoc, type AuditStore } from './audit-store.js';

const DAY_MS = 86_400_000;

/** `n` events of one organization, one actor and one action unless `vary` says otherwise, `ageMs` old. */
function events(
  n: number,
  org: string,
  vary: (i: number) => { action?: NewAuditEvent['action'] } & { actor?: string } = () => ({}),
  ageMs = 0,
) {
  const at = Date.now() - ageMs;
  return Array.from({ length: n }, (_, i): AuditEvent => {
    const v = vary(i);
    return auditEvent(
      { actor: { type: 'user', id: v.actor ?? 'flooder' } },
      {
        action: v.action ?? 'user.login_failed',
        organizationId: org,
        target: { type: 'account', id: `t${i % 7}` },
        outcome: 'failure',
        occurredAt: new Date(at - i),
      },
    );
  });
}

describe('audit store on the real store', () => {
  let store: EmbeddedStore;
  let conn: Connection;
  let audit: AuditStore;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('orgusers_audit'), appName: 'audit-store-test' });
    audit = createAuditStore(conn, { maxTimeMS: 5000 });
    await audit.ensureIndexes();
    // As at a service's start: the indexes are declared, and the embedded store's key indexer (which runs a moment
    // after) has made their SQLite indexes, before any event is written or read.
    if (!process.env.MONGODB_URI) {
      const probe = { find: AUDIT_EVENTS_COLLECTION, filter: { actorKey: 'probe', organizationId: { $eq: 'probe' } } };
      let detail = '';
      for (let i = 0; i < 300 && !detail.includes('_usergraph_f_actorKey'); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        detail = JSON.stringify(
          ((await conn.db!.command({ explain: probe, verbosity: 'queryPlanner' })) as { queryPlanner: unknown }).queryPlanner,
        );
      }
    }
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it("a filtered page reads only the events its filter names, through that filter's index, and never another organization's", async () => {
    // An organization whose log a flood of login failures filled, and a few events by its admin among them.
    await audit.record(events(1500, 'flooded'));
    const adminEvents = events(5, 'flooded', () => ({ actor: 'admin-1', action: 'user.deleted' }), 10);
    await audit.record(adminEvents);
    // The same actor id and action in another organization: never in this one's trail.
    await audit.record(events(3, 'other', () => ({ actor: 'admin-1', action: 'user.deleted' })));

    const byActor = await audit.page('flooded', { actor: 'admin-1' }, 10);
    expect(byActor.map((e) => e._id)).toEqual(adminEvents.map((e) => e.id));
    expect((await audit.page('flooded', { action: 'user.deleted' }, 10)).map((e) => e._id)).toEqual(adminEvents.map((e) => e.id));
    const both = await audit.page('flooded', { actor: 'admin-1', action: 'user.deleted', target: 't1' }, 10);
    expect(both.map((e) => e._id)).toEqual([adminEvents[1]!.id]);
    // The cursor pages through the key's events too.
    const after = { at: byActor[1]!.occurredAt, id: byActor[1]!._id };
    expect((await audit.page('flooded', { actor: 'admin-1' }, 2, after)).map((e) => e._id)).toEqual(
      adminEvents.slice(2, 5).map((e) => e.id),
    );

    // What the store does with the filter a page sends: explain, as the store answers it.
    const explain = async (filter: Record<string, unknown>) =>
      (await conn.db!.command({ explain: { find: AUDIT_EVENTS_COLLECTION, filter }, verbosity: 'queryPlanner' })) as Record<
        string,
        unknown
      >;
    const recorded: Array<Record<string, unknown>> = [];
    const listener = (op: { collectionName: string; method: string; params?: unknown[] }) => {
      if (op.collectionName === AUDIT_EVENTS_COLLECTION && op.method === 'find') recorded.push(op.params?.[0] as Record<string, unknown>);
    };
    conn.on('operation-start', listener);
    await audit.page('flooded', { actor: 'admin-1' }, 10);
    conn.off('operation-start', listener);
    expect(recorded).toHaveLength(1);
    const plan = await explain(recorded[0]!);
    if (process.env.MONGODB_URI) {
      // MongoDB: the actor's key index, equality then the cursor's order (no in-memory sort).
      const winning = JSON.stringify((plan.queryPlanner as { winningPlan: unknown }).winningPlan);
      expect(winning).toContain('actorKey_1_occurredAt_-1__id_-1');
      expect(winning).not.toContain('"SORT"');
    } else {
      // The embedded store: the filter goes down to SQLite, on the key's index (made by the store's key indexer).
      expect(plan.filterPushdown).toBe(true);
      expect(JSON.stringify(plan.queryPlanner)).toContain('_usergraph_f_actorKey');
    }
  });

  it('a page that runs out of its time answers QUERY_TIMEOUT, not an internal error', async () => {
    await audit.record(events(3000, 'slow'));
    const hurried = createAuditStore(conn, { maxTimeMS: 1 });
    const err = await hurried.page('slow', { since: new Date(0) }, 100).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'QUERY_TIMEOUT' });
    // The same page with time enough answers.
    expect(await audit.page('slow', { since: new Date(0) }, 100)).toHaveLength(101);
  });

  it('the sweep deletes expired events in batches, at most its cap per run, and never one whose fan-out is pending', async () => {
    const col = conn.collection<AuditEventDoc>(AUDIT_EVENTS_COLLECTION);
    const org = 'retention';
    await audit.record(events(2500, org, () => ({}), 400 * DAY_MS));
    // Expired, but the webhooks dispatcher has not fanned them out yet.
    const pending = events(3, org, () => ({ action: 'user.updated' }), 400 * DAY_MS).map((e) => ({
      ...e,
      webhookType: 'user.updated' as const,
    }));
    await audit.record(pending);
    const young = events(4, org, () => ({}), 10 * DAY_MS);
    await audit.record(young);
    const before = new Date(Date.now() - 365 * DAY_MS);
    const limits = { batchSize: 1000, maxBatches: 2 };

    expect(await audit.sweep(before, limits)).toBe(2000);
    expect(await col.countDocuments({ organizationId: org })).toBe(507);
    expect(await audit.sweep(before, limits)).toBe(500);
    expect(await audit.sweep(before, limits)).toBe(0);
    const left = (await col.find({ organizationId: org }, { projection: { _id: 1 } }).toArray()).map((d) => d._id).sort();
    expect(left).toEqual([...pending, ...young].map((e) => e.id).sort());

    // Once fanned out, the expired ones go with the next sweep.
    await col.updateMany({ _id: { $in: pending.map((e) => e.id) } }, { $set: { fanout: 'done' } });
    expect(await audit.sweep(before, limits)).toBe(3);
    expect(await col.countDocuments({ organizationId: org })).toBe(4);
  });
});
