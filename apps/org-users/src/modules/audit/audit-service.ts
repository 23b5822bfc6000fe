import { z } from 'zod';
import { human, toPayloadErrors, validate } from '@usergraph/validation';
import type { Caller } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { AuditCursor, AuditEventDoc, AuditStore } from './audit-store.js';

// The id is `<producer>:<event id>` (admission.ts).
const CURSOR = /^a1:(\d{1,15}):([a-z-]{1,20}:[0-9a-zA-Z_-]{1,128}|[0-9a-zA-Z_-]{1,128})$/;

/** An opaque position in the newest-first order: the last event's time and id. */
export const encodeAuditCursor = (doc: Pick<AuditEventDoc, '_id' | 'occurredAt'>): string =>
  Buffer.from(`a1:${doc.occurredAt.getTime()}:${doc._id}`).toString('base64url');

const cursorSchema = z.string(human).transform((s, ctx): AuditCursor => {
  const m = CURSOR.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m) {
    ctx.issues.push({ code: 'custom', message: 'is not a cursor of this list', input: s });
    return z.NEVER;
  }
  return { at: new Date(Number(m[1])), id: m[2]! };
});

const dateTime = z.iso.datetime({ offset: true, ...human }).transform((s) => new Date(s));
const text = z.string(human).trim().min(1).max(128);

const argsSchema = z.object({
  filter: z
    .object({
      actor: text.nullish(),
      target: text.nullish(),
      action: text.nullish(),
      since: dateTime.nullish(),
      until: dateTime.nullish(),
    })
    .nullish(),
  first: z
    .int(human)
    .min(0)
    .max(100)
    .nullish()
    .transform((n) => n ?? 50),
  after: cursorSchema.nullish(),
});

const OUTCOME = { success: 'SUCCESS', failure: 'FAILURE', refused: 'REFUSED' } as const;

/** The `auditEvents` query: the caller's organization only, its ADMINs only, newest first. */
export function createAuditService(deps: { store: AuditStore; policy: AccessPolicy }) {
  async function auditEvents(caller: Caller, args: unknown) {
    const organizationId = await deps.policy.requireOrganizationScope(caller);
    await deps.policy.requireAdminPermission(caller, 'Reading the audit trail');
    const parsed = validate(argsSchema, args);
    if (!parsed.ok)
      return {
        errors: toPayloadErrors(parsed.errors),
        nodes: [],
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      };
    const { filter, first, after } = parsed.value;
    const docs = await deps.store.page(
      organizationId,
      {
        actor: filter?.actor ?? undefined,
        target: filter?.target ?? undefined,
        action: filter?.action ?? undefined,
        since: filter?.since ?? undefined,
        until: filter?.until ?? undefined,
      },
      first,
      after ?? undefined,
    );
    const edges = docs.slice(0, first).map((d) => ({
      cursor: encodeAuditCursor(d),
      node: {
        id: d._id,
        action: d.action,
        actor: d.actor,
        target: d.target,
        outcome: OUTCOME[d.outcome],
        changedFields: d.changedFields ?? null,
        clientIp: d.clientIp ?? null,
        requestId: d.requestId ?? null,
        traceId: d.traceId ?? null,
        occurredAt: d.occurredAt,
      },
    }));
    return {
      errors: [],
      nodes: edges.map((e) => e.node),
      edges,
      pageInfo: {
        hasNextPage: docs.length > first,
        hasPreviousPage: Boolean(after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }
  return { auditEvents };
}
