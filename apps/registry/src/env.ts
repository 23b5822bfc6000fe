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
  /** Bounds on one candidate SDL: composition's cost grows much faster than its size. The real subgraphs are under 12 KB and 60 types. */
  REGISTRY_MAX_SDL_CHARS: z.coerce.number().int().min(1000).default(100_000),
  REGISTRY_MAX_SDL_TYPES: z.coerce.number().int().min(1).default(200),
  REGISTRY_MAX_SDL_FIELDS: z.coerce.number().int().min(1).default(2000),
  /** Checks, publishes and rollbacks per principal per minute. */
  REGISTRY_RATE_LIMIT: z.coerce.number().int().min(1).default(20),
});

export type RegistryEnv = z.output<typeof registryEnvSchema>;

export const loadRegistryEnv = (): RegistryEnv => loadEnv(registryEnvSchema, 'registry');
