import { createHash, randomUUID } from 'node:crypto';
import type { AuditActor, AuditEvent, AuditOrigin } from '@usergraph/contracts';
import type { Caller } from '@usergraph/service-kit';

/** Who made a request, as an audit event names it (ids only). */
export function actorOf(caller: Caller): AuditActor {
  if (caller.kind === 'user') return { type: 'user', id: caller.userId };
  if (caller.kind === 'application') return { type: 'application', id: caller.clientId };
  return { type: 'anonymous', id: '-' };
}

/** What a resolver knows about its request, as an audit event records it. */
export function originOf(ctx: { caller: Caller; requestId?: string; clientIp?: string; traceId?: string }): AuditOrigin {
  return {
    actor: actorOf(ctx.caller),
    ...(ctx.clientIp ? { clientIp: ctx.clientIp } : {}),
    ...(ctx.requestId ? { requestId: ctx.requestId.slice(0, 128) } : {}),
    ...(ctx.traceId && /^[0-9a-f]{32}$/.test(ctx.traceId) ? { traceId: ctx.traceId } : {}),
  };
}

/**
 * The id of an event a replay may write again (a saga's retry, reconcile):
 * the same key always gives the same id, so the log stores it once.
 */
export const deterministicEventId = (...key: string[]): string =>
  createHash('sha256').update(key.join('\u0000')).digest('hex').slice(0, 32);

export interface NewAuditEvent extends Omit<AuditEvent, 'id' | 'occurredAt' | 'actor' | 'clientIp' | 'requestId' | 'traceId'> {
  /** A stable key (see deterministicEventId) where the event may be written twice; else a random id. */
  key?: string[];
  occurredAt?: Date;
}

/** An event, from what happened and who did it (origin). Never put a value in it: ids and field names only. */
export function auditEvent(origin: AuditOrigin, e: NewAuditEvent): AuditEvent {
  const { key, occurredAt, ...rest } = e;
  return {
    id: key ? deterministicEventId(...key) : randomUUID().replaceAll('-', ''),
    ...rest,
    ...origin,
    occurredAt: occurredAt ?? new Date(),
  };
}
