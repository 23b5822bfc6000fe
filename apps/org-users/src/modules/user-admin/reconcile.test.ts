import { createAuditOutbox } from '@usergraph/audit';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { DomainError } from '@usergraph/service-kit';
import { createUser } from '@usergraph/user-lifecycle';
import type { IdentityClient, LicensingClient } from '../../clients.js';
import { createSearchIndex } from '../users/search-index.js';
import { createUserRepository, type UserDoc } from '../users/user-repository.js';
import { createUserService, type UserService } from '../users/user-service.js';
import { createProfileReconciler } from './reconcile.js';

/**
 * Reconcile races a creation saga that is still running, on the real store.
 * identity and licensing are other services: here they only record what
 * reconcile and the saga asked of them (who holds credentials and licenses).
 */
describe('reconcile claims a marked profile before repairing it', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let users: UserService;
  const org = randomBytes(12).toString('hex');
  const logger = { warn: () => undefined, error: () => undefined, info: () => undefined };
  // What the other services hold, per user id.
  const credentials = new Set<string>();
  const licenses = new Set<string>();
  const identity = {
    deleteCredentials: async (_o: string, userId: string) => ({ deleted: credentials.delete(userId) }),
  } as unknown as IdentityClient;
  const licensing = {
    forgetUser: async (_o: string, userId: string) => ({ forgotten: licenses.delete(userId) }),
  } as unknown as LicensingClient;

  const usersCollection = () => conn.collection<Pick<UserDoc, '_id' | 'provisioningSince' | 'sagaId'>>('users');

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('orgusers_reconcile'), appName: 'reconcile-test' });
    users = createUserService({
      conn,
      users: createUserRepository(conn),
      searchIndex: createSearchIndex(conn),
      logger,
      audit: { outbox: createAuditOutbox(conn), kick: () => undefined },
    });
  }, 120_000);

  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  /** A creation saga whose activate waits for `beforeActivate` (reconcile runs there); its outcome. */
  async function sagaRacing(beforeActivate: (userId: string) => Promise<void>) {
    const userId = randomBytes(12).toString('hex');
    const email = `${userId}@example.com`;
    const outcome = await createUser(
      { organizationId: org, userId },
      {
        profile: {
          do: ({ sagaId }, marked) =>
            users.createProfile({
              userId,
              organizationId: org,
              email,
              firstName: 'Han',
              lastName: 'Solo',
              status: 'ACTIVE',
              provisioning: marked,
              sagaId,
            }),
          undo: () => users.deleteProfile(org, userId),
        },
        licenses: { do: async () => licenses.add(userId), undo: async () => licenses.delete(userId) },
        credentials: { do: async () => credentials.add(userId), undo: async () => credentials.delete(userId) },
        activate: async ({ sagaId }) => {
          // The marker is old enough for any cutoff, as after a long stall.
          await usersCollection().updateOne({ _id: userId }, { $set: { provisioningSince: new Date(Date.now() - 3_600_000) } });
          await beforeActivate(userId);
          return users.finishProvisioning(org, userId, sagaId);
        },
      },
      { logger },
    ).then(
      () => 'created' as const,
      (err: unknown) => err,
    );
    return { userId, outcome, profile: await usersCollection().findOne({ _id: userId }) };
  }

  it('reconcile claims first: the late activate is refused (CONCURRENT_CHANGE), the saga undoes itself, nothing is left', async () => {
    const reconcile = createProfileReconciler({ users, identity, licensing, logger });
    let report: Awaited<ReturnType<typeof reconcile>> | undefined;
    const { userId, outcome, profile } = await sagaRacing(async () => {
      report = await reconcile(60_000);
    });
    expect(report).toMatchObject({ removedProfiles: 1 });
    expect(outcome).toBeInstanceOf(DomainError);
    expect((outcome as DomainError).reason).toBe('CONCURRENT_CHANGE');
    expect(profile).toBeNull();
    expect(credentials.has(userId)).toBe(false);
    expect(licenses.has(userId)).toBe(false);
  });

  it('the saga activates between reconcile reading the stuck list and claiming: the live user keeps everything', async () => {
    let listRead!: () => void;
    const read = new Promise<void>((r) => (listRead = r));
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    // Reconcile reads the stuck list, then waits while the saga activates, then goes on with what it read.
    const racing: UserService = {
      ...users,
      stuckInSaga: async (kind, before) => {
        const stuck = await users.stuckInSaga(kind, before);
        if (kind === 'provisioningSince') {
          listRead();
          await gate;
        }
        return stuck;
      },
    };
    const reconcile = createProfileReconciler({ users: racing, identity, licensing, logger });
    let run: ReturnType<typeof reconcile> | undefined;
    const { userId, outcome, profile } = await sagaRacing(async (id) => {
      run = reconcile(60_000);
      await read;
      expect((await users.stuckInSaga('provisioningSince', new Date())).map((p) => p._id)).toContain(id);
    });
    openGate();
    const report = await run;
    expect(outcome).toBe('created');
    expect(report).toMatchObject({ removedProfiles: 0 });
    expect(profile?.provisioningSince).toBeUndefined();
    expect(await usersCollection().countDocuments({ _id: userId })).toBe(1);
    expect(credentials.has(userId)).toBe(true);
    expect(licenses.has(userId)).toBe(true);
  });

  it('a retried activate of a live user answers activated; a sagaId that is not the marker is refused', async () => {
    const { userId, outcome } = await sagaRacing(async () => undefined);
    expect(outcome).toBe('created');
    await expect(users.finishProvisioning(org, userId, randomUUID())).resolves.toEqual({ activated: true });
    await usersCollection().updateOne({ _id: userId }, { $set: { provisioningSince: new Date(), sagaId: randomUUID() } });
    await expect(users.finishProvisioning(org, userId, randomUUID())).rejects.toMatchObject({ reason: 'CONCURRENT_CHANGE' });
  });
});
