import { connectDatabase } from '@usergraph/mongo';
import { stopTelemetry } from '@usergraph/service-kit/telemetry';
import { createLogger, errSummary, exitStatusOf, onShutdownSignal } from '@usergraph/service-kit';
import { loadIdentityEnv } from './env.js';
import { startIdentity } from './app.js';

async function main(): Promise<void> {
  const env = loadIdentityEnv();
  const logger = createLogger({ service: 'identity', level: env.LOG_LEVEL });
  const conn = await connectDatabase({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB, appName: 'identity' });
  const service = await startIdentity(env, logger, conn);
  onShutdownSignal(logger, async () => {
    await service.close();
    await conn.close();
    await stopTelemetry(logger);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`identity failed to start: ${errSummary(err).message}\n`);
  process.exit(exitStatusOf(err));
});
