#!/usr/bin/env node
/**
 * The usergraph CLI: `start` runs the whole supergraph; `bootstrap` creates an
 * organization, its admin and an application on a running stack; `outbox`
 * shows the messages (verification codes) the development notifier kept;
 * `reconcile` repairs what a crash in the middle of a cross-service write left;
 * `repair` recounts the counters a crash inside one service left off;
 * `schema` checks, publishes and rolls back subgraph schemas in the registry;
 * `service-key --gateway` prints the gateway's own key (GATEWAY_SERVICE_KEY);
 * `backup` and `restore` copy the embedded store's databases and secrets.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { identityCommands, licensingCommands, orgUsersCommands } from '@usergraph/contracts';
import { repoRoot } from '@usergraph/embedded-store';
import { startStack, writeStackState, removeStackState, type RunningStack } from './stack.js';
import { connectToStack, reconcileStack } from './stack-client.js';
import { bootstrap, describeFailure, parseBootstrapArgs } from './bootstrap.js';
import { loadStartEnv } from './start-env.js';
import { passThroughEnv } from './env.js';
import { SCHEMA_USAGE, schemaCommand, UsageError } from './schema-commands.js';
import { backup, BackupError, restore } from './backup.js';
import { SERVICE_KEY_USAGE, serviceKeyCommand } from './service-key.js';
import { loadBackupEnv, loadServiceKeyEnv } from './env.js';

async function start(): Promise<void> {
  const env = loadStartEnv();
  const dataDir = env.USERGRAPH_DATA_DIR ?? join(repoRoot(), '.data');
  const started = Date.now();
  // The console may go away (`npm start | head -1`): a write to a closed pipe fails with EPIPE.
  const open = { stdout: true, stderr: true };
  const say = (text: string): void => {
    if (open.stdout) process.stdout.write(text);
  };
  const warn = (text: string): void => {
    if (open.stderr) process.stderr.write(text);
  };

  // Ctrl-C, SIGTERM, a lost console and a crash loop stop everything, also while it is still starting.
  const starting = new AbortController();
  let stack: RunningStack | undefined;
  let exitCode: number | undefined;
  const stop = async (code: number): Promise<void> => {
    if (exitCode !== undefined) return;
    exitCode = code;
    say('Stopping...\n');
    // Still starting: startStack stops what it started and rejects (see below).
    if (!stack) return starting.abort();
    await stack.stop();
    removeStackState(dataDir);
    say('Stopped.\n');
    process.exit(code);
  };
  // The services run in their own process groups, so a closed terminal (SIGHUP) reaches only the launcher.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
  // Rather than dying and leaving the services running, the launcher stops them and exits 1.
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].on('error', (err: NodeJS.ErrnoException) => {
      open[stream] = false;
      warn(`usergraph: ${stream} failed (${err.code ?? err.message}): stopping everything.\n`);
      void stop(1);
    });
  }

  say(env.MONGODB_URI ? 'Using the MongoDB at MONGODB_URI.\n' : `Starting the embedded store (data in ${dataDir})...\n`);
  try {
    stack = await startStack({
      dataDir,
      mongodbUri: env.MONGODB_URI,
      ports: {
        gateway: env.PORT,
        identity: env.IDENTITY_PORT,
        'org-users': env.ORG_USERS_PORT,
        licensing: env.LICENSING_PORT,
        registry: env.REGISTRY_PORT,
      },
      metricsPort: env.METRICS_PORT,
      env: { NODE_ENV: env.NODE_ENV, LOG_LEVEL: env.LOG_LEVEL },
      ensurePublicOrganization: !env.MONGODB_URI && env.NODE_ENV !== 'production',
      // Every variable a service documents reaches it (NOTIFIER, SMTP_URL, LOGIN_*, OTEL_*...).
      passEnv: passThroughEnv(),
      supervise: {
        log: (line) => say(`${new Date().toISOString()} ${line}\n`),
        onGiveUp: (message) => {
          warn(`usergraph: ${message} Stopping everything.\n`);
          void stop(1);
        },
        maxCrashes: env.SUPERVISE_MAX_CRASHES,
        stableMs: env.SUPERVISE_STABLE_SECONDS * 1000,
      },
      signal: starting.signal,
      ownProcessGroups: true,
    });
  } catch (err) {
    if (!starting.signal.aborted) throw err;
    say('Stopped.\n');
    process.exit(exitCode);
  }
  writeStackState(dataDir, stack);
  const metricsHost = env.METRICS_HOST ?? '127.0.0.1';
  const metrics = Object.entries(stack.metricsPorts).map(
    ([name, port], i) => `  ${i === 0 ? 'metrics' : ''.padEnd(7)}     http://${metricsHost}:${port}/metrics (${name})`,
  );
  say(
    [
      `usergraph is ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  gateway     ${stack.gatewayUrl}`,
      `  identity    ${stack.urls.identity}/graphql`,
      `  org-users   ${stack.urls['org-users']}/graphql`,
      `  licensing   ${stack.urls.licensing}/graphql`,
      `  registry    ${stack.urls.registry} (usergraph schema list)`,
      `  store       ${stack.mongodbUri}`,
      `  logs        ${stack.logDir}`,
      ...metrics,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'bootstrap': {
      const args = parseBootstrapArgs(rest);
      const result = await bootstrap(connectToStack(), args);
      if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else
        process.stdout.write(
          `Created organization ${result.organization.slug} (${result.organization.id}), admin ` +
            `${result.admin.id}, application ${result.application.clientId}.\nClient secret (shown once): ` +
            `${result.application.clientSecret}\n`,
        );
      return;
    }
    case 'outbox': {
      const { values } = parseArgs({
        args: rest,
        options: { to: { type: 'string' }, limit: { type: 'string', default: '20' }, json: { type: 'boolean', default: false } },
      });
      const outbox = await connectToStack().identity.call(identityCommands.listOutbox, { to: values.to, limit: Number(values.limit) });
      if (values.json) return void process.stdout.write(`${JSON.stringify(outbox.messages, null, 2)}\n`);
      if (!outbox.enabled)
        return void process.stdout.write('The identity service sends mail by SMTP (NOTIFIER=smtp): there is no outbox.\n');
      if (outbox.messages.length === 0) return void process.stdout.write('The outbox is empty.\n');
      for (const m of outbox.messages) process.stdout.write(`${m.createdAt}  to ${m.to}\n  ${m.subject}\n  ${m.text}\n\n`);
      return;
    }
    case 'reconcile': {
      const { values } = parseArgs({
        args: rest,
        options: { 'min-age-seconds': { type: 'string', default: '300' }, json: { type: 'boolean', default: false } },
      });
      const report = await reconcileStack(connectToStack(), Number(values['min-age-seconds']));
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `Reconciled: ${JSON.stringify(report)}\n`);
      return;
    }
    case 'repair': {
      // Group members and seats from the assignments; the search index from the profiles.
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
      const stack = connectToStack();
      const report = {
        licensing: await stack.licensing.call(licensingCommands.repair, {}),
        orgUsers: await stack.orgUsers.call(orgUsersCommands.repair, {}),
      };
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `Repaired: ${JSON.stringify(report)}\n`);
      return;
    }
    case 'schema':
      try {
        process.exitCode = await schemaCommand(rest);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        process.stderr.write(`usergraph schema: ${err.message}\n${SCHEMA_USAGE}\n`);
        process.exitCode = 2;
      }
      return;
    case 'service-key':
      process.exitCode = serviceKeyCommand(rest, (line) => process.stdout.write(`${line}\n`), loadServiceKeyEnv());
      if (process.exitCode === 2) process.stderr.write(`${SERVICE_KEY_USAGE}\n`);
      return;
    case 'backup':
    case 'restore': {
      const { values } = parseArgs({
        args: rest,
        options: { out: { type: 'string' }, from: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      const dir = command === 'backup' ? values.out : values.from;
      if (!dir) {
        process.stderr.write(`usage: usergraph ${command === 'backup' ? 'backup --out DIR' : 'restore --from DIR'} [--json]\n`);
        process.exitCode = 2;
        return;
      }
      const env = loadBackupEnv(command);
      const dataDir = env.USERGRAPH_DATA_DIR ?? join(repoRoot(), '.data');
      try {
        if (command === 'backup') {
          const manifest = await backup(dataDir, dir, { mongodbUri: env.MONGODB_URI });
          const names = manifest.databases.map((d) => d.file).join(', ');
          process.stdout.write(values.json ? `${JSON.stringify(manifest, null, 2)}\n` : `Backed up ${names} to ${dir}.\n`);
        } else {
          const result = await restore(dataDir, dir, { mongodbUri: env.MONGODB_URI });
          process.stdout.write(
            values.json
              ? `${JSON.stringify(result, null, 2)}\n`
              : `Restored the backup of ${result.manifest.createdAt}.` +
                  (result.previous ? ` The previous store is kept in ${result.previous}.` : '') +
                  '\n',
          );
        }
      } catch (err) {
        if (!(err instanceof BackupError)) throw err;
        process.stderr.write(`usergraph ${command}: ${err.code}: ${err.message}\n`);
        process.exitCode = 1;
      }
      return;
    }
    default:
      process.stderr.write('usage: usergraph <start|bootstrap|outbox|reconcile|repair|schema|service-key|backup|restore> [options]\n');
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`usergraph: ${describeFailure(err)}\n`);
  process.exit(1);
});
