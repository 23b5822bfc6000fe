import { z } from 'zod';

/**
 * Parses `source` (normally process.env) with a zod schema. Every bad variable
 * is reported at once, so an operator fixes them in one go.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
): { ok: true; env: z.output<S> } | { ok: false; problems: string[] } {
  const parsed = schema.safeParse(source);
  if (parsed.success) return { ok: true, env: parsed.data };
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
  return { ok: false, problems };
}

/** The one place a service reads process.env: bad values exit 1 with a clear message. */
export function loadEnv<S extends z.ZodType>(schema: S, serviceName: string): z.output<S> {
  const result = parseEnv(schema, process.env);
  if (result.ok) return result.env;
  process.stderr.write(`${serviceName}: invalid environment:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

const port = z.coerce.number().int().min(0).max(65535);
const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Variables every service shares; each app extends this in its own env.ts. */
export const baseServiceEnv = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port,
  /** Tells Apollo packages never to phone home; we refuse to start without it. */
  APOLLO_TELEMETRY_DISABLED: z.literal('1', {
    error: 'must be "1": usergraph never sends telemetry',
  }),
  /** Max request body in bytes, checked before JSON parsing. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(100_000),
  /** Shared secret for service-to-service calls (internal commands). */
  INTERNAL_SERVICE_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }),
  /** Prometheus `/metrics` on its own port (off when unset), so it never shares the public listener. */
  METRICS_PORT: port.optional(),
  /** Loopback by default: metrics reveal traffic shapes, so exposing them is the operator's explicit choice. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

const positiveInt = z.coerce.number().int().positive();

/** Limits on what one document may ask of the gateway (subgraphs behind it keep SUBGRAPH_DOCUMENT_LIMITS). */
export const documentLimitsEnv = z.object({
  MAX_QUERY_DEPTH: positiveInt.default(12),
  MAX_ALIASES: positiveInt.default(30),
  MAX_DIRECTIVES: positiveInt.default(20),
  MAX_TOKENS: positiveInt.default(3000),
  /** Fields the answer can hold, a paged field counting its selection once per item of a full page (cost-limit.ts). */
  MAX_QUERY_COST: positiveInt.default(10_000),
});

export const tokenVerificationEnv = z.object({
  /** Where the identity service publishes its public signing keys. */
  JWKS_URL: z.url(),
  TOKEN_ISSUER: z.string().min(1).default('usergraph'),
  TOKEN_AUDIENCE: z.string().min(1).default('usergraph'),
  /**
   * How long a subgraph trusts its last answer to "is this token's session (or
   * application) still live?": a revoked session stops working within this time.
   * 0 asks on every request.
   */
  REVOCATION_CHECK_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
});

/** Services whose data expires (identity, org-users). */
export const expiryEnv = z.object({
  /** Embedded store only (MongoDB uses TTL indexes): seconds between the expiry sweeper's passes, jittered by ±20 %. */
  EXPIRY_SWEEP_INTERVAL_SECONDS: z.coerce.number().positive().max(86_400).default(60),
});

/**
 * The shortest start-up lease: expiry compares the clocks of different
 * instances, so the lease must stay well above their skew (and above a GC or
 * I/O stall between two renewals).
 */
export const MIN_STARTUP_LEASE_SECONDS = 5;

/** Services with a one-time start-up build (identity, org-users, licensing): see packages/mongo/src/lease.ts. */
export const startupBuildEnv = z.object({
  /** Seconds a start-up build's lease lasts without renewal (renewed every third): how soon another instance takes over from a holder that died. */
  STARTUP_LEASE_SECONDS: z.coerce.number().min(MIN_STARTUP_LEASE_SECONDS).max(3_600).default(30),
  /** Seconds an instance waits for another instance's start-up build before giving up (see each service's app.ts for what it then does). */
  STARTUP_BUILD_WAIT_SECONDS: z.coerce.number().positive().max(86_400).default(600),
});

export const envPrimitives = { port, booleanFlag };

/**
 * Tracing is on only when an OTLP endpoint is configured; the SDK reads the
 * other standard OTEL_* variables itself. OTEL_SERVICE_NAME, when set, names
 * the service in traces instead of its own name.
 */
export function telemetryEnv(): { enabled: boolean; serviceName: string | undefined; trustedProxies: string } {
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  // As the SDK reads it: "true" in any case disables it, whatever else is set.
  const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  return {
    enabled: !disabled && !!endpoint,
    serviceName: process.env.OTEL_SERVICE_NAME === '' ? undefined : process.env.OTEL_SERVICE_NAME,
    // The gateway's proxy trust, for the client address on its spans (validated by the gateway's own schema).
    trustedProxies: process.env.TRUSTED_PROXIES ?? '',
  };
}

/**
 * USERGRAPH_LAUNCHER_PID, set by `npm start` and the test stacks: the process that started this
 * service. Unset (a service run on its own, in a container, under systemd) nothing watches it.
 */
export function launcherPidEnv(): number | undefined {
  const parsed = z.coerce.number().int().positive().safeParse(process.env.USERGRAPH_LAUNCHER_PID);
  return parsed.success ? parsed.data : undefined;
}
