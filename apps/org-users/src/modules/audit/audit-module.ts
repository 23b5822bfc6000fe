import type { Connection } from 'mongoose';
import { orgUsersCommands, type AuditProducer } from '@usergraph/contracts';
import { createServiceAudit, embeddedOutboxSource, type AuditEvent } from '@usergraph/audit';
import { errSummary, serve, type Logger } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { Resolvers } from '../../generated/resolvers-types.js';
import { WEBHOOK_ENDPOINTS_COLLECTION } from '../webhooks/webhook-store.js';
import { createAuditStore } from './audit-store.js';
import { createAuditService } from './audit-service.js';
import { admitAuditEvents, type AuditRefusal } from './admission.js';

const DAY_MS = 86_400_000;

/**
 * org-users' audit log (docs/audit-log.md): the `audit_events` store, the
 * relay of org-users' own events (from the profiles' `auditOutbox` and the
 * `audit_outbox` collection) into it, the `recordAuditEvents` command the
 * other services' relays call, retention, and the `auditEvents` query.
 */
export async function createAuditModule(deps: {
  conn: Connection;
  logger: Logger;
  retentionDays: number;
  /** AUDIT_QUERY_MAX_TIME_MS: an `auditEvents` page's time limit in the database. */
  queryMaxTimeMs: number;
  relayIntervalMs: number;
  sweepIntervalMs: number;
  /** Test-only FAULT_INJECTION: crashes the process instead of relaying (a crash between a write and its relay). */
  faults?: (point: string) => void;
}) {
  const store = createAuditStore(deps.conn, { maxTimeMS: deps.queryMaxTimeMs });
  await store.ensureIndexes();
  // A profile's events wait while it is being created: if the creation saga is undone, they go with it.
  const profiles = embeddedOutboxSource(deps.conn, 'users', { provisioningSince: { $exists: false } });
  // An endpoint's changes (created, disabled, rotated...) carry their events in the endpoint's own write.
  const endpoints = embeddedOutboxSource(deps.conn, WEBHOOK_ENDPOINTS_COLLECTION);
  // A's financial data: a connection or tradeline carries its `*.recorded` event in its own insert.
  // An organization's creation carries its event in the insert.
  const organizations = embeddedOutboxSource(deps.conn, 'organizations');
  const financial = {
    connections: embeddedOutboxSource(deps.conn, 'connections'),
    tradelines: embeddedOutboxSource(deps.conn, 'tradelines'),
  };
  const listeners: Array<() => void> = [];
  /**
   * Stores what admitAuditEvents admits of `from`'s events (idempotent); a refused event is logged by id and
   * answered, never stored. When a new one maps to a webhook, the webhook worker is told at once, not at its next poll.
   */
  const storeEvents = async (from: AuditProducer, events: AuditEvent[]): Promise<{ recorded: number; refused: AuditRefusal[] }> => {
    const { admitted, refused } = admitAuditEvents(from, events, new Date(), deps.retentionDays);
    if (refused.length > 0) deps.logger.warn({ from, refused }, 'audit log: events refused, not stored');
    const recorded = await store.record(admitted);
    if (recorded > 0 && admitted.some((e) => e.webhookType)) for (const listener of listeners) listener();
    return { recorded, refused };
  };
  // org-users' own events use the same relay as the other services', with the store as its sink.
  const trail = createServiceAudit({
    conn: deps.conn,
    sink: (events: AuditEvent[]) => storeEvents('org-users', events),
    embedded: [profiles, endpoints, organizations, financial.connections, financial.tradelines],
    logger: deps.logger,
    intervalMs: deps.relayIntervalMs,
    faults: deps.faults,
  });
  const sweep = async () => store.sweep(new Date(Date.now() - deps.retentionDays * DAY_MS));
  let sweepTimer: NodeJS.Timeout | undefined;

  return {
    store,
    outbox: trail.outbox,
    record: trail.record,
    /** After a write that carries events (on the user's profile, or in the outbox): moves them to the log, not awaited. */
    kick: (userId?: string) => trail.kick(userId ? { source: profiles, id: userId } : undefined),
    /** After an endpoint write that carries events (its `auditOutbox`): moves them to the log, not awaited. */
    kickEndpoint: (endpointId: string) => trail.kick({ source: endpoints, id: endpointId }),
    /** After an organization's insert (its `organization.created`): moves its event to the log, not awaited. */
    kickOrganization: (organizationId: string) => trail.kick({ source: organizations, id: organizationId }),
    /** After a connection or tradeline insert (its `auditOutbox`): moves its event to the log, not awaited. */
    kickFinancial: (collection: 'connections' | 'tradelines', id: string) => trail.kick({ source: financial[collection], id }),
    /** Called after new events that map to a webhook type are stored (from any service): the webhook worker's notify. */
    onWebhookEvents: (listener: () => void) => void listeners.push(listener),
    resolvers(policy: AccessPolicy): Resolvers {
      const service = createAuditService({ store, policy });
      return { Query: { auditEvents: (_, args, ctx) => service.auditEvents(ctx.caller, args) } };
    },
    // `from` is the verified caller: the contract admits identity and licensing only.
    commands: [serve(orgUsersCommands.recordAuditEvents, ({ events }, meta) => storeEvents(meta.from as AuditProducer, events))],
    /** `usergraph reconcile`: every event left in an outbox is moved, and expired ones are swept (at most 50,000 a run). */
    async reconcile(): Promise<{ relayedAuditEvents: number; sweptAuditEvents: number }> {
      return { relayedAuditEvents: await trail.drain(), sweptAuditEvents: await sweep() };
    },
    start() {
      trail.start();
      const runSweep = () =>
        sweep().catch((err: unknown) => deps.logger.error({ err: errSummary(err) }, 'audit retention sweep failed, retried next interval'));
      void runSweep();
      sweepTimer = setInterval(() => void runSweep(), deps.sweepIntervalMs);
      sweepTimer.unref();
    },
    async stop() {
      if (sweepTimer) clearInterval(sweepTimer);
      await trail.stop();
    },
  };
}

export type AuditModule = Awaited<ReturnType<typeof createAuditModule>>;
