import { z } from 'zod';
import { baseServiceEnv, loadEnv } from '@usergraph/service-kit';

export const registryEnvSchema = baseServiceEnv.omit({ INTERNAL_SERVICE_SECRET: true }).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4004),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' }),
  MONGODB_DB: z.string().min(1).default('registry'),
  /** Root of every registry credential: each team's key is derived from it (see credentials.ts). Never given to a team. */
  REGISTRY_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }),
  /** An SDL can be far larger than a GraphQL request. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(2_000_000),
});

export type RegistryEnv = z.output<typeof registryEnvSchema>;

export const loadRegistryEnv = (): RegistryEnv => loadEnv(registryEnvSchema, 'registry');
