import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@usergraph/embedded-store';
import { serviceKeyFor } from '@usergraph/service-kit';
import { loadOrCreateDevSecrets } from './secrets.js';
import type { ServiceKeyEnv } from './env.js';

export const SERVICE_KEY_USAGE = 'usage: usergraph service-key --gateway   (prints GATEWAY_SERVICE_KEY; needs INTERNAL_SERVICE_SECRET)';

/**
 * `usergraph service-key --gateway`: the gateway's own service key, derived
 * from INTERNAL_SERVICE_SECRET (else an existing dev stack's .data/secrets.json;
 * never a freshly made one, whose key no subgraph would accept). The
 * gateway gets only this key (GATEWAY_SERVICE_KEY), never the root secret:
 * with it, it can sign its own calls and client-IP assertions and nothing else.
 * Rotating INTERNAL_SERVICE_SECRET changes it. Returns the exit code.
 */
export function serviceKeyCommand(args: string[], out: (line: string) => void, env: ServiceKeyEnv): number {
  let gateway: boolean | undefined;
  try {
    gateway = parseArgs({ args, options: { gateway: { type: 'boolean' } } }).values.gateway;
  } catch {
    gateway = undefined;
  }
  if (!gateway) return 2;
  const devSecrets = join(env.USERGRAPH_DATA_DIR ?? join(repoRoot(), '.data'), 'secrets.json');
  if (env.INTERNAL_SERVICE_SECRET === undefined && !existsSync(devSecrets))
    throw new Error(
      `INTERNAL_SERVICE_SECRET is not set and there is no development stack's ${devSecrets}: set it to the subgraphs' root secret`,
    );
  const root = env.INTERNAL_SERVICE_SECRET ?? loadOrCreateDevSecrets(devSecrets, env).secrets.INTERNAL_SERVICE_SECRET;
  out(serviceKeyFor(root, 'gateway'));
  return 0;
}
