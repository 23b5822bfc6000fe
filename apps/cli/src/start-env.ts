import { z } from 'zod';
import { loadEnv } from '@usergraph/service-kit';

const port = z.coerce.number().int().min(0).max(65535);

/** `npm start`'s own settings; each service validates the rest of its environment itself. */
export const startEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' })
    .optional(),
  USERGRAPH_DATA_DIR: z.string().min(1).optional(),
  PORT: port.default(4000),
  IDENTITY_PORT: port.default(4001),
  ORG_USERS_PORT: port.default(4002),
  LICENSING_PORT: port.default(4003),
  REGISTRY_PORT: port.default(4004),
  /** The gateway's metrics port; identity, org-users and licensing get the next three (stack.ts METRICS_OFFSET). */
  METRICS_PORT: port.optional(),
  /** Only to print the metrics URLs: each service reads it itself. */
  METRICS_HOST: z.string().min(1).optional(),
  /** The crash-loop policy (stack.ts SUPERVISION): crashes in a row before giving up, and the run that clears them. */
  SUPERVISE_MAX_CRASHES: z.coerce.number().int().min(1).max(100).default(5),
  SUPERVISE_STABLE_SECONDS: z.coerce.number().positive().max(86_400).default(60),
});

export const loadStartEnv = () => loadEnv(startEnvSchema, 'usergraph start');
