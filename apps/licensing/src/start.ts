import { connectDatabase } from '@usergraph/mongo';
import { stopTelemetry } from '@usergraph/service-kit/telemetry';
import { createLogger, errSummary, exitStatusOf, onShutdownSignal } from '@usergraph/service-kit';
import { loadLicensingEnv } from './env.js';
import { startLicensing } from './app.js';

async function main(): Promise<void> {
  const env = loadLicensingEnv();
  const logger = createLogger({ service: 'licensing', level: env.LOG_LEVEL });
  const conn = await connectDatabase({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB, appName: 'licensing' });
  const service = await startLicensing(env, logger, conn);
  onShutdownSignal(logger, async () => {
    await service.close();
    await conn.close();
    await stopTelemetry(logger);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`licensing failed to start: ${errSummary(err).message}\n`);
  process.exit(exitStatusOf(err));
});
