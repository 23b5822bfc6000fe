import { z } from 'zod';
import { baseServiceEnv, loadEnv } from '@usergraph/service-kit';
import { LOOPBACK_HOSTS, parseAllowedHosts } from './allowed-hosts.js';

export const registryEnvSchema = baseServiceEnv
  // The registry serves no /metrics (README: only the gateway and the three subgraphs do), so it takes no METRICS_* variable.
  .omit({ INTERNAL_SERVICE_SECRET: true, METRICS_PORT: true, METRICS_HOST: true })
  .extend({
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
    /**
     * Hosts a routing URL may name (`host` or `host:port`, comma-separated):
     * clients' Authorization headers go there. Unset: loopback only, and
     * refused in production, where only the operator knows the subgraphs' hosts.
     */
    REGISTRY_ALLOWED_URL_HOSTS: z
      .string()
      .optional()
      .refine((list) => {
        if (list === undefined) return true;
        try {
          parseAllowedHosts(list);
          return true;
        } catch {
          return false;
        }
      }, 'must be comma-separated host or host:port entries'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.REGISTRY_ALLOWED_URL_HOSTS === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['REGISTRY_ALLOWED_URL_HOSTS'],
        message: "is required in production: the subgraphs' hosts (host or host:port, comma-separated)",
      });
  })
  .transform((env) => ({ ...env, allowedUrlHosts: parseAllowedHosts(env.REGISTRY_ALLOWED_URL_HOSTS ?? LOOPBACK_HOSTS) }));

export type RegistryEnv = z.output<typeof registryEnvSchema>;

export const loadRegistryEnv = (): RegistryEnv => loadEnv(registryEnvSchema, 'registry');
