import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayEnvSchema, type GatewayEnv } from '../env.js';
import { composeSupergraph } from './compose-supergraph.js';

/** The three subgraphs composed with every routing URL at `subgraphsUrl`, written where SUPERGRAPH_PATH can name it. */
export function writeTestSupergraph(subgraphsUrl: string): string {
  const result = composeSupergraph(subgraphsUrl);
  if (result.errors) throw new Error(`composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  const path = join(mkdtempSync(join(tmpdir(), 'usergraph-gateway-')), 'supergraph.graphql');
  writeFileSync(path, result.supergraphSdl);
  return path;
}

/** A gateway's environment for in-process tests: every subgraph URL at `subgraphsUrl` (a test issuer), from a supergraph file, plus overrides. */
export const testGatewayEnv = (subgraphsUrl: string, overrides: Record<string, string> = {}): GatewayEnv =>
  gatewayEnvSchema.parse({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    APOLLO_TELEMETRY_DISABLED: '1',
    GATEWAY_SERVICE_KEY: randomBytes(32).toString('base64url'),
    IDENTITY_URL: subgraphsUrl,
    SUPERGRAPH_PATH: writeTestSupergraph(subgraphsUrl),
    ...overrides,
  });
