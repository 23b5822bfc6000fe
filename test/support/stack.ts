import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import mongoose from 'mongoose';
import { request } from 'undici';
import {
  bootstrap,
  connectToStack,
  parseBootstrapArgs,
  reconcileStack,
  startStack,
  writeStackState,
  type BootstrapResult,
  type RunningStack,
  type ServiceName,
  type StackClient,
  type StackOptions,
} from '@usergraph/cli';
import { identityCommands } from '@usergraph/contracts';
import { repoRoot } from '@usergraph/embedded-store';

export const ADMIN_PASSWORD = 'Correct-Horse-Battery-9';

const EPHEMERAL = { gateway: 0, identity: 0, 'org-users': 0, licensing: 0 };

/**
 * Every suite's requests come from 127.0.0.1, far faster than a person: the
 * per-IP and per-account request limits are loosened for test stacks (a suite
 * that tests them sets its own through serviceEnv). Login lockouts and the
 * code budgets keep their defaults.
 */
const TEST_IDENTITY_LIMITS = { RATE_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_ACCOUNT: '100000', CODE_ISSUE_MAX_PER_IP: '100000' };
/** Suites that run NODE_ENV=production read codes from the outbox, which production refuses unless allowed. */
const TEST_IDENTITY_OUTBOX = { ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1' };

/** What each test stack was started with: crash() sets a fault point in the environment the stack reads at each (re)start. */
const optionsOf = new WeakMap<RunningStack, StackOptions>();

/** A whole stack on ephemeral ports with a fresh data dir (embedded store), or fresh databases on MONGODB_URI. */
export async function startTestStack(overrides: Partial<StackOptions> = {}) {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'usergraph-e2e-'));
  const options: StackOptions = {
    dataDir,
    mongodbUri: process.env.MONGODB_URI,
    ports: EPHEMERAL,
    databasePrefix: process.env.MONGODB_URI ? `e2e_${randomBytes(4).toString('hex')}_` : '',
    env: { LOG_LEVEL: 'info' },
    ensurePublicOrganization: true,
    ...overrides,
    // Crash suites reconcile at once (`--min-age-seconds 0`); production keeps the 60 s floor.
    ...(overrides.env?.NODE_ENV === 'production'
      ? {}
      : { env: { RECONCILE_MIN_MARKER_AGE_SECONDS: '0', ...(overrides.env ?? { LOG_LEVEL: 'info' }) } }),
    serviceEnv: {
      ...overrides.serviceEnv,
      identity: { ...TEST_IDENTITY_LIMITS, ...TEST_IDENTITY_OUTBOX, ...overrides.serviceEnv?.identity },
    },
  };
  const stack = await startStack(options);
  optionsOf.set(stack, options);
  writeStackState(dataDir, stack);
  printLogsOnFailure(stack);
  return { stack, options, dataDir };
}

/** STYLE #8: when a test fails, show what the services said. */
function printLogsOnFailure(stack: RunningStack) {
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    for (const file of readdirSync(stack.logDir)) {
      const lines = readFileSync(join(stack.logDir, file), 'utf8').trim().split('\n').slice(-30);
      process.stderr.write(`\n----- ${file} (last 30 lines) -----\n${lines.join('\n')}\n`);
    }
  });
}

/** Every password the suites use: none may ever reach a log line. */
export const TEST_PASSWORDS = [
  'Correct-Horse-Battery-9',
  'maple-Syrup-1867!',
  'womprats!1977',
  'Alderaan-Forever-77',
  'Kessel-Run-12-Parsecs',
  'Second-Password-22',
  'Third-Password-333',
  'Nobody-Home-4242',
  'wrong-password-1',
  'not-the-password-1',
  'Rogue-Squadron-22',
];

