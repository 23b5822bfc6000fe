/**
 * P11 (issue 16): what one webhook endpoint costs B's register and D's
 * createUser. Auditing itself has no switch (every write carries its event,
 * by design), so the two sides are "one endpoint subscribed to every event
 * type, delivering to a receiver" vs "no enabled endpoint": the same stack,
 * the endpoint disabled and enabled between runs (off, on, off, on...).
 *
 * Its own stack (NODE_ENV=production, except org-users: production refuses
 * WEBHOOK_ALLOW_PRIVATE_URLS, and the receiver is a loopback server in this
 * process answering 204). Loads run in load.js, as every scenario's.
 *
 *   node bench/dist/webhook-cost.js '{"seconds":8,"rounds":2,"connections":4,"warmup":2}'
 *
 * Prints one line of JSON.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { bootstrap, connectToStack, parseBootstrapArgs, startStack } from '@usergraph/cli';
import { WEBHOOK_EVENT_TYPES } from '@usergraph/contracts';
import { MONGODB_URI } from './env.js';
import type { LoadConfig, LoadResult } from './load.js';
import { readConfigArg, runJsonChild, sleep } from './util.js';

export interface WebhookCostConfig {
  /** Seconds of measured load per run. */
  seconds: number;
  /** off/on pairs per operation. */
  rounds: number;
  connections: number;
  warmup: number;
}

type Side = 'off' | 'on';
interface OpResult {
  off: { requests: number; rps: number; p99: number };
  on: { requests: number; rps: number; p99: number };
  /** on rps / off rps. */
  ratio: number;
}
export type WebhookCostResult = WebhookCostConfig & {
  store: 'embedded' | 'mongodb';
  register: OpResult;
  createUser: OpResult;
  /** Deliveries the receiver accepted, and what was left undelivered 10 s after the last load. */
  received: number;
  deliveredBySide: Record<Side, number>;
  pendingAfter: number;
};

const PASSWORD = 'Bench-Webhook-Horse-9';
const REGISTER = JSON.stringify({
  query:
    'mutation BenchRegister($email: String!, $password: String!, $firstName: String!, $lastName: String!) ' +
    '{ register(email: $email, password: $password, firstName: $firstName, lastName: $lastName) { user { id } } }',
  variables: { email: 'bench.__UNIQUE__@register.test', password: PASSWORD, firstName: 'Bench', lastName: 'Register' },
});
const CREATE_USER = JSON.stringify({
  query: 'mutation BenchCreate($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }',
  variables: {
    input: {
      user: {
        firstName: 'Bench',
        lastName: 'Create',
        email: 'bench.__UNIQUE__@create.test',
        credentials: { username: 'u__UNIQUE__', password: PASSWORD },
      },
      requestedLicenses: ['VIEWER'],
      requestedGroups: ['DEFAULT'],
    },
  },
});

async function gql(url: string, query: string, variables: Record<string, unknown>, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
}

