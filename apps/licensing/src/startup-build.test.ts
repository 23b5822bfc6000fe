import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { spawnLeaseHolder, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger, type RunningService } from '@usergraph/service-kit';
import { postGraphQL, runCommand, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
import { startLicensing } from './app.js';
import { licensingEnvSchema, type LicensingEnv } from './env.js';

const SECRET = `licensing-test-secret-${randomBytes(16).toString('hex')}`;
const GROUPS = ['SALES', 'EMEA', 'OPS', 'APAC'];
const newId = () => randomBytes(12).toString('hex');

/** A logger whose messages the test reads: which instance built. */
function capturingLogger() {
  const messages: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  });
  return { logger: createLogger({ service: 'licensing', level: 'info', destination: sink }), messages };
}

/**
 * A rolling start over a database from before the member counts: two new
 * instances start at once while a running one keeps changing assignments.
 */
describe('licensing start-up build of member counts (issue 13: rolling start)', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let dbName: string;
  let conn: Connection;
  let issuer: TestIssuer;
  let env: LicensingEnv;
  let running: RunningService;
  const org = newId();
  const users = Array.from({ length: 40 }, newId);
  const opened: Array<{ conn: Connection; service?: RunningService }> = [];
  const children: ChildProcess[] = [];

  const assign = (userId: string, groups: string[]) =>
    runCommand(
      `http://127.0.0.1:${running.port}`,
      'assignLicenses',
      { organizationId: org, userId, requestedLicenses: ['VIEWER'], requestedGroups: groups },
      {
        secret: SECRET,
        service: 'licensing',
        from: 'org-users',
      },
    );
  /** Some groups, chosen from the user's index and the round: every group gains and loses members. */
  const groupsFor = (i: number, round: number) => GROUPS.filter((_, g) => (i + round + g) % 3 !== 0);

  /** Each group's stored count against its members in the assignments. */
  async function countsAndMembers() {
    const groups = await conn
      .collection<{ _id: string; name: string; memberCount?: number }>('groups')
      .find({ organizationId: org })
      .toArray();
    return Promise.all(
      groups.map(async (g) => ({
        name: g.name,
        stored: g.memberCount ?? 0,
        members: await conn.collection('assignments').countDocuments({ organizationId: org, groupIds: g._id }),
      })),
    );
  }
  /** Back to a database from before the counts: no count, no marker. */
  async function forgetCounts() {
    await conn.collection('groups').updateMany({}, { $unset: { memberCount: 1 } });
    await conn.collection<{ _id: string }>('groups').deleteOne({ _id: 'member-counts-built' });
  }
  async function startInstance(overrides: Partial<LicensingEnv> = {}) {
    const own = await connectDatabase({ uri: store.uri, dbName, appName: 'licensing-instance' });
    const slot: { conn: Connection; service?: RunningService } = { conn: own };
    opened.push(slot);
    const { logger, messages } = capturingLogger();
    slot.service = await startLicensing({ ...env, ...overrides }, logger, own);
    return messages;
  }

  beforeAll(async () => {
    store = await startTestStore();
    dbName = uniqueDatabaseName('licensing_startup');
    conn = await connectDatabase({ uri: store.uri, dbName, appName: 'licensing-test' });
    issuer = await startTestIssuer();
    // A 1 s lease (below the operators' floor, MIN_STARTUP_LEASE_SECONDS) keeps the takeover test short.
    env = {
      ...licensingEnvSchema.parse({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        APOLLO_TELEMETRY_DISABLED: '1',
        INTERNAL_SERVICE_SECRET: SECRET,
        JWKS_URL: issuer.jwksUrl,
        MONGODB_URI: store.uri,
        ORG_USERS_URL: 'http://127.0.0.1:9',
        IDENTITY_URL: issuer.url,
        STARTUP_BUILD_WAIT_SECONDS: '60',
      }),
      STARTUP_LEASE_SECONDS: 1,
    };
    running = await startLicensing(env, createLogger({ service: 'licensing', level: 'silent' }), conn);
    const admin = await issuer.sign({ typ: 'application', sub: 'app_admin', org, scope: 'organization-users:write' });
    for (const name of GROUPS) {
      const res = await postGraphQL(
        `http://127.0.0.1:${running.port}`,
        'mutation($n: String!) { createGroup(name: $n) { name } }',
        { n: name },
        { token: admin },
      );
      expect(res.body.errors).toBeUndefined();
    }
    for (const [i, userId] of users.entries()) await assign(userId, groupsFor(i, 0));
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const slot of opened) {
      await slot.service?.close();
      await slot.conn.close();
    }
    await running?.close();
    await issuer?.close();
    await conn?.close();
    await store?.stop();
  });

  it('two instances start at once while assignments change: exactly one builds, and every count equals its members', async () => {
    await forgetCounts();
    const before = await countsAndMembers();
    expect(before.every((g) => g.stored === 0)).toBe(true);
    expect(
      before
        .filter((g) => g.members > 0)
        .map((g) => g.name)
        .sort(),
    ).toEqual([...GROUPS].sort());
    let writes = 0;
    const writer = (async () => {
      for (let round = 1; round <= 4; round++) {
        for (const [i, userId] of users.entries()) {
          if (i % 2 === round % 2) continue;
          await assign(userId, groupsFor(i, round));
          writes++;
        }
      }
    })();
    while (writes < 5) await new Promise((resolve) => setTimeout(resolve, 10));
    const writesBefore = writes;
    const [first, second] = await Promise.all([startInstance(), startInstance()]);
    expect(writes).toBeGreaterThan(writesBefore); // the writes went on during the starts
    await writer;
    const builders = [first, second].filter((messages) => messages.includes('member counts built for the existing groups'));
    expect(builders).toHaveLength(1);
    expect([...first, ...second].some((m) => m.includes('still building'))).toBe(false);
    const after = await countsAndMembers();
    expect(after.map((g) => g.stored)).toEqual(after.map((g) => g.members));
    expect(await conn.collection<{ _id: string }>('groups').findOne({ _id: 'member-counts-built' })).not.toBeNull();
  });

  it('an instance killed midway through the build: its lease expires and a starting instance finishes it', async () => {
    await forgetCounts();
    const [sales] = await conn.collection<{ _id: string }>('groups').find({ organizationId: org, name: 'SALES' }).toArray();
    // The dead holder had set one count (wrongly, as a build racing a write might have) before it was killed.
    const holder = await spawnLeaseHolder({
      uri: store.uri,
      dbName,
      name: 'licensing:member-counts',
      ttlMs: 1_000,
      then: `await conn.collection('groups').updateOne({ _id: ${JSON.stringify(sales!._id)} }, { $set: { memberCount: 999 } });`,
    });
    children.push(holder);
    const starting = startInstance();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(opened.at(-1)?.service).toBeUndefined(); // waits while the holder lives (its lease is renewed)
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const messages = await starting;
    expect(messages).toContain('member counts built for the existing groups');
    const after = await countsAndMembers();
    expect(after.map((g) => g.stored)).toEqual(after.map((g) => g.members));
    expect(after.find((g) => g.name === 'SALES')!.stored).not.toBe(999);
  });
});