/** What must never appear in a log: tokens, refresh tokens, client secrets, registry keys, SSN-shaped numbers and the test passwords. */
const SECRET_PATTERNS: Array<[string, RegExp]> = [
  ['a JWT', /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/],
  ['a refresh token', /\b[a-f0-9]{24}\.[A-Za-z0-9_-]{43}\b/],
  ['a client secret', /secret_[A-Za-z0-9_-]{20,}/],
  ['a schema registry key', /\b(reader|subgraph:[a-z][a-z0-9-]*)\.[A-Za-z0-9_-]{43}\b/],
  ['a national ID', /\b\d{3}-\d{2}-\d{4}\b|\b536228841\b/],
  ...TEST_PASSWORDS.map((p): [string, RegExp] => ['a password', new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))]),
];

/** Issue 6: scans every log line a stack wrote; throws naming the file, line and kind of secret. */
export function assertLogsHoldNoSecrets(logDir: string): number {
  let lines = 0;
  for (const file of readdirSync(logDir)) {
    for (const [i, line] of readFileSync(join(logDir, file), 'utf8').split('\n').entries()) {
      lines++;
      for (const [what, pattern] of SECRET_PATTERNS) {
        if (pattern.test(line)) throw new Error(`${file}:${i + 1} holds ${what}`);
      }
    }
  }
  return lines;
}

