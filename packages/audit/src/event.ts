import { createHash, randomUUID } from 'node:crypto';
import type { AuditAction, AuditActor, AuditEvent, AuditOrigin } from '@usergraph/contracts';
import type { Caller } from '@usergraph/service-kit';
import { isSpanContextValid, trace } from '@opentelemetry/api';

/** The trace the request runs in (OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT started it), else none. */
function activeTraceId(): string | undefined {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? span.traceId : undefined;
}

/** Who made a request, as an audit event names it (ids only). */
export function actorOf(caller: Caller): AuditActor {
  if (caller.kind === 'user') return { type: 'user', id: caller.userId };
  if (caller.kind === 'application') return { type: 'application', id: caller.clientId };
  return { type: 'anonymous', id: '-' };
}

/** What a resolver knows about its request, as an audit event records it (called inside the request's span). */
export function originOf(ctx: { caller: Caller; requestId?: string; clientIp?: string; traceId?: string }): AuditOrigin {
  const traceId = ctx.traceId ?? activeTraceId();
  return {
    actor: actorOf(ctx.caller),
    ...(ctx.clientIp ? { clientIp: ctx.clientIp } : {}),
    ...(ctx.requestId ? { requestId: ctx.requestId.slice(0, 128) } : {}),
    ...(traceId && /^[0-9a-f]{32}$/.test(traceId) ? { traceId } : {}),
  };
}

/** Whether the calling user is a support admin (licensing's assignment says; a service may answer from what the request resolved already). */
export type IsSupportAdmin = (caller: Extract<Caller, { kind: 'user' }>) => Promise<boolean>;

/**
 * Who acts, as every service's audit events name them (the one helper for it): a support admin, the
 * platform operator's staff, is told apart from the organization's own users. Each service passes its
 * own source of the answer; it is asked only for a user caller.
 */
export function createAuditOrigin(isSupportAdmin: IsSupportAdmin) {
  return async (ctx: { caller: Caller; requestId?: string; clientIp?: string; traceId?: string }): Promise<AuditOrigin> => {
    const origin = originOf(ctx);
    const c = ctx.caller;
    if (c.kind !== 'user' || !(await isSupportAdmin(c))) return origin;
    return { ...origin, actor: { type: 'support_admin', id: c.userId } };
  };
}
export type AuditOriginOf = ReturnType<typeof createAuditOrigin>;

/**
 * The id of an event a replay may write again (a saga's retry, reconcile):
 * the same key always gives the same id, so the log stores it once.
 */
export const deterministicEventId = (...key: string[]): string =>
  createHash('sha256').update(key.join('\u0000')).digest('hex').slice(0, 32);

/**
 * What a producer says happened. `action` is one of AUDIT_ACTIONS (packages/contracts/src/audit-actions.ts): a new
 * one is added there, under the service that records it. No `webhookType`: org-users derives it from the action.
 */
export interface NewAuditEvent extends Omit<
  AuditEvent,
  'id' | 'occurredAt' | 'actor' | 'clientIp' | 'requestId' | 'traceId' | 'action' | 'webhookType'
> {
  action: AuditAction;
  /** A stable key (see deterministicEventId) where the event may be written twice; else a random id. */
  key?: string[];
  occurredAt?: Date;
}

/**
 * An event, from what happened and who did it (origin). Never put a value in it: ids and field names only.
 * A refused event keeps no request id: the request's may be the client's own X-Request-Id (the services keep
 * a well-formed one), and a refused caller's text does not go into the log.
 */
export function auditEvent(origin: AuditOrigin, e: NewAuditEvent): AuditEvent {
  const { key, occurredAt, ...rest } = e;
  const { requestId, ...who } = origin;
  return {
    id: key ? deterministicEventId(...key) : randomUUID().replaceAll('-', ''),
    ...rest,
    ...who,
    ...(requestId && rest.outcome !== 'refused' ? { requestId } : {}),
    occurredAt: occurredAt ?? new Date(),
  };
}
