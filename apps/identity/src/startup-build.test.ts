import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { spawnLeaseHolder, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger } from '@usergraph/service-kit';
import { createSessionRepository, type NewSession, type SessionRepository } from './modules/sessions/session-repository.js';
import { buildSessionListsAtStart } from './startup-build.js';

const ORG = 'org1';
const HOUR = 3_600_000;
const STARTUP = { STARTUP_LEASE_SECONDS: 1, STARTUP_BUILD_WAIT_SECONDS: 60 };
const BUILT = "existing sessions entered in their users' session lists";
const USERS = Array.from({ length: 30 }, (_, i) => `u${i}`);

/** A logger whose messages the test reads: which instance built. */
function capturingLogger() {
  const messages: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  });
  return { logger: createLogger({ service: 'identity', level: 'info', destination: sink }), messages };
}

const sessionFor = (userId: string, familyId?: string): NewSession => {
  const id = `s${randomBytes(8).toString('hex')}`;
  const expires = new Date(Date.now() + HOUR);
  return {
    _id: id,
    organizationId: ORG,
    userId,
    familyId: familyId ?? id,
    refreshTokenHash: 'h',
    refreshExpiresAt: expires,
    accessExpiresAt: expires,
  };
};

/**
 * A rolling start over a database from before the per-user session lists:
 * two new instances run identity's start-up build at once (the code
 * startIdentity runs before serving, each on its own connection) while a
 * running instance keeps logging in, refreshing and signing out.
 */
describe('identity start-up build of the session lists (issue 13: rolling start)', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let dbName: string;
  let conn: Connection;
  let sessions: SessionRepository;
  const conns: Connection[] = [];
  const children: ChildProcess[] = [];

  async function startInstance() {
    const own = await connectDatabase({ uri: store.uri, dbName, appName: 'identity-instance' });
    conns.push(own);
    const { logger, messages } = capturingLogger();
    const outcome = await buildSessionListsAtStart(own, createSessionRepository(own), STARTUP, logger);
    return { outcome, messages };
  }
  /** Sessions saved before the lists existed: 10 per user, no list, no marker. */
  async function legacySessions(): Promise<NewSession[]> {
    await conn.collection('user_sessions').deleteMany({});
    const docs = USERS.flatMap((u) => Array.from({ length: 10 }, () => sessionFor(u)));
    const now = new Date();
    await conn.collection('sessions').insertMany(docs.map((s) => ({ ...s, createdAt: now, updatedAt: now })) as never[]);
    return docs;
  }
  /** Per user: the sessions listed against the live sessions stored (not revoked, not rotated, not expired). */
  async function listedAndLive() {
    const now = new Date();
    return Promise.all(
      USERS.map(async (userId) => ({
        userId,
        listed: (await sessions.listActiveForUser(ORG, userId, now)).map((s) => s._id).sort(),
        live: (
          await conn
            .collection<{ _id: string }>('sessions')
            .find({
              organizationId: ORG,
              userId,
              revokedAt: { $exists: false },
              rotatedAt: { $exists: false },
              refreshExpiresAt: { $gt: now },
            })
            .toArray()
        )
          .map((s) => s._id)
          .sort(),
      })),
    );
  }

  beforeAll(async () => {
    store = await startTestStore();
    dbName = uniqueDatabaseName('identity_startup');
    conn = await connectDatabase({ uri: store.uri, dbName, appName: 'identity-test' });
    sessions = createSessionRepository(conn);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const c of conns) await c.close();
    await conn?.close();
    await store?.stop();
  });

  it('two instances start at once while users log in, refresh and sign out: exactly one builds, and every live session is listed', async () => {
    const legacy = await legacySessions();
    let writes = 0;
    const writer = (async () => {
      for (let n = 0; n < 90; n++) {
        const userId = USERS[n % USERS.length]!;
        const now = new Date();
        if (n % 3 === 0) await sessions.insertLogin(sessionFor(userId), now);
        else if (n % 3 === 1) {
          // A refresh of a session from before the lists (what refreshSession does).
          const previous = legacy[n]!;
          if (await sessions.markRotated(previous._id, now))
            await sessions.insertRotated((await sessions.findById(previous._id))!, sessionFor(previous.userId, previous.familyId), now);
        } else await sessions.revokeForUser(ORG, userId, now);
        writes++;
      }
    })();
    while (writes < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    const writesBefore = writes;
    const [first, second] = await Promise.all([startInstance(), startInstance()]);
    expect(writes).toBeGreaterThan(writesBefore); // the writes went on during the starts
    await writer;
    expect([first, second].filter((s) => s.messages.includes(BUILT))).toHaveLength(1);
    expect([first.outcome.outcome, second.outcome.outcome].sort()).toEqual(['built', 'done']);
    const after = await listedAndLive();
    expect(after.map((u) => u.listed)).toEqual(after.map((u) => u.live));
    expect(after.some((u) => u.live.length > 0)).toBe(true);
    // Signing out everywhere now reaches every session, those from before the lists included.
    await sessions.revokeForUser(ORG, USERS[1]!, new Date());
    expect((await listedAndLive())[1]).toEqual({ userId: USERS[1], listed: [], live: [] });
  });

  it('an instance killed midway through the build: its lease expires and a starting instance finishes it', async () => {
    await conn.collection('sessions').deleteMany({});
    const legacy = await legacySessions();
    const half = legacy.filter((_, i) => i % 2 === 0);
    // Half a build: entries for every other session, no marker.
    const entries = half.map((s) => ({
      key: `${ORG}:${s.userId}`,
      familyId: s.familyId,
      sessionId: s._id,
      at: s.refreshExpiresAt.toISOString(),
    }));
    const holder = await spawnLeaseHolder({
      uri: store.uri,
      dbName,
      name: 'identity:session-lists',
      ttlMs: 1_000,
      then: `for (const s of ${JSON.stringify(entries)}) {
               const entry = { sessionId: s.sessionId, refreshExpiresAt: new Date(s.at) };
               await conn.collection('user_sessions').updateOne({ _id: s.key }, { $set: { ['families.' + s.familyId]: entry } }, { upsert: true });
             }`,
    });
    children.push(holder);
    let finished = false;
    const starting = startInstance().finally(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(finished).toBe(false); // waits while the holder lives (its lease is renewed)
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const { outcome, messages } = await starting;
    expect(messages).toContain(BUILT);
    expect(outcome).toEqual({ outcome: 'built', result: legacy.length - half.length });
    const after = await listedAndLive();
    expect(after.map((u) => u.listed)).toEqual(after.map((u) => u.live));
    expect(after.every((u) => u.live.length === 10)).toBe(true);
  });
});