async function main() {
  const config = readConfigArg<WebhookCostConfig>(process.argv[2]);
  const prefix = MONGODB_URI ? `bench_${randomBytes(4).toString('hex')}_` : '';
  const dataDir = mkdtempSync(join(tmpdir(), 'usergraph-bench-webhooks-'));
  let received = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const stack = await startStack({
    dataDir,
    mongodbUri: MONGODB_URI,
    databasePrefix: prefix,
    ports: { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 },
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    serviceEnv: {
      identity: {
        RATE_LIMIT_PER_IP: '1000000000',
        RATE_LIMIT_PER_ACCOUNT: '1000000000',
        CODE_ISSUE_MAX_PER_IP: '1000000000',
        ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1',
      },
      'org-users': { NODE_ENV: 'development', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_ALLOW_HTTP_URLS: 'true' },
    },
    ensurePublicOrganization: true,
  });
  const db = await mongoose.createConnection(stack.mongodbUri).asPromise();
  try {
    const client = connectToStack({
      USERGRAPH_IDENTITY_URL: stack.urls.identity,
      USERGRAPH_ORG_USERS_URL: stack.urls['org-users'],
      USERGRAPH_LICENSING_URL: stack.urls.licensing,
      INTERNAL_SERVICE_SECRET: stack.secrets.INTERNAL_SERVICE_SECRET,
    });
    // B's register goes to the public organization; D's createUser to this one, by its ADMIN. Both get an endpoint.
    await bootstrap(
      client,
      parseBootstrapArgs(
        ['--org-slug', 'hooks', '--org-name', 'Bench hooks', '--admin-email', 'admin@hooks.test'].concat([
          '--admin-username',
          'admin',
          '--admin-password',
          PASSWORD,
        ]),
      ),
    );
    const login = await gql(
      stack.gatewayUrl,
      'mutation($i: String!, $p: String!) { login(organizationSlug: "hooks", identifier: $i, password: $p) { jwt } }',
      { i: 'admin', p: PASSWORD },
    );
    const adminJwt = login.data?.login?.jwt as string | undefined;
    if (!adminJwt) throw new Error(`admin login failed: ${JSON.stringify(login.errors)}`);
    const orgusers = db.useDb(`${prefix}orgusers`);
    const endpoints = orgusers.collection<{ _id: string; organizationId: string; auditOutbox?: unknown[] }>('webhook_endpoints');
    const deliveries = orgusers.collection<{ _id: string; status: string }>('webhook_deliveries');

    const created = await gql(
      stack.gatewayUrl,
      'mutation($url: String!, $t: [String!]!) { createWebhookEndpoint(url: $url, eventTypes: $t) { errors { message } endpoint { id } } }',
      { url: receiverUrl, t: WEBHOOK_EVENT_TYPES },
      adminJwt,
    );
    const hooksEndpoint = created.data?.createWebhookEndpoint?.endpoint?.id as string | undefined;
    if (!hooksEndpoint) throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(created.errors ?? created.data)}`);
    // The public organization has no ADMIN to sign in as: its endpoint is a copy of this one, moved there in the store.
    const publicOrg = await orgusers.collection<{ _id: string; slug: string }>('organizations').findOne({ slug: 'public' });
    if (!publicOrg) throw new Error('no public organization');
    const template = await endpoints.findOne({ _id: hooksEndpoint });
    const publicEndpoint = new mongoose.Types.ObjectId().toHexString();
    await endpoints.insertOne({ ...template!, _id: publicEndpoint, organizationId: publicOrg._id, auditOutbox: [] });
    const setEnabled = async (on: boolean) => {
      await endpoints.updateMany(
        { _id: { $in: [hooksEndpoint, publicEndpoint] } },
        { $set: { status: on ? 'ENABLED' : 'DISABLED', disabledReason: on ? null : 'ADMIN' } },
      );
    };

    const checks = [
      await gql(stack.gatewayUrl, JSON.parse(REGISTER).query, { ...JSON.parse(REGISTER).variables, email: 'check@register.test' }),
      await gql(
        stack.gatewayUrl,
        JSON.parse(CREATE_USER).query,
        JSON.parse(CREATE_USER.replaceAll('__UNIQUE__', 'check')).variables as Record<string, unknown>,
        adminJwt,
      ),
    ];
    if (checks[0]!.errors || !checks[0]!.data?.register?.user) throw new Error(`register failed: ${JSON.stringify(checks[0])}`);
    if (!checks[1]!.data?.createUser?.user) throw new Error(`createUser failed: ${JSON.stringify(checks[1])}`);

    const pids = ['gateway', 'identity', 'org-users', 'licensing'].map((s) => stack.pid(s as 'gateway')).concat(stack.store?.pid);
    const quietPids = pids.filter((p): p is number => typeof p === 'number');
    const deliveredBySide: Record<Side, number> = { off: 0, on: 0 };
    async function measure(body: string, token: string | undefined): Promise<OpResult> {
      const runs: Record<Side, LoadResult[]> = { off: [], on: [] };
      for (let round = 0; round < config.rounds; round++) {
        for (const side of ['off', 'on'] as const) {
          await setEnabled(side === 'on');
          const before = received;
          const r = await runJsonChild<LoadResult>('load.js', {
            url: stack.gatewayUrl,
            connections: config.connections,
            duration: config.seconds,
            warmup: config.warmup,
            body,
            uniquePlaceholder: '__UNIQUE__',
            timeout: 60,
            quietPids,
            returnLatencies: true,
            ...(token ? { tokenPool: [token] } : {}),
          } satisfies LoadConfig);
          if (r.ok !== r.requests) throw new Error(`P11: ${r.requests - r.ok} failed requests: ${r.sampleError ?? ''}`);
          deliveredBySide[side] += received - before;
          runs[side].push(r);
        }
      }
      const sum = (rs: LoadResult[]) => {
        const requests = rs.reduce((a, r) => a + r.ok, 0);
        const seconds = rs.reduce((a, r) => a + r.seconds, 0);
        const lat = rs.flatMap((r) => r.latencies ?? []).sort((a, b) => a - b);
        return { requests, rps: requests / seconds, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN };
      };
      const off = sum(runs.off);
      const on = sum(runs.on);
      return { off, on, ratio: on.rps / off.rps };
    }
    const register = await measure(REGISTER, undefined);
    const createUser = await measure(CREATE_USER, adminJwt);
    await setEnabled(true);
    // What the "on" runs queued is delivered in the end (bounded wait).
    for (let i = 0; i < 20 && (await deliveries.countDocuments({ status: 'PENDING' })) > 0; i++) await sleep(500);
    const result: WebhookCostResult = {
      ...config,
      store: MONGODB_URI ? 'mongodb' : 'embedded',
      register,
      createUser,
      received,
      deliveredBySide,
      pendingAfter: await deliveries.countDocuments({ status: 'PENDING' }),
    };
    console.log(JSON.stringify(result));
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    if (MONGODB_URI) for (const name of ['identity', 'orgusers', 'licensing']) await db.useDb(`${prefix}${name}`).dropDatabase();
    await db.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
