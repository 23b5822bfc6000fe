import { z } from 'zod';
import { baseServiceEnv, compileTrustedProxies, documentLimitsEnv, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';

const positiveInt = z.coerce.number().int().positive();

export const gatewayEnvSchema = baseServiceEnv.extend(documentLimitsEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Base URLs of the subgraphs; GraphQL is served at <url>/graphql. */
  IDENTITY_URL: z.url(),
  ORG_USERS_URL: z.url(),
  LICENSING_URL: z.url(),
  TOKEN_ISSUER: z.string().min(1).default('usergraph'),
  TOKEN_AUDIENCE: z.string().min(1).default('usergraph'),
  REVOCATION_CHECK_TTL_MS: tokenVerificationEnv.shape.REVOCATION_CHECK_TTL_MS,
  /** Operations in one batched request (a JSON array body); 1, the default, turns batching off. */
  MAX_BATCH_SIZE: positiveInt.max(100).default(1),
  /**
   * Proxies whose X-Forwarded-For is believed (comma-separated CIDRs or
   * addresses). Empty, the default, trusts none: the client IP is the socket's.
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .refine((list) => {
      try {
        compileTrustedProxies(list);
        return true;
      } catch {
        return false;
      }
    }, 'must be comma-separated IP addresses or CIDRs'),
});

export type GatewayEnv = z.output<typeof gatewayEnvSchema>;

export const loadGatewayEnv = (): GatewayEnv => loadEnv(gatewayEnvSchema, 'gateway');
