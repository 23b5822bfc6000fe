/**
 * What the audit log's store paths cost as it grows (issue 16 review): its own
 * store (embedded, or a fresh database on MONGODB_URI), one organization's log
 * filled with `events` login failures and `adminEvents` events by its admin.
 *
 * - a page filtered by actor, as it was (`organizationId` + `actor.id`) vs now
 *   (the actor key, `audit-store.ts`), alternating, median of `samples`; and,
 *   for information, the unfiltered first page (the same before and after);
 * - the full pass the audit relay's interval used to run on every tick while
 *   org-users was down (`auditOutbox.0` exists, over `docs` documents none of
 *   which holds an event): what each tick cost before; now a tick of a down
 *   sink reads nothing (packages/audit/src/relay.test.ts counts the scans);
 * - one retention run over the expired log (batches of 1,000, at most 50).
 *
 *   node bench/dist/audit-store-cost.js '{"events":20000,"adminEvents":20,"docs":20000,"samples":5}'
 *
 * Prints one line of JSON. Needs the built apps/org-users (it imports its audit store from dist/).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose, { type Connection } from 'mongoose';
import { repoRoot, startEmbeddedStore, type EmbeddedStore } from '@usergraph/embedded-store';
import { MONGODB_URI } from './env.js';
import { percentile, readConfigArg } from './util.js';

export interface AuditStoreCostConfig {
  events: number;
  adminEvents: number;
  docs: number;
  samples: number;
}

interface AuditStoreModule {
  AUDIT_EVENTS_COLLECTION: string;
  createAuditStore: (
    conn: Connection,
    opts: { maxTimeMS: number },
  ) => {
    ensureIndexes(): Promise<void>;
    record(events: unknown[]): Promise<number>;
    page(org: string, q: { actor?: string }, first: number): Promise<unknown[]>;
    sweep(before: Date): Promise<number>;
  };
}

const DAY_MS = 86_400_000;
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const timed = async (f: () => Promise<unknown>) => {
  const start = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const round = (ms: number) => Math.round(ms * 10) / 10;

function event(org: string, actor: string, i: number, ageMs: number) {
  return {
    id: `${actor}-${i}-${randomBytes(4).toString('hex')}`,
    action: actor === 'admin' ? 'user.deleted' : 'user.login_failed',
    organizationId: org,
    actor: { type: 'user', id: actor },
    target: { type: 'account', id: `t${i % 97}` },
    outcome: 'failure',
    occurredAt: new Date(Date.now() - ageMs - i),
  };
}

async function main() {
  const config = readConfigArg<AuditStoreCostConfig>(process.argv[2]);
  const dist = join(repoRoot(), 'apps', 'org-users', 'dist', 'modules', 'audit');
  const { AUDIT_EVENTS_COLLECTION, createAuditStore } = (await import(
    pathToFileURL(join(dist, 'audit-store.js')).href
  )) as AuditStoreModule;

  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-bench-audit-'));
  let store: EmbeddedStore | undefined;
  const uri =
    MONGODB_URI ?? (store = await startEmbeddedStore({ dataDir: join(dataDir, 'data'), logFile: join(dataDir, 'store.log') })).uri;
  const dbName = `bench_audit_${randomBytes(4).toString('hex')}`;
  const conn = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    const audit = createAuditStore(conn, { maxTimeMS: 60_000 });
    await audit.ensureIndexes();
    const org = 'flooded';
    for (let i = 0; i < config.events; i += 1000) {
      await audit.record(Array.from({ length: Math.min(1000, config.events - i) }, (_, k) => event(org, 'flooder', i + k, 0)));
    }
    await audit.record(Array.from({ length: config.adminEvents }, (_, k) => event(org, 'admin', k, 0)));
    // The embedded store's key indexer makes its SQLite indexes a moment after they are declared.
    await new Promise((r) => setTimeout(r, 3000));

    const events = conn.collection(AUDIT_EVENTS_COLLECTION);
    const before = () => events.find({ organizationId: org, 'actor.id': 'admin' }).sort({ occurredAt: -1, _id: -1 }).limit(51).toArray();
    const after = () => audit.page(org, { actor: 'admin' }, 50);
    if ((await before()).length !== (await after()).length) throw new Error('the two filters answer differently');
    const pageBefore: number[] = [];
    const pageAfter: number[] = [];
    const unfiltered: number[] = [];
    for (let i = 0; i < config.samples; i++) {
      pageBefore.push(await timed(before));
      pageAfter.push(await timed(after));
      unfiltered.push(await timed(() => audit.page(org, {}, 50)));
    }

    // The relay's full pass over a collection of documents, none holding events (embeddedOutboxSource's query).
    const docs = conn.collection<{ _id: string; n: number }>('relay_scan');
    for (let i = 0; i < config.docs; i += 1000) {
      await docs.insertMany(Array.from({ length: Math.min(1000, config.docs - i) }, (_, k) => ({ _id: `d${i + k}`, n: i + k })));
    }
    const scan: number[] = [];
    for (let i = 0; i < config.samples; i++) {
      scan.push(
        await timed(() =>
          docs
            .find({ 'auditOutbox.0': { $exists: true } }, { projection: { _id: 1, auditOutbox: 1 } })
            .limit(200)
            .toArray(),
        ),
      );
    }

    // Retention: everything above expires (older than a day); one run deletes at most 50 batches of 1,000.
    const expiredCount = await events.countDocuments({});
    const cutOff = new Date(Date.now() + DAY_MS);
    // One batch's read alone (the sweep's query): 1,000 ids of expired events whose fan-out is done.
    const batchRead: number[] = [];
    for (let i = 0; i < config.samples; i++) {
      batchRead.push(
        await timed(() =>
          events
            .find({ occurredAt: { $lt: cutOff }, fanout: 'done' }, { projection: { _id: 1 } })
            .limit(1000)
            .toArray(),
        ),
      );
    }
    let swept = 0;
    const sweepMs = await timed(async () => {
      swept = await audit.sweep(cutOff);
    });

    console.log(
      JSON.stringify({
        ...config,
        store: MONGODB_URI ? 'mongodb' : 'embedded',
        filteredPageBeforeMs: round(median(pageBefore)),
        filteredPageAfterMs: round(median(pageAfter)),
        filteredPageRatio: Math.round((median(pageAfter) / median(pageBefore)) * 1000) / 1000,
        unfilteredPageMs: round(median(unfiltered)),
        relayFullPassMs: round(median(scan)),
        sweep: { expired: expiredCount, swept, ms: round(sweepMs), batchReadMs: round(median(batchRead)) },
      }),
    );
  } finally {
    await conn.dropDatabase().catch((err: unknown) => console.error('bench: could not drop', dbName, err));
    await conn.close();
    await store?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
