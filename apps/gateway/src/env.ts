import { z } from 'zod';
import { baseServiceEnv, compileTrustedProxies, documentLimitsEnv, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';

const positiveInt = z.coerce.number().int().positive();

export const gatewayEnvSchema = baseServiceEnv
  .omit({ INTERNAL_SERVICE_SECRET: true })
  .extend(documentLimitsEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    /**
     * The gateway's own service key (`usergraph service-key --gateway`, derived from INTERNAL_SERVICE_SECRET):
     * signs its calls to identity and its client-IP assertions, and can speak for no other service.
     */
    // The shape serviceKeyFor prints (32 bytes, base64url): a pasted root secret (openssl's base64, 44 characters) is refused.
    GATEWAY_SERVICE_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, { error: 'must be the 43-character key that usergraph service-key --gateway prints' }),
    /**
     * Refused: the gateway parses anonymous internet input, and the root secret would let whoever subverts it
     * sign as every service (forge internal commands and audit events).
     */
    INTERNAL_SERVICE_SECRET: z
      .never({
        error: 'must not be set for the gateway: give it only GATEWAY_SERVICE_KEY (usergraph service-key --gateway)',
      })
      .optional(),
    /** identity's base URL: its JWKS, OAuth token endpoint and session checks (its GraphQL is routed by the supergraph like any subgraph's). */
    IDENTITY_URL: z.url(),
    /** The schema registry the supergraph comes from (docs/schema-registry.md), with the gateway's read key. */
    REGISTRY_URL: z.url().optional(),
    REGISTRY_KEY: z.string().min(1).optional(),
    /** Air-gapped alternative to the registry: a composed supergraph file, watched for changes. */
    SUPERGRAPH_PATH: z.string().min(1).optional(),
    /** How often the registry (or the file) is asked for a newer supergraph. */
    SUPERGRAPH_POLL_INTERVAL_MS: positiveInt.min(100).default(10_000),
    /** How long a new supergraph's subgraphs have to answer the health check before it is refused. */
    SUPERGRAPH_HEALTH_CHECK_TIMEOUT_MS: positiveInt.default(5000),
    /**
     * First-party subgraphs (comma-separated names), the only ones sent the client's
     * Authorization header and the signed client IP: any other team's subgraph gets
     * no client credential (docs/schema-registry.md).
     */
    GATEWAY_TRUSTED_SUBGRAPHS: z
      .string()
      .default('identity,org-users,licensing')
      .transform(
        (list) =>
          new Set(
            list
              .split(',')
              .map((name) => name.trim())
              .filter((name) => name !== ''),
          ),
      ),
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
  })
  .superRefine((env, ctx) => {
    if ((env.REGISTRY_URL === undefined) === (env.SUPERGRAPH_PATH === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['REGISTRY_URL'], message: 'set either REGISTRY_URL (with REGISTRY_KEY) or SUPERGRAPH_PATH' });
    }
    if (env.REGISTRY_URL !== undefined && env.REGISTRY_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['REGISTRY_KEY'], message: 'is required with REGISTRY_URL' });
    }
  });

export type GatewayEnv = z.output<typeof gatewayEnvSchema>;

export const loadGatewayEnv = (): GatewayEnv => loadEnv(gatewayEnvSchema, 'gateway');
