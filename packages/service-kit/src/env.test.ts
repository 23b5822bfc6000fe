import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseServiceEnv, envPrimitives, MIN_STARTUP_LEASE_SECONDS, parseEnv, startupBuildEnv, tokenVerificationEnv } from './env.js';

const schema = baseServiceEnv.extend(tokenVerificationEnv.shape);

const good = {
  PORT: '4100',
  APOLLO_TELEMETRY_DISABLED: '1',
  INTERNAL_SERVICE_SECRET: 'x'.repeat(32),
  JWKS_URL: 'http://127.0.0.1:4001/.well-known/jwks.json',
};

describe('parseEnv', () => {
  it('parses a good environment, coercing numbers and applying defaults', () => {
    const result = parseEnv(schema, good);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.env).toMatchObject({
      PORT: 4100,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      MAX_BODY_BYTES: 100_000,
      TOKEN_ISSUER: 'usergraph',
      TOKEN_AUDIENCE: 'usergraph',
    });
  });

  it('reports every bad variable at once, by name', () => {
    const secretValue = 'tooShortSecretValue';
    const result = parseEnv(schema, {
      PORT: 'eighty',
      APOLLO_TELEMETRY_DISABLED: '0',
      INTERNAL_SERVICE_SECRET: secretValue,
      JWKS_URL: 'not a url',
      LOG_LEVEL: 'verbose',
      NODE_ENV: 'staging',
      MAX_BODY_BYTES: '10',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = (v: string) => result.problems.filter((p) => p.startsWith(`${v}: `));
    for (const v of [
      'PORT',
      'APOLLO_TELEMETRY_DISABLED',
      'INTERNAL_SERVICE_SECRET',
      'JWKS_URL',
      'LOG_LEVEL',
      'NODE_ENV',
      'MAX_BODY_BYTES',
    ]) {
      expect(named(v), v).toHaveLength(1);
    }
    expect(named('APOLLO_TELEMETRY_DISABLED')[0]).toContain('never sends telemetry');
    expect(named('INTERNAL_SERVICE_SECRET')[0]).toContain('at least 32 characters');
    // A problem report goes to stderr: it must not echo the secret.
    expect(result.problems.join('\n')).not.toContain(secretValue);
  });

  it('reports missing required variables together', () => {
    const result = parseEnv(schema, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const vars = result.problems.map((p) => p.split(':')[0]).sort();
    expect(vars).toEqual(['APOLLO_TELEMETRY_DISABLED', 'INTERNAL_SERVICE_SECRET', 'JWKS_URL', 'PORT']);
  });

  it('names a problem of the whole object "(env)"', () => {
    const refined = z.object({ A: z.string().optional() }).refine((e) => e.A !== undefined, { error: 'A is needed' });
    expect(parseEnv(refined, {})).toEqual({ ok: false, problems: ['(env): A is needed'] });
  });

  it('booleanFlag takes true/false/1/0 only', () => {
    const s = z.object({ F: envPrimitives.booleanFlag });
    expect(parseEnv(s, { F: 'true' })).toEqual({ ok: true, env: { F: true } });
    expect(parseEnv(s, { F: '0' })).toEqual({ ok: true, env: { F: false } });
    expect(parseEnv(s, { F: 'yes' }).ok).toBe(false);
  });

  it('port rejects out-of-range values', () => {
    const s = z.object({ P: envPrimitives.port });
    expect(parseEnv(s, { P: '0' })).toEqual({ ok: true, env: { P: 0 } });
    expect(parseEnv(s, { P: '65536' }).ok).toBe(false);
    expect(parseEnv(s, { P: '-1' }).ok).toBe(false);
  });
});

describe('start-up lease', () => {
  it('refuses a lease shorter than MIN_STARTUP_LEASE_SECONDS (expiry compares instance clocks), naming the variable', () => {
    expect(startupBuildEnv.parse({}).STARTUP_LEASE_SECONDS).toBe(30);
    expect(startupBuildEnv.parse({ STARTUP_LEASE_SECONDS: String(MIN_STARTUP_LEASE_SECONDS) }).STARTUP_LEASE_SECONDS).toBe(
      MIN_STARTUP_LEASE_SECONDS,
    );
    const short = startupBuildEnv.safeParse({ STARTUP_LEASE_SECONDS: '1' });
    expect(short.success).toBe(false);
    expect(short.error?.issues.map((i) => i.path.join('.'))).toEqual(['STARTUP_LEASE_SECONDS']);
  });
});
