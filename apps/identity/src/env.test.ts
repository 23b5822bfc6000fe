import { describe, expect, it } from 'vitest';
import { parseEnv } from '@usergraph/service-kit';
import { identityEnvSchema } from './env.js';

const base = {
  PORT: '0',
  APOLLO_TELEMETRY_DISABLED: '1',
  INTERNAL_SERVICE_SECRET: 'x'.repeat(32),
  JWKS_URL: 'http://127.0.0.1:4001/.well-known/jwks.json',
  MONGODB_URI: 'mongodb://127.0.0.1:27017',
  ORG_USERS_URL: 'http://127.0.0.1:4002',
  LICENSING_URL: 'http://127.0.0.1:4003',
  SIGNING_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('identity environment', () => {
  it('second pass, finding 4: production refuses to start with the outbox notifier (codes would never be delivered), naming NOTIFIER', () => {
    const result = parseEnv(identityEnvSchema, { ...base, NODE_ENV: 'production' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(
      /^NOTIFIER: must be smtp when NODE_ENV=production .*SMTP_URL.*ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION=1/,
    );
    // Said outright, too: NOTIFIER=outbox is refused the same way.
    expect(parseEnv(identityEnvSchema, { ...base, NODE_ENV: 'production', NOTIFIER: 'outbox' }).ok).toBe(false);
  });

  it('production starts with NOTIFIER=smtp and an SMTP_URL, or with the explicit allowance', () => {
    const smtp = parseEnv(identityEnvSchema, {
      ...base,
      NODE_ENV: 'production',
      NOTIFIER: 'smtp',
      SMTP_URL: 'smtps://user:pass@smtp.example.com:465',
    });
    expect(smtp.ok).toBe(true);
    const allowed = parseEnv(identityEnvSchema, { ...base, NODE_ENV: 'production', ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: '1' });
    expect(allowed.ok && allowed.env.NOTIFIER).toBe('outbox');
    expect(parseEnv(identityEnvSchema, { ...base, NODE_ENV: 'production', ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: 'yes' }).ok).toBe(false);
  });

  it('development and test keep the outbox by default', () => {
    for (const NODE_ENV of ['development', 'test']) {
      const result = parseEnv(identityEnvSchema, { ...base, NODE_ENV });
      expect(result.ok && result.env.NOTIFIER).toBe('outbox');
    }
  });
});
