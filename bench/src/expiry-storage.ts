/**
 * P9 (issue 13, "Expiry that deletes"): storage stays flat under a steady
 * load of logins and registrations. Its own stack (embedded store, or fresh
 * databases on MONGODB_URI), with short expiries: refresh tokens live
 * `expirySeconds` (access tokens 1 s), rate-limit windows and the outbox's retention as long,
 * and the sweeper passes every `sweepSeconds`. Logins and B's registrations
 * run in closed loops for `loadSeconds`; the documents of each collection are
 * counted before, every `sampleSeconds` during the load, and `settleSeconds`
 * after it. Then the cost of one sweeper pass over `scanDocs` unexpired
 * documents (the embedded store scans for a date range) is timed.
 *
 *   node bench/dist/expiry-storage.js '{"loadSeconds":12,"expirySeconds":4,"sweepSeconds":1,"sampleSeconds":3,"settleSeconds":7,"scanDocs":10000}'
 *
 * Prints one line of JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { bootstrap, connectToStack, parseBootstrapArgs, startStack } from '@usergraph/cli';
import { startExpiry } from '@usergraph/mongo';
import { createLogger } from '@usergraph/service-kit';
import { MONGODB_URI } from './env.js';
import { readConfigArg, sleep } from './util.js';

export interface ExpiryStorageConfig {
  loadSeconds: number;
  expirySeconds: number;
  sweepSeconds: number;
  sampleSeconds: number;
  settleSeconds: number;
  /** Unexpired documents in the collection a timed sweeper pass reads (0: not timed). */
  scanDocs: number;
}

type Counts = Record<string, number>;
export type ExpiryStorageResult = ExpiryStorageConfig & {
  store: 'embedded' | 'mongodb';
  logins: number;
  registrations: number;
  failures: number;
  /** Seconds since the load started → documents per collection. */
  samples: Array<{ atSeconds: number; phase: 'before' | 'load' | 'after'; identity: Counts; orgusers: Counts }>;
  /** One sweeper pass (find with a limit, nothing expired) over `scanDocs` live documents: median of 5, ms. */
  passOverLiveMs?: number;
  /** One pass deleting 500 expired documents among `scanDocs` live ones, ms. */
  passDeleting500Ms?: number;
};

const PASSWORD = 'Bench-Expiry-Horse-9';
const IDENTITY = ['sessions', 'user_sessions', 'rate_limits', 'outbox', 'verification_codes', 'idempotency_keys', 'credentials', 'claims'];
const ORGUSERS = ['users', 'idempotency_keys'];

