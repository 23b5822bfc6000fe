/**
 * Gateways the bench starts beside the stack's own: a second usergraph
 * gateway pointed at counting proxies (P3), and Hive Gateway on the same
 * supergraph SDL and the same subgraphs (P2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { composeLocalSupergraph, waitUntilReady, type RunningStack } from '@usergraph/cli';
import { findFreePort, repoRoot } from '@usergraph/embedded-store';
import { request } from 'undici';
import { serviceKeyFor } from '@usergraph/service-kit';
import { HOME, PATH } from './env.js';

export interface ExtraGateway {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  };
}

/** Our gateway (apps/gateway/dist/main.js) with the environment startStack gives it, but other subgraph URLs. */
export async function startOurGateway(
  stack: RunningStack,
  subgraphs: { identity: string; 'org-users': string; licensing: string },
  env: Record<string, string>,
  logFile: string,
): Promise<ExtraGateway> {
  const port = await findFreePort();
  // File mode: the three subgraphs composed with these URLs.
  const supergraphFile = `${logFile}.supergraph.graphql`;
  writeFileSync(supergraphFile, composeLocalSupergraph(subgraphs));
  const child = spawn(process.execPath, [join(repoRoot(), 'apps/gateway/dist/main.js')], {
    cwd: repoRoot(),
    env: {
      PATH,
      APOLLO_TELEMETRY_DISABLED: '1',
      HOST: '127.0.0.1',
      GATEWAY_SERVICE_KEY: serviceKeyFor(stack.secrets.INTERNAL_SERVICE_SECRET, 'gateway'),
      JWKS_URL: `${stack.urls.identity}/.well-known/jwks.json`,
      ...env,
      PORT: String(port),
      IDENTITY_URL: subgraphs.identity,
      SUPERGRAPH_PATH: supergraphFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(base, { timeoutMs: 60_000, exited: () => child.exitCode !== null });
  return { url: `${base}/graphql`, pid: child.pid, stop: stopper(child) };
}

/** Where @graphql-hive/gateway's CLI is, if it is installed. */
export function hiveGatewayBin(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkgFile = require.resolve('@graphql-hive/gateway/package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin?: Record<string, string> | string; version: string };
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['hive-gateway'];
    return bin ? join(dirname(pkgFile), bin) : undefined;
  } catch {
    return undefined;
  }
}

export function hiveGatewayVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (JSON.parse(readFileSync(require.resolve('@graphql-hive/gateway/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * `hive-gateway supergraph <sdl>`: the three subgraphs composed as the registry
 * does, routed to the stack's URLs, one process (--fork 1,
 * like ours), the client's Authorization header propagated to the subgraphs
 * (which verify it again, as behind our gateway).
 */
export async function startHiveGateway(
  stack: RunningStack,
  workDir: string,
  env: Record<string, string>,
  logFile: string,
): Promise<ExtraGateway> {
  const bin = hiveGatewayBin();
  if (!bin) throw new Error('@graphql-hive/gateway is not installed');
  const sdl = composeLocalSupergraph(stack.urls);
  const sdlFile = join(workDir, 'hive-supergraph.graphql');
  writeFileSync(sdlFile, sdl);
  const configFile = join(workDir, 'hive-gateway.config.mjs');
  writeFileSync(
    configFile,
    `export const gatewayConfig = {
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => {
      const authorization = request.headers.get('authorization');
      return authorization ? { authorization } : {};
    },
  },
};
`,
  );
  const port = await findFreePort();
  const child = spawn(
    process.execPath,
    [bin, 'supergraph', sdlFile, '--config-path', configFile, '--host', '127.0.0.1', '--port', String(port), '--fork', '1'],
    {
      cwd: workDir,
      env: { PATH, HOME: HOME ?? workDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  // Hive Gateway answers /readiness once its schema is loaded.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hive-gateway exited with ${child.exitCode} (see ${logFile})`);
    const ok = await request(`${base}/readiness`)
      .then(async (r) => {
        await r.body.dump();
        return r.statusCode === 200;
      })
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`hive-gateway was not ready within 60 s (see ${logFile})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url: `${base}/graphql`, pid: child.pid, stop: stopper(child) };
}
