import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AuditAction, AuditOrigin } from '@usergraph/contracts';
import { DomainError, errSummary, type Caller } from '@usergraph/service-kit';
import { actorOf, type NewAuditEvent } from './event.js';

/**
 * The ids a refusal may name as its target: a user's or an endpoint's (an ObjectId) or an application's
 * client id (`app_` + an ObjectId). Never free text: a username or an email typed there is not recorded.
 */
const TARGET_ID = /^(app_)?[a-f0-9]{24}$/;

/** An administrative mutation whose authorization refusals are recorded: the action its success records, and its target argument. */
export interface RefusalRule {
  action: AuditAction;
  /** The argument naming what is acted on (its path in the arguments, e.g. ['input', 'id']); absent, or not an id, means the organization. */
  target?: { type: string; arg: readonly string[] };
}

type Resolver = (
  parent: unknown,
  args: Record<string, unknown>,
  ctx: { caller: Caller; requestId: string; clientIp: string },
  info: unknown,
) => unknown;

/** The argument at `path` (e.g. ['input', 'id']), or undefined. */
const argAt = (args: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), args);

/** The budget's key for who refused: the caller's type and id (a support admin's origin counts as their user). */
const callerKey = (actor: { type: string; id: string }): string => `${actor.type === 'support_admin' ? 'user' : actor.type}:${actor.id}`;

/** Who was refused: an origin already built for the request, or the caller with the lookup that builds it (run only within budget). */
export type RefusedBy = AuditOrigin | { caller: Caller; origin: () => Promise<AuditOrigin> };

/**
 * Refused administrative actions (outcome `refused`, docs/audit-log.md): the line is authorization, not
 * input. A FORBIDDEN to an authenticated caller, and a target id that names no user of the caller's
 * organization (another organization's user looks exactly like an absent one), are recorded in the
 * caller's organization; bad input, business rules (CONFLICT) and anonymous callers are not. At most
 * `perMinute` per caller, action and process, and 5 x `perMinute` per caller over all actions: junk
 * refusals of one action do not hide another's, and a caller cycling through every action still costs
 * the log a bounded number of events a minute. The rest are counted in one warning per key and minute.
 * The budget is keyed on the caller, so a refusal over it costs no origin lookup (licensing's support
 * admin check). A refused event keeps no request id (auditEvent): the context's may be the client's X-Request-Id.
 */
export function createRefusalAudit(opts: {
  record: (origin: AuditOrigin, e: NewAuditEvent) => Promise<void>;
  originOf: (ctx: { caller: Caller; requestId: string; clientIp: string }) => Promise<AuditOrigin>;
  perMinute: number;
  logger: { warn: (obj: object, msg: string) => void; error: (obj: object, msg: string) => void };
}) {
  const perAction = opts.perMinute > 0 ? new RateLimiterMemory({ points: opts.perMinute, duration: 60 }) : undefined;
  const perCaller = opts.perMinute > 0 ? new RateLimiterMemory({ points: opts.perMinute * 5, duration: 60 }) : undefined;

  /** Takes one point of `limiter` for `key`; over the limit, warns once a minute and answers false. */
  async function take(limiter: RateLimiterMemory, key: string, limit: number, action?: string): Promise<boolean> {
    try {
      await limiter.consume(key);
      return true;
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      if (res.consumedPoints === limit + 1)
        opts.logger.warn(
          { caller: key, ...(action ? { action } : {}), perMinute: limit },
          'audit: refused actions over the budget this minute are not recorded',
        );
      return false;
    }
  }

  /** Whether this caller may record one more refusal of `action` this minute (the action's budget, then the caller's). */
  async function withinBudget(key: string, action: string): Promise<boolean> {
    if (!perAction || !perCaller) return false;
    if (!(await take(perAction, `${key}|${action}`, opts.perMinute, action))) return false;
    return take(perCaller, key, opts.perMinute * 5);
  }

  /** Records one refusal (within the caller's budget). A failure to record is logged, never the caller's error. */
  async function refused(by: RefusedBy, organizationId: string, action: AuditAction, target: { type: string; id: string }): Promise<void> {
    try {
      const key = callerKey('caller' in by ? actorOf(by.caller) : by.actor);
      if (!(await withinBudget(key, action))) return;
      const origin = 'caller' in by ? await by.origin() : by;
      await opts.record(origin, {
        organizationId,
        action,
        target,
        outcome: 'refused',
        ...(target.type === 'user' ? { subjectUserId: target.id } : {}),
      });
    } catch (err) {
      opts.logger.error({ err: errSummary(err), action, organizationId }, 'audit: a refused action could not be recorded');
    }
  }

  /**
   * Wraps the administrative mutations in `rules` (the service's table of them): a FORBIDDEN thrown to an
   * authenticated caller, or a NOT_FOUND for the target the rule names, is recorded, then thrown on.
   */
  function wrap<R extends { Mutation?: unknown }>(resolvers: R, rules: Record<string, RefusalRule>): R {
    const mutations = (resolvers.Mutation ?? {}) as Record<string, Resolver | undefined>;
    const wrapped: Record<string, unknown> = { ...mutations };
    for (const [name, rule] of Object.entries(rules)) {
      const resolve = mutations[name];
      if (!resolve) throw new Error(`audit refusals: no mutation ${name}`);
      wrapped[name] = async (parent: unknown, args: Record<string, unknown>, ctx: Parameters<Resolver>[2], info: unknown) => {
        try {
          return await resolve(parent, args, ctx, info);
        } catch (err) {
          const c = ctx.caller;
          if (err instanceof DomainError && c.kind !== 'anonymous') {
            const raw = rule.target && argAt(args, rule.target.arg);
            const named = rule.target && typeof raw === 'string' && TARGET_ID.test(raw) ? { type: rule.target.type, id: raw } : undefined;
            if (err.code === 'FORBIDDEN' || (err.code === 'NOT_FOUND' && named))
              await refused(
                { caller: c, origin: () => opts.originOf(ctx) },
                c.organizationId,
                rule.action,
                named ?? { type: 'organization', id: c.organizationId },
              );
          }
          throw err;
        }
      };
    }
    return { ...resolvers, Mutation: wrapped };
  }

  return { refused, wrap };
}

export type RefusalAudit = ReturnType<typeof createRefusalAudit>;