async function main() {
  const config = readConfigArg<ExpiryStorageConfig>(process.argv[2]);
  const mongodbUri = MONGODB_URI;
  const prefix = mongodbUri ? `bench_${randomBytes(4).toString('hex')}_` : '';
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-bench-expiry-'));
  const expiry = String(config.expirySeconds);
  const stack = await startStack({
    dataDir,
    mongodbUri,
    databasePrefix: prefix,
    ports: { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 },
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', EXPIRY_SWEEP_INTERVAL_SECONDS: String(config.sweepSeconds) },
    serviceEnv: {
      identity: {
        REFRESH_TOKEN_TTL_DAYS: String(config.expirySeconds / 86_400),
        // A session is kept until its access tokens have expired too.
        ACCESS_TOKEN_TTL_SECONDS: '1',
        RATE_LIMIT_WINDOW_SECONDS: expiry,
        OUTBOX_RETENTION_SECONDS: expiry,
        // One client IP on purpose: the limits count (their documents are what is measured) but never refuse.
        RATE_LIMIT_PER_IP: '1000000000',
        RATE_LIMIT_PER_ACCOUNT: '1000000000',
        CODE_ISSUE_MAX_PER_IP: '1000000000',
        ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1',
      },
    },
    ensurePublicOrganization: true,
  });
  const admin = await mongoose.createConnection(stack.mongodbUri).asPromise();
  try {
    const client = connectToStack({
      USERGRAPH_IDENTITY_URL: stack.urls.identity,
      USERGRAPH_ORG_USERS_URL: stack.urls['org-users'],
      USERGRAPH_LICENSING_URL: stack.urls.licensing,
      INTERNAL_SERVICE_SECRET: stack.secrets.INTERNAL_SERVICE_SECRET,
    });
    await bootstrap(
      client,
      parseBootstrapArgs([
        '--org-slug',
        'expiry',
        '--org-name',
        'Bench expiry',
        '--admin-email',
        'admin@expiry.test',
        '--admin-username',
        'admin',
        '--admin-password',
        PASSWORD,
      ]),
    );
    const identityDb = admin.useDb(`${prefix}identity`);
    const orgUsersDb = admin.useDb(`${prefix}orgusers`);
    const count = async (db: mongoose.Connection, names: string[]) =>
      Object.fromEntries(await Promise.all(names.map(async (n) => [n, await db.collection(n).countDocuments({})] as const)));
    const t0 = Date.now();
    const samples: ExpiryStorageResult['samples'] = [];
    const sample = async (phase: 'before' | 'load' | 'after') =>
      samples.push({
        atSeconds: Math.round((Date.now() - t0) / 100) / 10,
        phase,
        identity: await count(identityDb, IDENTITY),
        orgusers: await count(orgUsersDb, ORGUSERS),
      });
    await sample('before');

    const gql = async (query: string, variables: Record<string, unknown>) => {
      const res = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { errors?: unknown[]; data?: unknown };
      return res.ok && !body.errors;
    };
    const LOGIN = 'mutation($o: String!, $i: String!, $p: String!) { login(organizationSlug: $o, identifier: $i, password: $p) { jwt } }';
    const REGISTER =
      'mutation($e: String!, $p: String!) { register(email: $e, password: $p, firstName: "Bench", ' +
      'lastName: "Expiry", withVerificationCode: true) { user { id } } }';
    let logins = 0;
    let registrations = 0;
    let failures = 0;
    const end = t0 + config.loadSeconds * 1000;
    const loop = async (op: () => Promise<boolean>, counted: () => void) => {
      while (Date.now() < end) {
        if (await op().catch(() => false)) counted();
        else failures++;
      }
    };
    let n = 0;
    const sampler = (async () => {
      while (Date.now() + config.sampleSeconds * 1000 <= end) {
        await sleep(config.sampleSeconds * 1000);
        await sample('load');
      }
    })();
    // Two logins and one registration in flight: about what two cores hash.
    await Promise.all([
      loop(
        () => gql(LOGIN, { o: 'expiry', i: 'admin', p: PASSWORD }),
        () => logins++,
      ),
      loop(
        () => gql(LOGIN, { o: 'expiry', i: 'admin', p: PASSWORD }),
        () => logins++,
      ),
      loop(
        () => gql(REGISTER, { e: `bench.${Date.now().toString(36)}.${n++}@expiry.test`, p: PASSWORD }),
        () => registrations++,
      ),
      sampler,
    ]);
    await sample('load');
    await sleep(config.settleSeconds * 1000);
    await sample('after');

    let passOverLiveMs: number | undefined;
    let passDeleting500Ms: number | undefined;
    if (config.scanDocs > 0) {
      const scratch = await mongoose.createConnection(stack.mongodbUri, { dbName: `${prefix}expiry_scan` }).asPromise();
      const col = scratch.db!.collection<{ _id: string; expiresAt: Date; body: string }>('scan');
      const future = new Date(Date.now() + 3_600_000);
      for (let i = 0; i < config.scanDocs; i += 1000) {
        await col.insertMany(
          Array.from({ length: Math.min(1000, config.scanDocs - i) }, (_, k) => ({
            _id: `live${i + k}`,
            expiresAt: future,
            body: 'x'.repeat(200),
          })),
        );
      }
      const sweeper = await startExpiry(scratch, [{ collection: 'scan', field: 'expiresAt', afterSeconds: 0 }], {
        intervalMs: 86_400_000,
        logger: createLogger({ service: 'bench', level: 'silent' }),
      });
      const timed = async (fn: () => Promise<unknown>) => {
        const t = performance.now();
        await fn();
        return performance.now() - t;
      };
      if (sweeper.mode === 'sweeper') {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) times.push(await timed(() => sweeper.sweepOnce()));
        passOverLiveMs = times.sort((a, b) => a - b)[2];
        await col.insertMany(Array.from({ length: 500 }, (_, k) => ({ _id: `gone${k}`, expiresAt: new Date(0), body: 'x'.repeat(200) })));
        passDeleting500Ms = await timed(() => sweeper.sweepOnce());
      }
      await sweeper.stop();
      await scratch.dropDatabase();
      await scratch.close();
    }

    const result: ExpiryStorageResult = {
      ...config,
      store: mongodbUri ? 'mongodb' : 'embedded',
      logins,
      registrations,
      failures,
      samples,
      passOverLiveMs,
      passDeleting500Ms,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (mongodbUri) for (const name of ['identity', 'orgusers', 'licensing']) await admin.useDb(`${prefix}${name}`).dropDatabase();
    await admin.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`expiry-storage failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
