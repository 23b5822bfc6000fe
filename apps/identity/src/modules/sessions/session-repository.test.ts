import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName, type EmbeddedStore } from '@usergraph/mongo/testing';
import { auditEvent } from '@usergraph/audit';
import { createSessionRepository, type NewSession, type SessionRepository, type UserSessionsDoc } from './session-repository.js';

describe('session repository', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  let sessions: SessionRepository;
  let n = 0;
  const HOUR = 3_600_000;
  const sessionFor = (userId: string, opts: { familyId?: string; expiresInMs?: number } = {}): NewSession => {
    const id = `s${Date.now().toString(16)}${(n++).toString(16)}`;
    const expires = new Date(Date.now() + (opts.expiresInMs ?? HOUR));
    return {
      _id: id,
      organizationId: 'org1',
      userId,
      familyId: opts.familyId ?? id,
      refreshTokenHash: 'h',
      refreshExpiresAt: expires,
      accessExpiresAt: expires,
    };
  };
  const login = async (userId = 'u1', expiresInMs?: number) => {
    const doc = sessionFor(userId, { expiresInMs });
    await sessions.insertLogin(doc, new Date());
    return doc;
  };
  /** What refresh does: mark the old session rotated, then save its successor. */
  const rotate = async (previous: NewSession) => {
    expect(await sessions.markRotated(previous._id, new Date())).toBe(true);
    const next = sessionFor(previous.userId, { familyId: previous.familyId });
    const moved = await sessions.insertRotated((await sessions.findById(previous._id))!, next, new Date());
    return { next, moved };
  };
  /** A `session.revoked` event, as logout writes it with the revocation. */
  const revokedEvent = (sessionId: string) =>
    auditEvent(
      { actor: { type: 'user', id: 'u1' } },
      { action: 'session.revoked', organizationId: 'org1', target: { type: 'session', id: sessionId }, outcome: 'success' },
    );
  const listIds = async (userId: string) => (await sessions.listActiveForUser('org1', userId, new Date())).map((s) => s._id);

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('sessions'), appName: 'identity-test' });
    sessions = createSessionRepository(conn);
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('markRotated: of 20 concurrent calls exactly one wins, by _id only', async () => {
    const { _id } = await login();
    const recorder = recordFilters(conn, ['sessions']);
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.markRotated(_id, new Date())));
    recorder.stop();
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(recorder.scans()).toEqual([]);
    expect((await sessions.findById(_id))?.rotatedAt).toBeInstanceOf(Date);
  });

  it('markRotated: a revoked or unknown session does not rotate', async () => {
    const { _id } = await login();
    expect(await sessions.revokeOne('org1', 'u1', _id, new Date(), revokedEvent(_id), {})).toBe(true);
    expect(await sessions.markRotated(_id, new Date())).toBe(false);
    expect(await sessions.markRotated('no-such-session', new Date())).toBe(false);
  });

  it('revokeOne: exactly one of 20 concurrent calls revokes, and only its event is written with it; another user or tenant gets false', async () => {
    const { _id } = await login();
    expect(await sessions.revokeOne('org2', 'u1', _id, new Date(), revokedEvent(_id), {})).toBe(false);
    expect(await sessions.revokeOne('org1', 'u2', _id, new Date(), revokedEvent(_id), {})).toBe(false);
    const untouched = await sessions.findById(_id);
    expect(untouched?.revokedAt).toBeUndefined();
    expect(untouched?.auditOutbox ?? []).toEqual([]);
    const recorder = recordFilters(conn, ['sessions']);
    const events = Array.from({ length: 20 }, () => revokedEvent(_id));
    const results = await Promise.all(events.map((event) => sessions.revokeOne('org1', 'u1', _id, new Date(), event, {})));
    recorder.stop();
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(recorder.scans()).toEqual([]);
    // The event of the call that revoked, and no other: a refused revocation claims nothing.
    const stored = await sessions.findById(_id);
    expect(stored?.auditOutbox?.map((e) => e.id)).toEqual([events[results.indexOf(true)]!.id]);
  });

  it("finds a user's live sessions by key, newest first, among other users' sessions", async () => {
    for (let i = 0; i < 5; i++) await login('someone-else');
    const first = await login('lister');
    const second = await login('lister');
    const { next } = await rotate(second);
    const third = await login('lister');
    await sessions.revokeOne('org1', 'lister', third._id, new Date(), revokedEvent(third._id), {});
    const recorder = recordFilters(conn, ['sessions', 'user_sessions']);
    expect(await listIds('lister')).toEqual([next._id, first._id]);
    recorder.stop();
    expect(recorder.scans()).toEqual([]);
    expect(await sessions.listActiveForUser('org2', 'lister', new Date())).toEqual([]);
  });

  it('revokeForUser revokes every live session but the one kept, by key, and leaves other users alone', async () => {
    const kept = await login('leaver');
    const others = [await login('leaver'), (await rotate(await login('leaver'))).next];
    const bystander = await login('bystander');
    const recorder = recordFilters(conn, ['sessions', 'user_sessions']);
    expect(await sessions.revokeForUser('org1', 'leaver', new Date(), kept._id)).toBe(2);
    recorder.stop();
    expect(recorder.scans()).toEqual([]);
    for (const s of others) expect((await sessions.findById(s._id))?.revokedAt).toBeInstanceOf(Date);
    expect(await listIds('leaver')).toEqual([kept._id]);
    expect(await listIds('bystander')).toEqual([bystander._id]);
    expect(await sessions.revokeForUser('org1', 'leaver', new Date())).toBe(1);
    expect(await listIds('leaver')).toEqual([]);
  });

  it("revokeForUser keeps the kept login's current session, not only its first: the changer's client may have refreshed", async () => {
    const kept = await login('refresher');
    const { next } = await rotate(kept);
    const other = await login('refresher');
    expect(await sessions.revokeForUser('org1', 'refresher', new Date(), kept.familyId)).toBe(1);
    expect((await sessions.findById(next._id))?.revokedAt).toBeUndefined();
    expect((await sessions.findById(other._id))?.revokedAt).toBeInstanceOf(Date);
    expect(await listIds('refresher')).toEqual([next._id]);
  });

  it('revokeOne refuses, and records nothing for, a rotated session or one the credentials cut off', async () => {
    const first = await login('u1');
    const { next } = await rotate(first);
    expect(await sessions.revokeOne('org1', 'u1', first._id, new Date(), revokedEvent(first._id), {})).toBe(false);
    const rotated = await sessions.findById(first._id);
    expect(rotated?.revokedAt).toBeUndefined();
    expect(rotated?.auditOutbox ?? []).toEqual([]);
    // Issued under generation 0; the credentials are at 1 and keep another login: already ended.
    expect(
      await sessions.revokeOne('org1', 'u1', next._id, new Date(), revokedEvent(next._id), { sessionsGeneration: 1, keptFamilyId: 'x' }),
    ).toBe(false);
    expect((await sessions.findById(next._id))?.auditOutbox ?? []).toEqual([]);
    // The kept login stands under the same cut-off, and is revoked with its event.
    expect(
      await sessions.revokeOne('org1', 'u1', next._id, new Date(), revokedEvent(next._id), {
        sessionsGeneration: 1,
        keptFamilyId: first.familyId,
      }),
    ).toBe(true);
    expect((await sessions.findById(next._id))?.auditOutbox).toHaveLength(1);
    const fresh = { ...sessionFor('u1'), credentialsGeneration: 2 };
    await sessions.insertLogin(fresh, new Date());
    expect(await sessions.revokeOne('org1', 'u1', fresh._id, new Date(), revokedEvent(fresh._id), { sessionsGeneration: 2 })).toBe(true);
  });

  it("revokeFamily revokes the family's current session and the presented one; a refresh racing it ends revoked", async () => {
    const start = await login('reuser');
    const { next } = await rotate(start);
    const other = await login('reuser');
    await sessions.revokeFamily((await sessions.findById(start._id))!, new Date());
    expect((await sessions.findById(next._id))?.revokedAt).toBeInstanceOf(Date);
    expect((await sessions.findById(start._id))?.revokedAt).toBeInstanceOf(Date);
    expect(await listIds('reuser')).toEqual([other._id]);

    // The family was revoked after `next` was marked rotated but before its successor took its place.
    const late = sessionFor('reuser', { familyId: start.familyId });
    expect(await sessions.insertRotated((await sessions.findById(next._id))!, late, new Date())).toBe(false);
    expect((await sessions.findById(late._id))?.revokedAt).toBeInstanceOf(Date);
  });

  it('sign out everywhere racing 20 refreshes leaves no live session', async () => {
    const logins = await Promise.all(Array.from({ length: 20 }, () => login('racer')));
    /** A refresh as the service runs it; null when sign out revoked the session before it was marked rotated. */
    const refresh = async (previous: NewSession) => {
      if (!(await sessions.markRotated(previous._id, new Date()))) return null;
      const next = sessionFor('racer', { familyId: previous.familyId });
      await sessions.insertRotated((await sessions.findById(previous._id))!, next, new Date());
      return next;
    };
    const [successors] = await Promise.all([Promise.all(logins.map(refresh)), sessions.revokeForUser('org1', 'racer', new Date())]);
    expect(await listIds('racer')).toEqual([]);
    for (const next of successors.filter((s) => s !== null)) {
      // Whichever came first, the successor is revoked: by sign out, or by the refresh that lost the race.
      expect((await sessions.findById(next._id))?.revokedAt).toBeInstanceOf(Date);
    }
  });

  it("a login drops the user's expired families from the list", async () => {
    const expired = await login('returning', 50);
    await new Promise((r) => setTimeout(r, 80));
    const fresh = await login('returning');
    const doc = await conn.collection<UserSessionsDoc>('user_sessions').findOne({ _id: 'org1:returning' });
    expect(Object.keys(doc?.families ?? {})).toEqual([fresh.familyId]);
    expect(expired.familyId).not.toBe(fresh.familyId);
  });

  it('buildLists enters the live sessions saved before the per-user list, and markListsBuilt marks them built; run again it changes nothing', async () => {
    const legacy = sessionFor('veteran');
    const rotated = { ...sessionFor('veteran'), rotatedAt: new Date() };
    const now = new Date();
    await conn.collection('sessions').insertMany([legacy, rotated].map((s) => ({ ...s, createdAt: now, updatedAt: now })) as never[]);
    expect(await listIds('veteran')).toEqual([]);
    expect(await sessions.listsBuilt()).toBe(false);
    expect(await sessions.buildLists(new Date())).toBe(1);
    expect(await sessions.listsBuilt()).toBe(false); // the marker is runStartupBuild's, under the lease
    await sessions.markListsBuilt();
    expect(await sessions.listsBuilt()).toBe(true);
    expect(await listIds('veteran')).toEqual([legacy._id]);
    expect((await rotate(legacy)).moved).toBe(true);
    // A second run (a holder that died before its marker, taken over) keeps the family's newer entry.
    expect(await sessions.buildLists(new Date())).toBe(0);
    expect(await listIds('veteran')).not.toContain(legacy._id);
  });
});
