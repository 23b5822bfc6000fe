import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateEncryptionKey } from '@usergraph/service-kit';

/** The secrets a development stack needs; production takes them from the environment. */
export interface StackSecrets {
  INTERNAL_SERVICE_SECRET: string;
  SIGNING_KEY_ENCRYPTION_KEY: string;
  NATIONAL_ID_ENCRYPTION_KEY: string;
  /** Root of the schema registry's credentials (each subgraph's key and the gateway's are derived from it). */
  REGISTRY_SECRET: string;
}

/**
 * Development only: generates the secrets once and keeps them in
 * <dataDir>/secrets.json (mode 600), so data encrypted by one run is readable
 * by the next. Values set in the environment win.
 */
export function loadOrCreateDevSecrets(file: string, env: NodeJS.ProcessEnv): { secrets: StackSecrets; generated: boolean } {
  let stored: Partial<StackSecrets> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StackSecrets>;
  const secrets: StackSecrets = {
    INTERNAL_SERVICE_SECRET: env.INTERNAL_SERVICE_SECRET ?? stored.INTERNAL_SERVICE_SECRET ?? randomBytes(32).toString('base64url'),
    SIGNING_KEY_ENCRYPTION_KEY: env.SIGNING_KEY_ENCRYPTION_KEY ?? stored.SIGNING_KEY_ENCRYPTION_KEY ?? generateEncryptionKey(),
    NATIONAL_ID_ENCRYPTION_KEY: env.NATIONAL_ID_ENCRYPTION_KEY ?? stored.NATIONAL_ID_ENCRYPTION_KEY ?? generateEncryptionKey(),
    REGISTRY_SECRET: env.REGISTRY_SECRET ?? stored.REGISTRY_SECRET ?? randomBytes(32).toString('base64url'),
  };
  const generated = Object.keys(secrets).some((k) => stored[k as keyof StackSecrets] === undefined);
  if (generated) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return { secrets, generated };
}
