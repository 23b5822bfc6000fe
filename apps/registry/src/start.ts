import { connectDatabase } from '@usergraph/mongo';
import { stopTelemetry } from '@usergraph/service-kit/telemetry';
import { createLogger, errSummary, exitStatusOf, onShutdownSignal } from '@usergraph/service-kit';
import { loadRegistryEnv } from './env.js';
import { startRegistry } from './app.js';

async function main(): Promise<void> {
  const env = loadRegistryEnv();
  const logger = createLogger({ service: 'registry', level: env.LOG_LEVEL });
  const conn = await connectDatabase({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB, appName: 'registry' });
  const service = await startRegistry(env, logger, conn);
  onShutdownSignal(logger, async () => {
    await service.close();
    await conn.close();
    await stopTelemetry(logger);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`registry failed to start: ${errSummary(err).message}\n`);
  process.exit(exitStatusOf(err));
});
