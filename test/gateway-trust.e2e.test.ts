/**
 * Issue 12, finding 8: what the gateway vouches for. (a) Its client-IP
 * assertion is not an internal-command credential, and every internal command
 * names the services that may call it. (b) The client IP comes from
 * X-Forwarded-For only through TRUSTED_PROXIES, and IPv6 clients are keyed by
 * their /64. The client IP is read back from the session a login stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { createServiceTokenCache, GATEWAY_ASSERTION_HEADER, serviceKeyFor, signServiceToken } from '@usergraph/service-kit';
import { postCommand } from '@usergraph/service-kit/testing';
import { ADMIN_PASSWORD, bootstrapOrganization, gql, LOGIN, openDatabase, removeDir, startTestStack } from './support/stack.js';

/** Starts a stack, bootstraps `acme`, and reads the client IP each login was recorded with. */
function stackWith(gatewayEnv: Record<string, string>) {
  const ctx = {} as { stack: RunningStack; dataDir: string; acme: BootstrapResult; identityDb: Connection };
  beforeAll(async () => {
    const started = await startTestStack({ serviceEnv: { gateway: gatewayEnv } });
    ctx.stack = started.stack;
    ctx.dataDir = started.dataDir;
    ctx.identityDb = await openDatabase(started.stack, started.options.databasePrefix ?? '', 'identity');
    ctx.acme = await bootstrapOrganization(started.dataDir, 'acme');
  });
  afterAll(async () => {
    await ctx.identityDb?.close();
    await ctx.stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(ctx.dataDir);
  });
  /** Logs the admin in with these headers; returns the client IP identity recorded for the session. */
  const clientIpOfLogin = async (headers: Record<string, string>): Promise<string> => {
    const res = await gql(
      ctx.stack.gatewayUrl,
      LOGIN,
      { organizationSlug: 'acme', identifier: 'admin', password: ADMIN_PASSWORD },
      headers,
    );
    expect(res.errors).toBeUndefined();
    const session = await ctx.identityDb.collection('sessions').findOne({ _id: res.data!.login._id });
    return session!.clientIp as string;
  };
  return { ctx, clientIpOfLogin };
}

describe('finding 8 with the default settings (TRUSTED_PROXIES empty)', () => {
  const { ctx, clientIpOfLogin } = stackWith({});

  it('finding 8a: a gateway client-IP assertion is not an internal-command credential', async () => {
    const secret = ctx.stack.secrets.INTERNAL_SERVICE_SECRET;
    // Exactly what the gateway sends a subgraph with every request (SubgraphDataSource).
    const assertion = await createServiceTokenCache(
      serviceKeyFor(secret, 'gateway'),
      'gateway',
      'gateway-assertion',
    )('identity', {
      ip: '203.0.113.9',
    });
    const res = await postCommand(
      ctx.stack.urls.identity,
      'createApplication',
      { organizationId: ctx.acme.organization.id, name: 'minted', permissions: ['users:register', 'organization-users:write'] },
      { secret, service: 'identity', authorization: `Bearer ${assertion}` },
    );
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(res.body)).not.toContain('clientSecret');
  });

  it('finding 8a: an internal-command credential is not a gateway assertion either (the IP it carries is ignored)', async () => {
    const secret = ctx.stack.secrets.INTERNAL_SERVICE_SECRET;
    const credential = await signServiceToken(serviceKeyFor(secret, 'gateway'), 'gateway', 'identity', { ip: '203.0.113.10' });
    const res = await gql(
      ctx.stack.urls.identity + '/graphql',
      LOGIN,
      { organizationSlug: 'acme', identifier: 'admin', password: ADMIN_PASSWORD },
      { [GATEWAY_ASSERTION_HEADER]: credential },
    );
    expect(res.errors).toBeUndefined();
    const session = await ctx.identityDb.collection('sessions').findOne({ _id: res.data!.login._id });
    expect(session!.clientIp).not.toBe('203.0.113.10');
  });

  it('finding 8a: a command refuses a service that is not among its callers (FORBIDDEN), and accepts one that is', async () => {
    const secret = ctx.stack.secrets.INTERNAL_SERVICE_SECRET;
    const input = { organizationId: ctx.acme.organization.id, name: 'minted', permissions: ['users:register'] };
    const asLicensing = await postCommand(ctx.stack.urls.identity, 'createApplication', input, {
      secret,
      service: 'identity',
      authorization: `Bearer ${await signServiceToken(serviceKeyFor(secret, 'licensing'), 'licensing', 'identity')}`,
    });
    expect(asLicensing.status).toBe(403);
    expect(asLicensing.body.error.code).toBe('FORBIDDEN');
    const asCli = await postCommand(ctx.stack.urls.identity, 'createApplication', input, {
      secret,
      service: 'identity',
      authorization: `Bearer ${await signServiceToken(serviceKeyFor(secret, 'cli'), 'cli', 'identity')}`,
    });
    expect(asCli.status).toBe(200);
  });

  it("finding 8b: an untrusted client's X-Forwarded-For is ignored", async () => {
    const spoofed = await clientIpOfLogin({ 'x-forwarded-for': '203.0.113.50' });
    const plain = await clientIpOfLogin({});
    expect(spoofed).toBe(plain);
    expect(spoofed).not.toContain('203.0.113.50');
  });
});

describe('finding 8b behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1/32)', () => {
  const { clientIpOfLogin } = stackWith({ TRUSTED_PROXIES: '127.0.0.1/32' });

  it('finding 8b: distinct X-Forwarded-For clients are distinct, and a chain is read from the right', async () => {
    expect(await clientIpOfLogin({ 'x-forwarded-for': '203.0.113.1' })).toBe('203.0.113.1');
    expect(await clientIpOfLogin({ 'x-forwarded-for': '203.0.113.2' })).toBe('203.0.113.2');
    // The hop left of an untrusted one is that client's own claim: not believed.
    expect(await clientIpOfLogin({ 'x-forwarded-for': '198.51.100.66, 203.0.113.3' })).toBe('203.0.113.3');
    // IPv4-mapped IPv6 is the IPv4 address.
    expect(await clientIpOfLogin({ 'x-forwarded-for': '::ffff:203.0.113.4' })).toBe('203.0.113.4');
  });

  it('finding 8b: IPv6 clients in one /64 share a key; another /64 is another key', async () => {
    const a = await clientIpOfLogin({ 'x-forwarded-for': '2001:db8:aa:bb::1' });
    const b = await clientIpOfLogin({ 'x-forwarded-for': '2001:db8:aa:bb:ffff:1234:5678:9abc' });
    const c = await clientIpOfLogin({ 'x-forwarded-for': '2001:db8:aa:bc::1' });
    expect(a).toBe(b);
    expect(a).toBe('2001:db8:aa:bb::/64');
    expect(c).not.toBe(a);
  });

  it('finding 8b: garbage in X-Forwarded-For never becomes a key', async () => {
    const res = await clientIpOfLogin({ 'x-forwarded-for': 'not-an-ip' });
    expect(res).not.toContain('not-an-ip');
  });
});
