import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@usergraph/contracts';
import { connectDatabase } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createUserRepository, type UserRepository, type UserStatus } from './user-repository.js';

/** The repository's conditional writes, on the real store: each change is written (with its one event) once. */
describe('user repository: conditional writes record one true event', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let users: UserRepository;
  const org = randomBytes(12).toString('hex');

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('orgusers_repository'), appName: 'repository-test' });
    users = createUserRepository(conn);
  }, 120_000);

  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  const event = (action: string, changedFields: string[] = []): AuditEvent => ({
    id: randomBytes(16).toString('hex'),
    organizationId: org,
    action,
    actor: { type: 'anonymous', id: '-' },
    target: { type: 'user', id: 'x' },
    outcome: 'success',
    changedFields,
    occurredAt: new Date(),
  });

  async function userWith(status: UserStatus): Promise<string> {
    const id = randomBytes(12).toString('hex');
    await users.insertOnce({
      _id: id,
      organizationId: org,
      email: `${id}@example.com`,
      emailNormalized: `${id}@example.com`,
      firstName: 'Leia',
      lastName: 'Organa',
      status,
      isSubscribed: false,
    });
    return id;
  }
  const outbox = async (id: string) => ((await users.findById(org, id))?.auditOutbox ?? []).map((e) => e.action);

  it('activation applies only to a pending account: a CLOSED or SUSPENDED one is not reopened, and records no user.activated', async () => {
    for (const status of ['CLOSED', 'SUSPENDED'] as const) {
      const id = await userWith(status);
      expect(await users.setStatus(org, id, 'ACTIVE', event('user.activated'))).toBeNull();
      expect((await users.findById(org, id))?.status).toBe(status);
      expect(await outbox(id)).toEqual([]);
    }
    const pending = await userWith('PENDING_VERIFICATION');
    expect((await users.setStatus(org, pending, 'ACTIVE', event('user.activated')))?.status).toBe('ACTIVE');
    expect(await outbox(pending)).toEqual(['user.activated']);
  });

  it('concurrent accepts of one legal agreement version record one event', async () => {
    const id = await userWith('ACTIVE');
    await Promise.all(Array.from({ length: 6 }, () => users.addLegalAgreement(org, id, 'v1', new Date(), event('user.updated'))));
    const doc = await users.findById(org, id);
    expect(doc?.legalAgreementVersions?.map((a) => a.version)).toEqual(['v1']);
    expect(await outbox(id)).toEqual(['user.updated']);
  });

  it('concurrent preference changes: none lost, and each event names only what its write changed', async () => {
    const id = await userWith('ACTIVE');
    const changes = [{ email: true }, { sms: true }, { push: true }, { email: true }, { sms: true }, { push: true }];
    const named: string[][] = [];
    await Promise.all(
      changes.map((prefs) =>
        users.setNotificationPreferences(org, id, prefs, (changed) => {
          named.push(changed);
          return event('user.updated', changed);
        }),
      ),
    );
    const doc = await users.findById(org, id);
    expect(doc?.notificationPreferences).toMatchObject({ email: true, sms: true, push: true });
    const recorded = (doc?.auditOutbox ?? [])
      .map((e) => e.changedFields)
      .flat()
      .sort();
    // Each preference changed once: exactly one event names it.
    expect(recorded).toEqual(['notificationPreferences.email', 'notificationPreferences.push', 'notificationPreferences.sms']);
  });
});
