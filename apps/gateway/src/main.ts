import { createLogger, errSummary, onShutdownSignal } from '@usergraph/service-kit';
import { loadGatewayEnv } from './env.js';
import { startGateway } from './app.js';

async function main(): Promise<void> {
  const env = loadGatewayEnv();
  const logger = createLogger({ service: 'gateway', level: env.LOG_LEVEL });
  const gateway = await startGateway(env, logger);
  onShutdownSignal(logger, () => gateway.close());
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${errSummary(err).message}\n`);
  process.exit(1);
});
