import { describe, expect, it } from 'vitest';
import { DomainError, forbidden, type Caller } from '@usergraph/service-kit';
import type { AuditOrigin } from '@usergraph/contracts';
import { auditEvent, originOf, type NewAuditEvent } from './event.js';
import { createRefusalAudit } from './refusals.js';

const member: Caller = { kind: 'user', userId: 'u-member', organizationId: 'org-1', sessionId: 's' };
const ctxOf = (caller: Caller) => ({ caller, requestId: 'req-1', clientIp: '203.0.113.9' });
const USER_ID = '65a1f0c2e4b0a1b2c3d4e5f6';

/** A refusal recorder whose `record` keeps what it was given; `fail` makes recording throw. */
function harness(perMinute = 3, fail = false) {
  const recorded: Array<{ origin: AuditOrigin; event: NewAuditEvent }> = [];
  const lookups = { count: 0 };
  const warnings: unknown[] = [];
  const errors: unknown[] = [];
  const refusals = createRefusalAudit({
    record: async (origin, event) => {
      if (fail) throw new Error('store unavailable');
      recorded.push({ origin, event });
    },
    originOf: async (ctx) => {
      lookups.count++;
      return originOf(ctx);
    },
    perMinute,
    logger: { warn: (o: unknown) => void warnings.push(o), error: (o: unknown) => void errors.push(o) },
  });
  const resolvers = refusals.wrap(
    {
      Mutation: {
        updateUser: async (_: unknown, args: Record<string, unknown>) => {
          if (args.throw === 'forbidden') throw forbidden('no');
          if (args.throw === 'notFound') throw new DomainError('NOT_FOUND', 'User not found');
          if (args.throw === 'bad') throw new DomainError('BAD_USER_INPUT', 'Invalid input');
          return 'ok';
        },
      },
    },
    { updateUser: { action: 'user.updated', target: { type: 'user', arg: ['input', 'id'] } } },
  );
  const call = (args: Record<string, unknown>, caller: Caller = member) =>
    (resolvers.Mutation.updateUser as (...a: unknown[]) => Promise<unknown>)(undefined, args, ctxOf(caller), undefined);
  return { recorded, warnings, errors, call, refusals, lookups };
}

describe('refused administrative actions', () => {
  it('a FORBIDDEN is recorded (outcome refused, in the caller organization, naming the target) and thrown on', async () => {
    const h = harness();
    await expect(h.call({ throw: 'forbidden', input: { id: USER_ID } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(h.recorded).toHaveLength(1);
    expect(h.recorded[0]!.origin).toMatchObject({ actor: { type: 'user', id: 'u-member' }, requestId: 'req-1', clientIp: '203.0.113.9' });
    expect(h.recorded[0]!.event).toEqual({
      organizationId: 'org-1',
      action: 'user.updated',
      target: { type: 'user', id: USER_ID },
      outcome: 'refused',
      subjectUserId: USER_ID,
    });
  });

  it('a target that is not an id (free text, an email) is never recorded: the organization is named instead', async () => {
    const h = harness();
    await expect(h.call({ throw: 'forbidden', input: { id: 'leia@example.com' } })).rejects.toThrow();
    await expect(h.call({ throw: 'forbidden', input: { id: 'leia_organa_1977' } })).rejects.toThrow();
    expect(h.recorded.map((r) => r.event.target)).toEqual([
      { type: 'organization', id: 'org-1' },
      { type: 'organization', id: 'org-1' },
    ]);
  });

  it('NOT_FOUND is a refusal only for a named target; bad input, success and anonymous callers record nothing', async () => {
    const h = harness();
    await expect(h.call({ throw: 'notFound', input: { id: USER_ID } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.call({ throw: 'notFound', input: {} })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(h.call({ throw: 'bad', input: { id: USER_ID } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(h.call({ input: { id: USER_ID } })).resolves.toBe('ok');
    await expect(h.call({ throw: 'forbidden' }, { kind: 'anonymous' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(h.recorded.map((r) => r.event.target)).toEqual([{ type: 'user', id: USER_ID }]);
  });

  it('one caller records at most perMinute refusals a minute, with one warning; another caller has its own budget', async () => {
    const h = harness(3);
    for (let i = 0; i < 10; i++) await expect(h.call({ throw: 'forbidden' })).rejects.toThrow();
    expect(h.recorded).toHaveLength(3);
    expect(h.warnings).toHaveLength(1);
    await expect(h.call({ throw: 'forbidden' }, { ...member, userId: 'u-other' })).rejects.toThrow();
    expect(h.recorded).toHaveLength(4);
  });

  it('the budget is per action: junk refusals of one action do not hide another action of the same caller', async () => {
    const h = harness(3);
    for (let i = 0; i < 10; i++) await expect(h.call({ throw: 'forbidden' })).rejects.toThrow();
    const origin = originOf(ctxOf(member));
    await h.refusals.refused(origin, 'org-1', 'user.deleted', { type: 'user', id: USER_ID });
    await h.refusals.refused({ caller: member, origin: async () => origin }, 'org-1', 'application.permissions_changed', {
      type: 'organization',
      id: 'org-1',
    });
    expect(h.recorded.map((r) => r.event.action)).toEqual([
      'user.updated',
      'user.updated',
      'user.updated',
      'user.deleted',
      'application.permissions_changed',
    ]);
  });

  it('the caller has an overall cap of 5 x perMinute over all actions', async () => {
    const h = harness(2);
    const actions = [
      'user.created',
      'user.updated',
      'user.deleted',
      'user.closed',
      'user.synced',
      'group.created',
      'group.renamed',
      'group.deleted',
    ] as const;
    for (const action of actions)
      for (let i = 0; i < 3; i++) await h.refusals.refused(originOf(ctxOf(member)), 'org-1', action, { type: 'organization', id: 'org-1' });
    expect(h.recorded).toHaveLength(10);
  });

  it('a refusal over budget costs no origin lookup (licensing is asked only within budget)', async () => {
    const h = harness(3);
    for (let i = 0; i < 10; i++) await expect(h.call({ throw: 'forbidden' })).rejects.toThrow();
    expect(h.lookups.count).toBe(3);
  });

  it('a refused event keeps no request id (the client may have typed it); other outcomes keep it', () => {
    const origin = originOf({ caller: member, requestId: 'client-typed-text', clientIp: '203.0.113.9' });
    const e = { organizationId: 'org-1', action: 'user.updated' as const, target: { type: 'organization', id: 'org-1' } };
    expect(auditEvent(origin, { ...e, outcome: 'refused' })).not.toHaveProperty('requestId');
    expect(auditEvent(origin, { ...e, outcome: 'success' })).toMatchObject({ requestId: 'client-typed-text' });
  });

  it('a refusal that cannot be recorded is logged; the caller still gets the FORBIDDEN, not the store error', async () => {
    const h = harness(3, true);
    await expect(h.call({ throw: 'forbidden' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(h.errors).toHaveLength(1);
  });

  it('a wrapped mutation that does not exist is a startup error, not a silent hole', () => {
    const h = harness();
    expect(() => h.refusals.wrap({ Mutation: {} }, { deleteUsers: { action: 'user.deleted' } })).toThrow(/no mutation deleteUsers/);
  });
});
