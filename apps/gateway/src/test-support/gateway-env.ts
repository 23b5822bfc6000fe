import { randomBytes } from 'node:crypto';
import { gatewayEnvSchema, type GatewayEnv } from '../env.js';

/** A gateway's environment for in-process tests: every subgraph URL at `subgraphsUrl` (a test issuer), plus overrides. */
export const testGatewayEnv = (subgraphsUrl: string, overrides: Record<string, string> = {}): GatewayEnv =>
  gatewayEnvSchema.parse({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    APOLLO_TELEMETRY_DISABLED: '1',
    INTERNAL_SERVICE_SECRET: randomBytes(24).toString('hex'),
    IDENTITY_URL: subgraphsUrl,
    ORG_USERS_URL: subgraphsUrl,
    LICENSING_URL: subgraphsUrl,
    ...overrides,
  });
