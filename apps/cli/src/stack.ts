import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { createWriteStream, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { orgUsersCommands } from '@usergraph/contracts';
import { findFreePort, repoRoot, startEmbeddedStore, type EmbeddedStore } from '@usergraph/embedded-store';
import { createInternalClient, EXIT_PORT_TAKEN, READER, registryKeyFor, serviceKeyFor } from '@usergraph/service-kit';
import { loadOrCreateDevSecrets, type StackSecrets } from './secrets.js';

export const SERVICE_NAMES = ['identity', 'org-users', 'licensing', 'registry', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface StackOptions {
  /** Holds the embedded store's files, the dev secrets and the service logs. */
  dataDir: string;
  /** Use this MongoDB instead of starting the embedded store. */
  mongodbUri?: string;
  /** 0 picks a free port; the registry's, when not given, too. */
  ports: Record<Exclude<ServiceName, 'registry'>, number> & { registry?: number };
  /** Prefix of the database names, so test stacks can share one server. */
  databasePrefix?: string;
  /** Extra environment for every service (NODE_ENV, LOG_LEVEL, limits...). */
  env?: Record<string, string>;
  /** Per-service extra environment. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /**
   * Development default (CONTRACTS): make sure the organization `public`
   * exists with self-signup on, so B's `register` works at once.
   */
  ensurePublicOrganization?: boolean;
  /**
   * `npm start`'s environment: each service gets every variable its own env schema
   * documents from here (NOTIFIER, SMTP_URL, LOGIN_*, ARGON2_*...). The stack's own
   * values (ports, URLs, databases, secrets) win.
   */
  passEnv?: NodeJS.ProcessEnv;
  /**
   * Prometheus: the gateway's metrics listener on this port, identity's on +1,
   * org-users' on +2, licensing's on +3 (METRICS_OFFSET); 0 picks a free port
   * for each. Unset: no metrics listener.
   */
  metricsPort?: number;
  /**
   * Restart a store or service that exits on its own, with backoff; give up
   * (onGiveUp) after maxCrashes crashes in a row, a crash counting "in a row"
   * unless the run before it lasted stableMs (SUPERVISION).
   */
  supervise?: { log(line: string): void; onGiveUp(message: string): void; maxCrashes?: number; stableMs?: number };
  /** Aborting during start-up stops whatever has started and makes startStack reject (Ctrl-C while starting). */
  signal?: AbortSignal;
  /**
   * Each process in its own process group (npm start): a terminal's Ctrl-C then
   * reaches only the launcher, which stops the gateway first and the store last,
   * instead of every process at once (a service's second signal cuts its drain short).
   */
  ownProcessGroups?: boolean;
}

/** The services with a metrics listener under `npm start`, by offset from METRICS_PORT (the registry has none). */
export const METRICS_OFFSET: Partial<Record<ServiceName, number>> = { gateway: 0, identity: 1, 'org-users': 2, licensing: 3 };

export interface RunningStack {
  gatewayUrl: string;
  urls: Record<ServiceName, string>;
  /** Each metrics listener's port, when metricsPort was given. */
  metricsPorts: Partial<Record<ServiceName, number>>;
  mongodbUri: string;
  store?: EmbeddedStore;
  secrets: StackSecrets;
  logDir: string;
  pid(name: ServiceName): number | undefined;
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  restart(name: ServiceName): Promise<void>;
  killStore(signal?: NodeJS.Signals): Promise<void>;
  restartStore(): Promise<void>;
  stop(): Promise<void>;
}

const ENTRY: Record<ServiceName, string> = {
  identity: 'apps/identity/dist/main.js',
  'org-users': 'apps/org-users/dist/main.js',
  licensing: 'apps/licensing/dist/main.js',
  registry: 'apps/registry/dist/main.js',
  gateway: 'apps/gateway/dist/main.js',
};

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Polls GET <url>/readyz until it answers 200: readiness, never a fixed sleep.
 * With `service`, the answer must also name that service, so a port mix-up
 * (another process on the port we picked) is an error, not a false "ready".
 */
export async function waitUntilReady(url: string, opts: { timeoutMs: number; service?: string; exited?: () => boolean }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 25;
  while (Date.now() < deadline) {
    if (opts.exited?.()) throw new Error(`${url} exited before it was ready`);
    // Refused, timed out or not JSON means "not ready yet": asked again until the deadline, which says so.
    /* eslint-disable no-restricted-syntax -- see above */
    const answer = await request(`${url}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 })
      .then(async (res) => ({
        status: res.statusCode,
        body: (await res.body.json().catch(() => undefined)) as { service?: string } | undefined,
      }))
      .catch(() => undefined);
    /* eslint-enable no-restricted-syntax */
    if (answer?.status === 200) {
      if (opts.service === undefined || answer.body?.service === opts.service) return;
      throw new WrongServiceError(`${url} is answered by ${answer.body?.service ?? 'another server'}, not ${opts.service}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`${url} was not ready within ${opts.timeoutMs} ms`);
}

/**
 * On one machine (npm start, the tests, the bench), identity's password
 * hashing would take every core from the other services during a burst of
 * registrations. It runs at a lower CPU priority: hashing is throughput work,
 * the other requests are latency work. (Separate machines or CPU quotas do
 * the same in production.)
 */
/** Each service's env schema, by its built module and export: the single list of what a service reads. */
const ENV_SCHEMA: Record<ServiceName, [string, string]> = {
  identity: ['apps/identity/dist/env.js', 'identityEnvSchema'],
  'org-users': ['apps/org-users/dist/env.js', 'orgUsersEnvSchema'],
  licensing: ['apps/licensing/dist/env.js', 'licensingEnvSchema'],
  registry: ['apps/registry/dist/env.js', 'registryEnvSchema'],
  gateway: ['apps/gateway/dist/env.js', 'gatewayEnvSchema'],
};

interface SchemaLike {
  shape?: Record<string, unknown>;
  def?: { in?: SchemaLike };
}

/** An object schema's keys, through the pipes a `.transform` adds. */
function shapeKeys(schema: SchemaLike, what: string): string[] {
  if (schema.shape) return Object.keys(schema.shape);
  if (schema.def?.in) return shapeKeys(schema.def.in, what);
  throw new Error(`${what} is not an object schema: cannot tell which variables it reads`);
}

/**
 * What each service takes from `env`: the variables its schema documents (only
 * those set) and every OTEL_* variable, which the OpenTelemetry SDK reads
 * itself. Each service is named by its own OTEL_SERVICE_NAME, so the traces of
 * five processes never merge under one name. METRICS_PORT is the launcher's:
 * it gives each service its own (planPorts).
 */
async function documentedEnv(root: string, env: NodeJS.ProcessEnv): Promise<Record<ServiceName, Record<string, string>>> {
  const result = {} as Record<ServiceName, Record<string, string>>;
  const otel = Object.keys(env).filter((k) => k.startsWith('OTEL_') && k !== 'OTEL_SERVICE_NAME');
  for (const name of SERVICE_NAMES) {
    const [file, exportName] = ENV_SCHEMA[name];
    // By path, like the entry points: the launcher runs the built services, not their packages.
    const mod = (await import(pathToFileURL(join(root, file)).href)) as Record<string, SchemaLike>;
    const keys = [...shapeKeys(mod[exportName]!, `${file} ${exportName}`).filter((k) => k !== 'METRICS_PORT'), ...otel];
    // The gateway's schema names INTERNAL_SERVICE_SECRET only to refuse it: it never gets the root secret.
    const passed = name === 'gateway' ? keys.filter((k) => k !== 'INTERNAL_SERVICE_SECRET') : keys;
    result[name] = {
      ...Object.fromEntries(passed.flatMap((k) => (env[k] === undefined ? [] : [[k, env[k]]]))),
      OTEL_SERVICE_NAME: name,
    };
  }
  return result;
}

/**
 * Supervision's crash-loop policy. A crash counts "in a row" unless the run
 * before it lasted stableMs; the backoff before a restart doubles with each
 * crash in a row (0.5 s, 1 s, 2 s ... at most 10 s), and the launcher gives up
 * at maxCrashes in a row. A run of stableMs resets both, so a slow crash loop
 * (a crash every 20 s) is caught as surely as a fast one, while a service that
 * crashes once an hour is restarted every time.
 */
export const SUPERVISION = { maxCrashes: 5, stableMs: 60_000, firstBackoffMs: 500, maxBackoffMs: 10_000 } as const;

/** One crash under the policy: how many in a row it makes, and whether to give up or restart after `delayMs`. */
export function judgeCrash(
  inARowBefore: number,
  ranMs: number,
  policy: { maxCrashes: number; stableMs: number },
): { inARow: number; giveUp: boolean; delayMs: number } {
  const inARow = ranMs >= policy.stableMs ? 1 : inARowBefore + 1;
  const delayMs = Math.min(SUPERVISION.firstBackoffMs * 2 ** (inARow - 1), SUPERVISION.maxBackoffMs);
  return { inARow, giveUp: inARow >= policy.maxCrashes, delayMs };
}

const NICENESS: Partial<Record<ServiceName, number>> = { identity: 10 };

// Services still running when the launcher exits (however it exits) are told to
// stop, so a launcher that dies never leaves a stack holding its ports (the
// embedded store has the same hook).
const liveServices = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackService(child: ChildProcess): void {
  liveServices.add(child);
  child.once('exit', () => liveServices.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveServices) c.kill('SIGTERM');
  });
}

/** A port we picked was taken by someone else before the service bound it. */
class PortTakenError extends Error {}

/** Another server answers on the port a service should have. */
export class WrongServiceError extends Error {}

/** How many times the services are started on freshly picked ports before giving up. */
const PORT_ATTEMPTS = 3;

/**
 * Starts the embedded store (unless a MongoDB URI is given), the three
 * subgraphs and the gateway, each as its own process, waiting for each one's
 * readiness. Used by `npm start` and by the end-to-end tests.
 */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const root = repoRoot();
  mkdirSync(opts.dataDir, { recursive: true });
  const logDir = join(opts.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const { secrets } = loadOrCreateDevSecrets(join(opts.dataDir, 'secrets.json'), process.env);

  const wantedPorts: Record<ServiceName, number> = { registry: 0, ...opts.ports };
  const base = opts.metricsPort;
  const wantedMetrics = Object.fromEntries(
    base === undefined ? [] : Object.entries(METRICS_OFFSET).map(([name, offset]) => [name, base === 0 ? 0 : base + offset]),
  ) as Partial<Record<ServiceName, number>>;
  const fixed = [
    ...SERVICE_NAMES.map((name) => ({ port: wantedPorts[name], what: `port ${wantedPorts[name]} (${name})` })),
    ...Object.entries(wantedMetrics).map(([name, port]) => ({ port, what: `metrics port ${port} (${name}, from METRICS_PORT)` })),
  ].filter((p) => p.port !== 0);
  for (const [i, p] of fixed.entries()) {
    const clash = fixed.find((q, j) => j < i && q.port === p.port);
    if (clash) throw new Error(`${p.what} is also ${clash.what}: give each its own port.`);
    if (p.port > 65535) throw new Error(`${p.what} is not a port: METRICS_PORT must leave room for 4 ports.`);
    // Otherwise a second stack would find the first one's /readyz and call itself ready.
    if (!(await isPortFree(p.port))) {
      throw new Error(
        `${p.what} is already in use: is another usergraph running? ` +
          'Set PORT, IDENTITY_PORT, ORG_USERS_PORT, LICENSING_PORT, REGISTRY_PORT or METRICS_PORT.',
      );
    }
  }
  let store: EmbeddedStore | undefined;
  const storeDir = join(opts.dataDir, 'ferretdb');
  const startStore = async (port?: number) =>
    startEmbeddedStore({ dataDir: storeDir, port, logFile: join(logDir, 'store.log'), detached: opts.ownProcessGroups });
  // The store binds first, so the ports picked below can never be its own.
  if (!opts.mongodbUri) store = await startStore();
  if (opts.signal?.aborted) {
    await store?.stop();
    opts.signal.throwIfAborted();
  }
  const mongodbUri = opts.mongodbUri ?? store!.uri;
  const prefix = opts.databasePrefix ?? '';
  const passed = opts.passEnv ? await documentedEnv(root, opts.passEnv) : undefined;

  const children = new Map<ServiceName, ChildProcess>();
  /** Children we stopped on purpose: their exit is no crash. */
  const stopped = new WeakSet<ChildProcess>();
  let shuttingDown = false;
  let storeStopping = false;
  let supervising = false;
  type Supervised = ServiceName | 'store';
  /** Crashes in a row, and when the current run started serving. */
  const streak = new Map<Supervised, number>();
  const upSince = new Map<Supervised, number>();
  const timers = new Set<NodeJS.Timeout>();
  const policy = {
    maxCrashes: opts.supervise?.maxCrashes ?? SUPERVISION.maxCrashes,
    stableMs: opts.supervise?.stableMs ?? SUPERVISION.stableMs,
  };
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  /** A store or serving service exited on its own (or failed to restart): restart it after a backoff, or give up on a crash loop. */
  function crashed(what: Supervised, how: string): void {
    const sup = opts.supervise;
    if (!sup || !supervising || shuttingDown) return;
    const started = upSince.get(what);
    upSince.delete(what);
    // A failed restart never ran: it is always one more in a row.
    const ranMs = started === undefined ? 0 : Date.now() - started;
    const { inARow, giveUp, delayMs } = judgeCrash(streak.get(what) ?? 0, ranMs, policy);
    streak.set(what, inARow);
    const log = what === 'store' ? join(logDir, 'store.log') : join(logDir, `${what}.log`);
    const event = started === undefined ? how : `${how} after ${seconds(ranMs)}`;
    if (giveUp) {
      shuttingDown = true;
      sup.onGiveUp(
        `${what} ${event}: ${inARow} crashes in a row, none after a run of ${seconds(policy.stableMs)}: a crash loop, giving up. See ${log}.`,
      );
      return;
    }
    sup.log(
      `${what} ${event}; restarting it in ${seconds(delayMs)} ` +
        `(crash ${inARow} in a row of ${policy.maxCrashes} allowed; a run of ${seconds(policy.stableMs)} clears them; log: ${log}).`,
    );
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (shuttingDown) return;
      const restarted = what === 'store' ? startStore(store!.port).then(watchStore) : startService(what);
      restarted.then(
        () => sup.log(`${what} is back.`),
        // A restart that is never ready counts as one more crash; its process, if still up, goes first.
        (err: unknown) =>
          void (what === 'store' ? Promise.resolve() : kill(what)).then(() =>
            crashed(what, `failed to restart (${(err as Error).message.split('\n')[0]})`),
          ),
      );
    }, delayMs);
    timers.add(timer);
  }

  /** Watches the store started last: its exit while supervising is a crash. */
  function watchStore(started: EmbeddedStore): void {
    store = started;
    upSince.set('store', Date.now());
    void started.exited.then((code) => {
      if (store === started && !storeStopping) crashed('store', `exited (${code === null ? 'signal' : `code ${code}`})`);
    });
  }
  const exited = new Set<ServiceName>();
  let urls = {} as Record<ServiceName, string>;
  let metricsPorts: Partial<Record<ServiceName, number>> = {};
  let envOf = {} as Record<ServiceName, Record<string, string>>;

  /** Picks the ephemeral ports (distinct: the kernel may hand one out twice once each probe closes) and derives every service's environment. */
  async function planPorts(): Promise<void> {
    const ports = { ...wantedPorts };
    metricsPorts = { ...wantedMetrics };
    const picked = new Set([...Object.values(ports), ...Object.values(metricsPorts)]);
    const pick = async (): Promise<number> => {
      let port: number;
      do port = await findFreePort();
      while (picked.has(port));
      picked.add(port);
      return port;
    };
    for (const name of SERVICE_NAMES) {
      if (ports[name] === 0) ports[name] = await pick();
      if (metricsPorts[name] === 0) metricsPorts[name] = await pick();
    }
    urls = Object.fromEntries(SERVICE_NAMES.map((n) => [n, `http://127.0.0.1:${ports[n]}`])) as Record<ServiceName, string>;
    const common = {
      PATH: process.env.PATH ?? '',
      APOLLO_TELEMETRY_DISABLED: '1',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      INTERNAL_SERVICE_SECRET: secrets.INTERNAL_SERVICE_SECRET,
      JWKS_URL: `${urls.identity}/.well-known/jwks.json`,
      // Each service stops when this process is gone, even killed outright (see onShutdownSignal).
      USERGRAPH_LAUNCHER_PID: String(process.pid),
      ...opts.env,
    };
    const { INTERNAL_SERVICE_SECRET: _root, ...gatewayCommon } = common;
    envOf = {
      identity: {
        ...common,
        PORT: String(ports.identity),
        MONGODB_URI: mongodbUri,
        MONGODB_DB: `${prefix}identity`,
        ORG_USERS_URL: urls['org-users'],
        LICENSING_URL: urls.licensing,
        SIGNING_KEY_ENCRYPTION_KEY: secrets.SIGNING_KEY_ENCRYPTION_KEY,
      },
      'org-users': {
        ...common,
        PORT: String(ports['org-users']),
        MONGODB_URI: mongodbUri,
        MONGODB_DB: `${prefix}orgusers`,
        LICENSING_URL: urls.licensing,
        IDENTITY_URL: urls.identity,
        NATIONAL_ID_ENCRYPTION_KEY: secrets.NATIONAL_ID_ENCRYPTION_KEY,
      },
      licensing: {
        ...common,
        PORT: String(ports.licensing),
        MONGODB_URI: mongodbUri,
        MONGODB_DB: `${prefix}licensing`,
        ORG_USERS_URL: urls['org-users'],
        IDENTITY_URL: urls.identity,
      },
      registry: {
        ...common,
        PORT: String(ports.registry),
        MONGODB_URI: mongodbUri,
        MONGODB_DB: `${prefix}registry`,
        REGISTRY_SECRET: secrets.REGISTRY_SECRET,
        // Every service here listens on 127.0.0.1 only; set even in development so NODE_ENV=production (where it is required) starts too.
        REGISTRY_ALLOWED_URL_HOSTS: '127.0.0.1',
      },
      // The gateway knows identity (tokens, JWKS) and the registry; every subgraph's URL comes from the supergraph.
      gateway: {
        ...gatewayCommon,
        // Its own key only: the gateway refuses the root secret (apps/gateway/src/env.ts).
        GATEWAY_SERVICE_KEY: serviceKeyFor(secrets.INTERNAL_SERVICE_SECRET, 'gateway'),
        PORT: String(ports.gateway),
        IDENTITY_URL: urls.identity,
        REGISTRY_URL: urls.registry,
        REGISTRY_KEY: registryKeyFor(secrets.REGISTRY_SECRET, READER),
      },
    };
    for (const [name, port] of Object.entries(metricsPorts)) envOf[name as ServiceName].METRICS_PORT = String(port);
  }

  async function startService(name: ServiceName): Promise<void> {
    opts.signal?.throwIfAborted();
    exited.delete(name);
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [join(root, ENTRY[name])], {
      cwd: root,
      env: { ...passed?.[name], ...envOf[name], ...opts.serviceEnv?.[name] },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.ownProcessGroups === true,
    });
    const niceness = NICENESS[name];
    if (niceness !== undefined && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, niceness);
        // eslint-disable-next-line no-restricted-syntax -- a refused priority is no failure
      } catch {
        // Not permitted here: the service still runs, at the normal priority.
      }
    }
    let lastStderr = '';
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.stderr.on('data', (chunk: Buffer) => (lastStderr = chunk.toString('utf8').trim().slice(-500)));
    // Set by the exit listener, so tsc cannot see it change: typed wide on purpose.
    let exitStatus = null as number | null;
    child.once('exit', (status) => {
      exitStatus = status;
      exited.add(name);
    });
    children.set(name, child);
    trackService(child);
    try {
      await waitUntilReady(urls[name], { timeoutMs: 60_000, service: name, exited: () => exited.has(name) });
      // Serving: from now on an exit nobody asked for is a crash.
      upSince.set(name, Date.now());
      child.once('exit', (code, signal) => {
        if (!stopped.has(child)) crashed(name, `exited (${signal ?? `code ${code}`})`);
      });
    } catch (err) {
      // Say why it died: its last words, once its stderr is fully read.
      if (exited.has(name) && !child.stderr.closed) await new Promise((resolve) => child.stderr.once('close', resolve));
      const message = lastStderr ? `${(err as Error).message}: ${lastStderr}` : (err as Error).message;
      // Told by the child's exit status or our own error class, never by the words on its stderr.
      const portTaken = err instanceof WrongServiceError || (exited.has(name) && exitStatus === EXIT_PORT_TAKEN);
      throw wantedPorts[name] === 0 && portTaken ? new PortTakenError(message) : new Error(message);
    }
  }

  async function kill(name: ServiceName, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = children.get(name);
    if (!child || exited.has(name)) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stopped.add(child);
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  }

  // Aborted while starting: what runs is stopped, so each wait below ends (a service that exits is never ready).
  const abortStart = () => void Promise.all(SERVICE_NAMES.map((name) => kill(name)));
  opts.signal?.addEventListener('abort', abortStart, { once: true });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await planPorts();
        await Promise.all((['org-users', 'licensing', 'identity', 'registry'] as const).map(startService));
        // Each subgraph publishes as part of its deployment; here, the three local ones before the gateway starts.
        // Imported here: it loads every subgraph's schema and composition, which other commands never need.
        const { publishLocalSubgraphs } = await import('./local-subgraphs.js');
        await publishLocalSubgraphs({ registryUrl: urls.registry, registrySecret: secrets.REGISTRY_SECRET, urls });
        await startService('gateway');
        if (opts.ensurePublicOrganization) {
          await createInternalClient({
            from: 'cli',
            to: 'org-users',
            baseUrl: urls['org-users'],
            secret: secrets.INTERNAL_SERVICE_SECRET,
          }).call(orgUsersCommands.ensureOrganization, { slug: 'public', name: 'Public', selfSignup: true });
        }
        opts.signal?.throwIfAborted();
        break;
      } catch (err) {
        for (const name of SERVICE_NAMES) await kill(name);
        // A picked port can be taken between the pick and the bind: pick again.
        if (err instanceof PortTakenError && attempt < PORT_ATTEMPTS && !opts.signal?.aborted) continue;
        await store?.stop();
        // Aborted: that is the reason, whichever wait noticed it first.
        opts.signal?.throwIfAborted();
        throw err;
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', abortStart);
  }

  // Supervised from here on: every piece has started once.
  if (store) watchStore(store);
  supervising = true;

  return {
    gatewayUrl: `${urls.gateway}/graphql`,
    urls,
    metricsPorts,
    mongodbUri,
    get store() {
      return store;
    },
    secrets,
    logDir,
    pid: (name) => (exited.has(name) ? undefined : children.get(name)?.pid),
    kill,
    restart: async (name) => {
      await kill(name);
      await startService(name);
    },
    killStore: async (signal = 'SIGKILL') => {
      if (!store) throw new Error('the stack does not own its database');
      store.kill(signal);
      await store.exited;
    },
    restartStore: async () => {
      if (!store) throw new Error('the stack does not own its database');
      watchStore(await startStore(store.port));
    },
    async stop() {
      shuttingDown = true;
      for (const timer of timers) clearTimeout(timer);
      // Gateway first, so no new work reaches the subgraphs while they drain.
      await kill('gateway');
      await Promise.all((['identity', 'org-users', 'licensing', 'registry'] as const).map((n) => kill(n)));
      storeStopping = true;
      await store?.stop();
    },
  };
}

/** Where `npm start` tells other commands (the CLI) how to reach the running stack. */
export const stackStateFile = (dataDir: string) => join(dataDir, 'stack.json');

export function writeStackState(dataDir: string, stack: RunningStack): void {
  writeFileSync(stackStateFile(dataDir), JSON.stringify({ urls: stack.urls, pid: process.pid }, null, 2), { mode: 0o600 });
}

export function removeStackState(dataDir: string): void {
  rmSync(stackStateFile(dataDir), { force: true });
}
