import { describe, expect, it } from 'vitest';
import { DomainError } from '@usergraph/service-kit';
import { createUser, deleteUser, type Port } from './index.js';

const ids = { organizationId: 'org1', userId: 'u1' };

/** Records every do and undo in order; `fail` names the step whose do throws. */
function recorder(fail?: string, failUndo?: string) {
  const calls: string[] = [];
  const port = (name: string): Port => ({
    do: async () => {
      calls.push(`do ${name}`);
      if (fail === name) throw new Error(`${name} failed`);
    },
    undo: async () => {
      calls.push(`undo ${name}`);
      if (failUndo === name) throw new Error(`undo ${name} failed`);
    },
  });
  const errors: Array<Record<string, unknown>> = [];
  const logger = { error: (obj: Record<string, unknown>) => void errors.push(obj) };
  return { calls, port, errors, logger };
}

describe('createUser saga', () => {
  it('runs profile (marked), licenses, credentials, activate in order', async () => {
    const r = recorder();
    let marked: boolean | undefined;
    const { sagaId, profile } = await createUser(
      ids,
      {
        profile: { do: async (_c, m) => ((marked = m), r.calls.push('do profile'), 'the profile'), undo: r.port('profile').undo },
        credentials: r.port('credentials'),
        licenses: r.port('licenses'),
        activate: async () => r.calls.push('do activate'),
      },
      { logger: r.logger },
    );
    expect(r.calls).toEqual(['do profile', 'do licenses', 'do credentials', 'do activate']);
    expect(marked).toBe(true);
    expect(profile).toBe('the profile');
    expect(sagaId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes a lone profile unmarked and skips activate', async () => {
    const r = recorder();
    let marked: boolean | undefined;
    await createUser(
      ids,
      { profile: { do: async (_c, m) => (marked = m), undo: r.port('profile').undo }, activate: async () => r.calls.push('do activate') },
      { logger: r.logger },
    );
    expect(marked).toBe(false);
    expect(r.calls).toEqual([]);
  });

  it('undoes the finished steps in reverse and rethrows the failure', async () => {
    const r = recorder('credentials');
    const saga = createUser(
      ids,
      {
        profile: r.port('profile'),
        credentials: r.port('credentials'),
        licenses: r.port('licenses'),
        activate: async () => r.calls.push('do activate'),
      },
      { logger: r.logger },
    );
    await expect(saga).rejects.toThrow('credentials failed');
    expect(r.calls).toEqual(['do profile', 'do licenses', 'do credentials', 'undo licenses', 'undo profile']);
  });

  it('logs a failed undo with the saga id, step and ids, and still undoes the rest', async () => {
    const r = recorder('none', 'licenses');
    const failing = { ...r.port('credentials'), do: async () => Promise.reject(new Error('identity down')) };
    await expect(
      createUser(
        ids,
        { profile: r.port('profile'), credentials: failing, licenses: r.port('licenses'), activate: async () => undefined },
        { logger: r.logger },
      ),
    ).rejects.toThrow('identity down');
    expect(r.calls).toEqual(['do profile', 'do licenses', 'undo licenses', 'undo profile']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      undo: 'provision licenses',
      step: 'licenses',
      organizationId: 'org1',
      userId: 'u1',
      repair: 'usergraph reconcile',
    });
    expect(r.errors[0]!.sagaId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('calls the fault hook at every point between two writes', async () => {
    const r = recorder();
    const points: string[] = [];
    await createUser(
      ids,
      { profile: r.port('profile'), credentials: r.port('credentials'), licenses: r.port('licenses'), activate: async () => undefined },
      { logger: r.logger, faults: (p) => points.push(p) },
    );
    expect(points).toEqual([
      'provision:after-profile',
      'provision:after-licenses',
      'provision:after-credentials',
      'provision:before-activate',
    ]);
  });
});

describe('deleteUser saga', () => {
  const ports = (r: ReturnType<typeof recorder>) => ({
    mark: r.port('mark'),
    licenses: r.port('licenses').do,
    credentials: r.port('credentials').do,
    profile: r.port('profile').do,
  });

  it('marks, releases licenses, deletes credentials, then the profile', async () => {
    const r = recorder();
    const points: string[] = [];
    await deleteUser(ids, ports(r), { logger: r.logger, faults: (p) => points.push(p) });
    expect(r.calls).toEqual(['do mark', 'do licenses', 'do credentials', 'do profile']);
    expect(points).toEqual(['deprovision:after-mark', 'deprovision:after-licenses', 'deprovision:after-credentials']);
  });

  it('a refusal at the licenses clears the mark and is thrown, unlogged', async () => {
    const r = recorder();
    const refusal = new DomainError('CONFLICT', 'last admin', [], { reason: 'LAST_COMPANY_ADMIN' });
    const licenses = async () => {
      r.calls.push('do licenses');
      throw refusal;
    };
    await expect(deleteUser(ids, { ...ports(r), licenses }, { logger: r.logger })).rejects.toBe(refusal);
    expect(r.calls).toEqual(['do mark', 'do licenses', 'undo mark']);
    expect(r.errors).toEqual([]);
  });

  it.each(['LAST_COMPANY_ADMIN', 'SUPPORT_ADMIN', 'COMPANY_ADMIN'] as const)(
    'licensing refusing the release (%s) clears the mark and is thrown',
    async (reason) => {
      const r = recorder();
      const refusal = new DomainError('CONFLICT', 'refused', [], { reason });
      const saga = deleteUser(ids, { ...ports(r), licenses: () => Promise.reject(refusal) }, { logger: r.logger });
      await expect(saga).rejects.toBe(refusal);
      expect(r.calls).toEqual(['do mark', 'undo mark']);
    },
  );

  it.each([
    ['an unavailable licensing', new DomainError('SERVICE_UNAVAILABLE', 'down', [], { reason: 'SERVICE_UNREACHABLE' })],
    ['a lost answer', new Error('socket hang up')],
    ['an internal error', new DomainError('INTERNAL_SERVER_ERROR', 'boom')],
  ])('an unknown outcome of the release (%s) keeps the mark for reconcile, logged and thrown', async (_name, failure) => {
    const r = recorder();
    const saga = deleteUser(ids, { ...ports(r), licenses: () => Promise.reject(failure) }, { logger: r.logger });
    await expect(saga).rejects.toBe(failure);
    expect(r.calls).toEqual(['do mark']);
    expect(r.errors[0]).toMatchObject({ organizationId: 'org1', userId: 'u1', repair: 'usergraph reconcile' });
  });

  it('a failure after the licenses keeps the mark for reconcile and logs it with the saga id', async () => {
    const r = recorder('credentials');
    await expect(deleteUser(ids, ports(r), { logger: r.logger })).rejects.toThrow('credentials failed');
    expect(r.calls).toEqual(['do mark', 'do licenses', 'do credentials']);
    expect(r.errors[0]).toMatchObject({ organizationId: 'org1', userId: 'u1', repair: 'usergraph reconcile' });
    expect(r.errors[0]!.sagaId).toBeTypeOf('string');
  });
});