/** Teardown: scan the stack's logs for secrets, then delete its data directory. */
export function removeDir(dir: string) {
  const logDir = join(dir, 'logs');
  try {
    if (existsSync(logDir)) assertLogsHoldNoSecrets(logDir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  /** The gateway's request id, which it forwards to every subgraph call it makes. */
  requestId?: string;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

/** POSTs one GraphQL operation. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.body.json()) as Omit<GraphQLResponse<T>, 'status'>;
  const requestId = res.headers['x-request-id'];
  return { status: res.statusCode, requestId: typeof requestId === 'string' ? requestId : undefined, ...body };
}

const CLI = join(repoRoot(), 'apps/cli/dist/main.js');
const exec = promisify(execFile);

/** Runs the operator CLI (`npm run usergraph -- <args>`) against the stack in `dataDir`: its stdout; a non-zero exit throws. */
export async function cli(dataDir: string, ...args: string[]): Promise<string> {
  return (await exec(process.execPath, [CLI, ...args], { env: { ...process.env, USERGRAPH_DATA_DIR: dataDir } })).stdout;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the operator CLI with exactly `env`, as a script or a CI job does: a non-zero exit is a result, not a throw. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `usergraph bootstrap`'s arguments for organization `slug`, its admin `admin` (ADMIN_PASSWORD) and an application. */
export const bootstrapArgs = (slug: string, extraArgs: string[] = []): string[] => [
  '--org-slug',
  slug,
  '--org-name',
  `Org ${slug}`,
  '--admin-email',
  `admin@${slug}.test`,
  '--admin-username',
  'admin',
  '--admin-password',
  ADMIN_PASSWORD,
  '--permissions',
  'users:register,organization-users:write,organization-users:read',
  '--json',
  ...extraArgs,
];

/**
 * The CLI's own client to the stack in `dataDir` (found as `usergraph` finds it: stack.json and the dev
 * secrets), used in this process: a CLI process costs a Node start-up and its imports (~0.5 s of CPU).
 */
async function withCliClient<T>(dataDir: string, use: (client: StackClient) => Promise<T>): Promise<T> {
  const client = connectToStack({ ...process.env, USERGRAPH_DATA_DIR: dataDir });
  try {
    return await use(client);
  } finally {
    await Promise.all([client.identity.close(), client.orgUsers.close(), client.licensing.close()]);
  }
}

/**
 * `usergraph bootstrap --json` with bootstrapArgs, run in this process (the CLI's own argument parser and
 * bootstrap function; foundation.e2e runs the real command).
 */
export async function bootstrapOrganization(dataDir: string, slug: string, extraArgs: string[] = []): Promise<BootstrapResult> {
  return withCliClient(dataDir, (client) => bootstrap(client, parseBootstrapArgs(bootstrapArgs(slug, extraArgs))));
}

/**
 * `usergraph reconcile --min-age-seconds 0 --json`, at once, run in this process (the CLI's own reconcileStack;
 * reconcile.e2e runs the real command): its report.
 */
export async function reconcile(dataDir: string): Promise<Awaited<ReturnType<typeof reconcileStack>>> {
  return withCliClient(dataDir, (client) => reconcileStack(client, 0));
}

/** Waits (bounded, 5 s) until `name`'s process is gone; fails the test if it is still there. */
export async function expectExited(stack: RunningStack, name: ServiceName, message = `${name} exited`): Promise<void> {
  for (let i = 0; i < 100 && stack.pid(name) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
  expect(stack.pid(name), message).toBeUndefined();
}

/**
 * A crash at a FAULT_INJECTION point: restarts `name` with the point set, runs `write` (the request the crash
 * cuts short; it asserts what its client sees), waits for the process to be gone and clears the point. The
 * service stays down, so the test can look at what the crash left before a restart's first pass moves it.
 */
export async function crashLeavingDown(
  stack: RunningStack,
  name: ServiceName,
  point: string,
  write: () => Promise<unknown>,
): Promise<void> {
  const options = optionsOf.get(stack);
  if (!options) throw new Error('a crash needs a stack from startTestStack');
  const env = ((options.serviceEnv ??= {})[name] ??= {});
  env.FAULT_INJECTION = point;
  try {
    await stack.restart(name);
    await write();
    await expectExited(stack, name, `${name} crashed at ${point}`);
  } finally {
    delete env.FAULT_INJECTION;
    // A write that failed, or a process that did not crash, leaves it running armed: later tests must not meet it.
    if (stack.pid(name) !== undefined) await stack.restart(name);
  }
}

/** crashLeavingDown, then `name` started again, clean: the stack serves as before, with what the crash left. */
export async function crash(stack: RunningStack, name: ServiceName, point: string, write: () => Promise<unknown>): Promise<void> {
  await crashLeavingDown(stack, name, point, write);
  await stack.restart(name);
}

/** Direct database access, to count what was really stored. */
export async function openDatabase(stack: RunningStack, prefix: string, name: 'identity' | 'orgusers' | 'licensing') {
  const conn = await mongoose.createConnection(stack.mongodbUri, { dbName: `${prefix}${name}` }).asPromise();
  return conn;
}

export const uniqueEmail = (label: string) => `${label}.${randomBytes(4).toString('hex')}@example.ca`;

export interface OutboxMessage {
  to: string;
  subject: string;
  text: string;
}

/**
 * The development outbox for `to`, newest first: what `usergraph outbox --to <to> --json` prints, through
 * the same command, in this process (verification.e2e runs the real command).
 */
export async function readOutbox(dataDir: string, to: string): Promise<OutboxMessage[]> {
  return withCliClient(dataDir, async (client) => (await client.identity.call(identityCommands.listOutbox, { to, limit: 20 })).messages);
}

/**
 * Codes are issued after the request is answered (issue 12, finding 8): polls
 * the outbox (bounded, 30 s) until `to` holds at least `count` messages; newest first.
 */
export async function waitForOutbox(dataDir: string, to: string, count: number): Promise<OutboxMessage[]> {
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 50))) {
    const mails = await readOutbox(dataDir, to);
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) throw new Error(`${to} never received ${count} message(s)`);
  }
}

/** The OAuth 2.0 client-credentials grant at the gateway, with a form body. */
export async function applicationToken(gatewayUrl: string, clientId: string, clientSecret: string, scope?: string): Promise<string> {
  const res = await request(gatewayUrl.replace('/graphql', '/oauth/token'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      ...(scope ? { scope } : {}),
    }).toString(),
  });
  const body = (await res.body.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token request failed: ${res.statusCode} ${JSON.stringify(body)}`);
  return body.access_token;
}

export const LOGIN = `mutation Login($organizationSlug: String!, $identifier: String!, $password: String!) {
  login(organizationSlug: $organizationSlug, identifier: $identifier, password: $password) { _id jwt expires refreshToken }
}`;

/** Signs in and returns the session. */
export async function login(gatewayUrl: string, organizationSlug: string, identifier: string, password: string) {
  const res = await gql(gatewayUrl, LOGIN, { organizationSlug, identifier, password });
  if (res.errors) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  return res.data!.login as { _id: string; jwt: string; expires: number; refreshToken: string };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Polls `check` every 100 ms until it holds; throws naming `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
