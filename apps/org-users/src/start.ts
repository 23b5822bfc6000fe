import { connectDatabase } from '@usergraph/mongo';
import { stopTelemetry } from '@usergraph/service-kit/telemetry';
import { createLogger, errSummary, exitStatusOf, onShutdownSignal } from '@usergraph/service-kit';
import { loadOrgUsersEnv } from './env.js';
import { startOrgUsers } from './app.js';

async function main(): Promise<void> {
  const env = loadOrgUsersEnv();
  const logger = createLogger({ service: 'org-users', level: env.LOG_LEVEL });
  const conn = await connectDatabase({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB, appName: 'org-users' });
  const service = await startOrgUsers(env, logger, conn);
  onShutdownSignal(logger, async () => {
    await service.close();
    await conn.close();
    await stopTelemetry(logger);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`org-users failed to start: ${errSummary(err).message}\n`);
  process.exit(exitStatusOf(err));
});
