import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '@usergraph/contracts';
import { admitAuditEvents, MAX_FUTURE_SKEW_MS } from './admission.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const event = (action: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: 'e1',
  action,
  organizationId: 'o1',
  actor: { type: 'user', id: 'u1' },
  target: { type: 'user', id: 'u2' },
  outcome: 'success',
  occurredAt: NOW,
  ...over,
});

describe('recordAuditEvents admission: nothing the log can derive is taken from the producer', () => {
  it("admits a service's own actions, stored as <service>:<id>, with the webhook type from the table", () => {
    const { admitted, refused } = admitAuditEvents(
      'licensing',
      [event('user.licenses_changed'), event('group.created', { id: 'e2' })],
      NOW,
      365,
    );
    expect(refused).toEqual([]);
    expect(admitted.map((e) => [e.id, e.webhookType])).toEqual([
      ['licensing:e1', 'user.licenses_changed'],
      ['licensing:e2', undefined],
    ]);
  });

  it("refuses an action outside the caller's row: identity cannot record a license change, licensing no login", () => {
    expect(admitAuditEvents('identity', [event('user.licenses_changed')], NOW, 365).refused).toEqual([
      { id: 'e1', reason: 'AUDIT_ACTION_NOT_ALLOWED' },
    ]);
    expect(admitAuditEvents('licensing', [event('user.login')], NOW, 365).refused).toEqual([
      { id: 'e1', reason: 'AUDIT_ACTION_NOT_ALLOWED' },
    ]);
    // Inherited object keys are no actions.
    expect(admitAuditEvents('identity', [event('constructor'), event('__proto__')], NOW, 365).admitted).toEqual([]);
  });

  it("records a refusal where it happens: identity refuses C's registerUser, yet only org-users records a creation", () => {
    const refusal = admitAuditEvents('identity', [event('user.created', { outcome: 'refused' })], NOW, 365);
    expect(refusal.refused).toEqual([]);
    expect(refusal.admitted.map((e) => [e.id, e.webhookType])).toEqual([['identity:e1', undefined]]);
    expect(admitAuditEvents('identity', [event('user.created')], NOW, 365).refused).toEqual([
      { id: 'e1', reason: 'AUDIT_ACTION_NOT_ALLOWED' },
    ]);
  });

  it("ignores the producer's webhookType: derived from the action, or none", () => {
    const { admitted } = admitAuditEvents(
      'identity',
      [event('user.login', { webhookType: 'user.deleted' }), event('session.revoked', { id: 'e2', webhookType: 'user.created' })],
      NOW,
      365,
    );
    expect(admitted.map((e) => e.webhookType)).toEqual([undefined, 'session.revoked']);
  });

  it('announces changes only: a refused or failed action is no webhook, except the lockout, which is the change', () => {
    const { admitted } = admitAuditEvents(
      'licensing',
      [event('user.groups_changed', { outcome: 'refused' }), event('user.licenses_changed', { id: 'e2', outcome: 'failure' })],
      NOW,
      365,
    );
    expect(admitted.map((e) => e.webhookType)).toEqual([undefined, undefined]);
    const lockout = admitAuditEvents('identity', [event('user.locked_out', { outcome: 'refused' })], NOW, 365).admitted;
    expect(lockout.map((e) => e.webhookType)).toEqual(['user.locked_out']);
  });

  it('bounds occurredAt: a few minutes ahead is clock skew, more is stored at its receipt; older is a replayed outbox, down to retention', () => {
    const at = (ms: number) => event('user.login', { occurredAt: new Date(NOW.getTime() + ms) });
    const skewed = at(MAX_FUTURE_SKEW_MS);
    expect(admitAuditEvents('identity', [skewed], NOW, 365).admitted.map((e) => e.occurredAt)).toEqual([skewed.occurredAt]);
    // A fast clock loses no event, and tops no trail: it is stored as received.
    const ahead = admitAuditEvents('identity', [at(MAX_FUTURE_SKEW_MS + 1000)], NOW, 365);
    expect(ahead.refused).toEqual([]);
    expect(ahead.admitted.map((e) => e.occurredAt)).toEqual([NOW]);
    expect(admitAuditEvents('identity', [at(-29 * 86_400_000)], NOW, 30).refused).toEqual([]);
    expect(admitAuditEvents('identity', [at(-31 * 86_400_000)], NOW, 30).refused).toEqual([{ id: 'e1', reason: 'AUDIT_EVENT_EXPIRED' }]);
  });

  it('judges each event on its own: one refused event does not refuse the batch', () => {
    const { admitted, refused } = admitAuditEvents('identity', [event('user.login'), event('user.deleted', { id: 'e2' })], NOW, 365);
    expect(admitted.map((e) => e.id)).toEqual(['identity:e1']);
    expect(refused).toEqual([{ id: 'e2', reason: 'AUDIT_ACTION_NOT_ALLOWED' }]);
  });
});
