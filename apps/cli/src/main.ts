#!/usr/bin/env node
/**
 * The usergraph CLI: `start` runs the whole supergraph; `bootstrap` creates an
 * organization, its admin and an application on a running stack; `outbox`
 * shows the messages (verification codes) the development notifier kept;
 * `reconcile` repairs what a crash in the middle of a cross-service write left;
 * `repair` recounts the counters a crash inside one service left off;
 * `schema` checks, publishes and rolls back subgraph schemas in the registry;
 * `backup` and `restore` copy the embedded store's databases and secrets.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { identityCommands, licensingCommands, orgUsersCommands } from '@usergraph/contracts';
import { repoRoot } from '@usergraph/embedded-store';
import { startStack, writeStackState, removeStackState } from './stack.js';
import { connectToStack } from './stack-client.js';
import { bootstrap, describeFailure, parseBootstrapArgs } from './bootstrap.js';
import { loadStartEnv } from './start-env.js';
import { passThroughEnv } from './env.js';
import { SCHEMA_USAGE, schemaCommand, UsageError } from './schema-commands.js';
import { backup, BackupError, restore } from './backup.js';
import { loadBackupEnv } from './env.js';

async function start(): Promise<void> {
  const env = loadStartEnv();
  let stop: (code: number) => Promise<void> = async (code) => process.exit(code);
  const dataDir = env.USERGRAPH_DATA_DIR ?? join(repoRoot(), '.data');
  const started = Date.now();
  process.stdout.write(env.MONGODB_URI ? 'Using the MongoDB at MONGODB_URI.\n' : `Starting the embedded store (data in ${dataDir})...\n`);
  const stack = await startStack({
    dataDir,
    mongodbUri: env.MONGODB_URI,
    ports: {
      gateway: env.PORT,
      identity: env.IDENTITY_PORT,
      'org-users': env.ORG_USERS_PORT,
      licensing: env.LICENSING_PORT,
      registry: env.REGISTRY_PORT,
    },
    env: { NODE_ENV: env.NODE_ENV, LOG_LEVEL: env.LOG_LEVEL },
    ensurePublicOrganization: !env.MONGODB_URI && env.NODE_ENV !== 'production',
    // Every variable a service documents reaches it (NOTIFIER, SMTP_URL, LOGIN_*...).
    passEnv: passThroughEnv(),
    supervise: {
      log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
      onGiveUp: (message) => {
        process.stderr.write(`usergraph: ${message} Stopping everything.\n`);
        void stop(1);
      },
    },
  });
  writeStackState(dataDir, stack);
  process.stdout.write(
    [
      `usergraph is ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  gateway     ${stack.gatewayUrl}`,
      `  identity    ${stack.urls.identity}/graphql`,
      `  org-users   ${stack.urls['org-users']}/graphql`,
      `  licensing   ${stack.urls.licensing}/graphql`,
      `  registry    ${stack.urls.registry} (usergraph schema list)`,
      `  store       ${stack.mongodbUri}`,
      `  logs        ${stack.logDir}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  stop = async (code) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping...\n');
    await stack.stop();
    removeStackState(dataDir);
    process.stdout.write('Stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
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
      // Profiles first: removing a stuck profile also removes what it left in identity and licensing.
      const { values } = parseArgs({
        args: rest,
        options: { 'min-age-seconds': { type: 'string', default: '300' }, json: { type: 'boolean', default: false } },
      });
      const minAgeSeconds = Number(values['min-age-seconds']);
      const stack = connectToStack();
      const report = {
        orgUsers: await stack.orgUsers.call(orgUsersCommands.reconcile, { minAgeSeconds }),
        identity: await stack.identity.call(identityCommands.reconcile, { minAgeSeconds }),
        licensing: await stack.licensing.call(licensingCommands.reconcile, { minAgeSeconds }),
      };
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
      process.stderr.write('usage: usergraph <start|bootstrap|outbox|reconcile|repair|schema|backup|restore> [options]\n');
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`usergraph: ${describeFailure(err)}\n`);
  process.exit(1);
});
