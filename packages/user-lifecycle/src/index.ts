import { randomUUID } from 'node:crypto';
import { DomainError, logUndoFailure, type ErrorReason, type Logger } from '@usergraph/service-kit';

/**
 * The one way a user is created and deleted across the three services: a
 * saga of typed steps, run by the service that received the request. Each
 * step is a port (`do`, `undo`): the hosting service supplies local ports for
 * the data it owns and remote ports (internal commands) for the rest, so a
 * password never leaves identity unless identity is the step's owner.
 *
 * Crash safety does not rest on the in-process compensation (a crash skips
 * it): the profile in org-users carries a marker from the first write to the
 * last, and `usergraph reconcile` finishes whatever a marked profile left
 * (see apps/org-users/src/modules/user-admin/reconcile.ts).
 */

export interface SagaContext {
  /** Logged with every compensation failure, and stored on the profile's marker. */
  sagaId: string;
  organizationId: string;
  userId: string;
}

/**
 * One write of a saga, and how to take it back (idempotent both ways: reconcile may repeat either).
 * Plain functions, not methods: the saga calls them detached from the port.
 */
export interface Port<R = unknown> {
  do: (ctx: SagaContext) => Promise<R>;
  undo: (ctx: SagaContext) => Promise<unknown>;
}

/**
 * The creation saga's steps, in order: profile (marked) → licenses →
 * credentials → activate (clears the mark). Licenses come before credentials:
 * licensing's rules are the only ones still judged at write time, so a
 * refused request costs no password hash, and the password travels last,
 * once everything else is written.
 */
export type CreationStep = 'profile' | 'licenses' | 'credentials' | 'activate';

export interface CreationPorts<P> {
  /**
   * Writes the profile. `marked`: with the provisioning marker (reconcile
   * removes a marked profile and whatever else the saga wrote). A saga whose
   * only write is the profile needs no marker: that write is one step.
   */
  profile: { do: (ctx: SagaContext, marked: boolean) => Promise<P>; undo: (ctx: SagaContext) => Promise<unknown> };
  credentials?: Port;
  licenses?: Port;
  /** Clears the marker: the user exists from here on. Never undone (it is the last step). */
  activate: (ctx: SagaContext) => Promise<unknown>;
}

/** The deletion saga's steps: mark the profile → release licenses → delete credentials (and sessions) → delete the profile. */
export type DeletionStep = 'mark' | 'licenses' | 'credentials' | 'profile';

export interface DeletionPorts {
  /** Marks the profile as being deleted (reconcile finishes a marked one); undo clears the mark. */
  mark: Port;
  /**
   * Gives the user's seats back. The pivot: a refusal here (RELEASE_REFUSALS)
   * undoes the mark; any other failure (unavailable, lost answer) may have
   * committed, so the mark stays for reconcile, as after any later failure.
   */
  licenses: (ctx: SagaContext) => Promise<unknown>;
  credentials: (ctx: SagaContext) => Promise<unknown>;
  profile: (ctx: SagaContext) => Promise<unknown>;
}

/**
 * Licensing's definite refusals to release a user: nothing was released, so
 * the deletion saga clears its mark and the user stays. Any other failure of
 * the release is an unknown outcome (it may have committed).
 */
export const RELEASE_REFUSALS: ReadonlySet<ErrorReason> = new Set<ErrorReason>([
  'LAST_COMPANY_ADMIN',
  'SUPPORT_ADMIN',
  'COMPANY_ADMIN',
  // Licensing gave up on a write conflict after its retries: it wrote nothing.
  'CONCURRENT_CHANGE',
]);

/** Where a test may crash the hosting service (FAULT_INJECTION): between every two writes of each saga. */
export const SAGA_FAULT_POINTS = [
  'provision:after-profile',
  'provision:after-licenses',
  'provision:after-credentials',
  'provision:before-activate',
  'deprovision:after-mark',
  'deprovision:after-licenses',
  'deprovision:after-credentials',
] as const;
export type SagaFaultPoint = (typeof SAGA_FAULT_POINTS)[number];

export interface SagaOptions {
  logger: Pick<Logger, 'error'>;
  /** Test-only FAULT_INJECTION hook, called at each of SAGA_FAULT_POINTS (never in production). */
  faults?: (point: SagaFaultPoint) => void;
}

interface Step {
  name: string;
  do(ctx: SagaContext): Promise<unknown>;
  undo?: (ctx: SagaContext) => Promise<unknown>;
}

/** Runs the steps in order; on a failure, undoes the finished ones in reverse, logging (never swallowing) each undo that fails. */
async function run(saga: 'provision' | 'deprovision', steps: Step[], ctx: SagaContext, opts: SagaOptions): Promise<void> {
  const done: Step[] = [];
  try {
    for (const step of steps) {
      if (step.name === 'activate') opts.faults?.('provision:before-activate');
      await step.do(ctx);
      done.push(step);
      const point = `${saga}:after-${step.name}`;
      if ((SAGA_FAULT_POINTS as readonly string[]).includes(point)) opts.faults?.(point as SagaFaultPoint);
    }
  } catch (err) {
    for (const step of done.reverse()) {
      if (!step.undo) continue;
      await step.undo(ctx).catch((undoErr: unknown) =>
        logUndoFailure(opts.logger, undoErr, `${saga} ${step.name}`, {
          sagaId: ctx.sagaId,
          step: step.name,
          organizationId: ctx.organizationId,
          userId: ctx.userId,
        }),
      );
    }
    throw err;
  }
}

/**
 * Creates a user: profile → licenses? → credentials? → activate. On a
 * failure the finished steps are undone in reverse and the error is thrown
 * as it was, for the entry point to put in its dialect.
 */
export async function createUser<P>(
  ids: { organizationId: string; userId: string },
  ports: CreationPorts<P>,
  opts: SagaOptions,
): Promise<{ sagaId: string; profile: P }> {
  const ctx: SagaContext = { sagaId: randomUUID(), ...ids };
  const marked = Boolean(ports.credentials ?? ports.licenses);
  let profile: P | undefined;
  const steps: Step[] = [
    {
      name: 'profile',
      do: async (c) => {
        profile = await ports.profile.do(c, marked);
      },
      undo: ports.profile.undo,
    },
    ...(ports.licenses ? [{ name: 'licenses', ...ports.licenses }] : []),
    ...(ports.credentials ? [{ name: 'credentials', ...ports.credentials }] : []),
    ...(marked ? [{ name: 'activate', do: ports.activate }] : []),
  ];
  await run('provision', steps, ctx, opts);
  return { sagaId: ctx.sagaId, profile: profile as P };
}

/**
 * Deletes a user: mark → licenses → credentials → profile. A failure at the
 * mark, or licensing's refusal (RELEASE_REFUSALS), undoes the mark and is
 * thrown; any other failure from the licenses on is logged with the saga id
 * and thrown, the marked profile left for reconcile to finish.
 */
export async function deleteUser(
  ids: { organizationId: string; userId: string },
  ports: DeletionPorts,
  opts: SagaOptions,
): Promise<{ sagaId: string }> {
  const ctx: SagaContext = { sagaId: randomUUID(), ...ids };
  await run('deprovision', [{ name: 'mark', ...ports.mark }], ctx, opts);
  try {
    await ports.licenses(ctx);
  } catch (err) {
    if (!(err instanceof DomainError && RELEASE_REFUSALS.has(err.reason))) {
      logUndoFailure(opts.logger, err, 'deprovision: release licenses (unknown outcome)', {
        sagaId: ctx.sagaId,
        organizationId: ctx.organizationId,
        userId: ctx.userId,
      });
      throw err;
    }
    await ports.mark.undo(ctx).catch((undoErr: unknown) =>
      logUndoFailure(opts.logger, undoErr, 'deprovision mark', {
        sagaId: ctx.sagaId,
        step: 'mark',
        organizationId: ctx.organizationId,
        userId: ctx.userId,
      }),
    );
    throw err;
  }
  opts.faults?.('deprovision:after-licenses');
  try {
    await ports.credentials(ctx);
    opts.faults?.('deprovision:after-credentials');
    await ports.profile(ctx);
  } catch (err) {
    logUndoFailure(opts.logger, err, 'deprovision: finish deleting', {
      sagaId: ctx.sagaId,
      organizationId: ctx.organizationId,
      userId: ctx.userId,
    });
    throw err;
  }
  return { sagaId: ctx.sagaId };
}
