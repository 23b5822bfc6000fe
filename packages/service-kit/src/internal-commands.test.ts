import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { z } from 'zod';
import { commandsOf } from '@usergraph/contracts';
import { DomainError, undefinedIfNotFound } from './errors.js';
import { closeServer, createServiceHttpServer, listen, MIN_INTERNAL_BODY_BYTES } from './http-server.js';
import { createInternalClient, createInternalCommandHandler, serve } from './internal-commands.js';
import { createLogger } from './logger.js';
import { serviceKeyFor, signServiceToken, type CredentialHolder } from './service-token.js';
import { startTestIssuer, type TestIssuer } from './testing.js';

const SECRET = 'internal-secret-for-the-tests-0123456789';
const MAX_BODY = 4096;

class FakeDbDown extends Error {}

const none = { input: z.object({}), output: z.null(), callers: ['identity'] } as const;
/** The contracts of a test service that stands in for org-users. */
const testCommands = commandsOf('org-users', {
  double: {
    input: z.object({ n: z.number().int() }),
    output: z.object({ doubled: z.number(), from: z.string(), requestId: z.string() }),
    callers: ['identity'],
  },
  nothing: none,
  conflict: none,
  supportAdmin: none,
  lastAdmin: none,
  missing: none,
  crash: none,
  flaky: none,
});
/** What a client of another version may know: a command this server does not serve, and `double` answering text. */
const skewed = commandsOf('org-users', {
  noSuchCommand: none,
  double: { input: z.object({ n: z.number().int() }), output: z.object({ doubled: z.string() }), callers: ['identity'] },
});

describe('internal commands over HTTP', () => {
  let server: http.Server;
  let baseUrl: string;
  let issuer: TestIssuer;
  let ready = true;
  const calls = { flaky: 0 };
  const clients: Array<{ close(): Promise<void> }> = [];

  const clientFor = (opts: { secret?: string; baseUrl?: string } = {}) => {
    const client = createInternalClient({
      from: 'identity',
      to: 'org-users',
      baseUrl: opts.baseUrl ?? baseUrl,
      secret: opts.secret ?? SECRET,
      timeoutMs: 2000,
    });
    clients.push(client);
    return client;
  };

  const post = async (name: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${baseUrl}/internal/commands/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
  };
  const auth = async (to = 'org-users', secret = SECRET, from: CredentialHolder = 'identity') => ({
    authorization: `Bearer ${await signServiceToken(serviceKeyFor(secret, from), from, to)}`,
  });

  beforeAll(async () => {
    issuer = await startTestIssuer();
    const logger = createLogger({ service: 'org-users', level: 'silent' });
    const c = testCommands;
    const commands = [
      serve(c.double, async (input, meta) => ({ doubled: input.n * 2, from: meta.from, requestId: meta.requestId })),
      serve(c.nothing, async () => null),
      serve(c.conflict, async () => {
        throw new DomainError('CONFLICT', 'The email address is already in use', [{ path: ['email'], message: 'is already in use' }], {
          reason: 'ALREADY_IN_USE',
          dialectCode: 'AUTH-0027',
        });
      }),
      // Same code, same words: only the reason tells these two apart.
      serve(c.supportAdmin, async () => {
        throw new DomainError('CONFLICT', 'The user cannot be removed', [{ path: ['requestedLicenses'], message: 'is refused' }], {
          reason: 'SUPPORT_ADMIN',
        });
      }),
      serve(c.lastAdmin, async () => {
        throw new DomainError('CONFLICT', 'The user cannot be removed', [{ path: ['requestedLicenses'], message: 'is refused' }], {
          reason: 'LAST_COMPANY_ADMIN',
        });
      }),
      serve(c.missing, async () => {
        throw new DomainError('NOT_FOUND', 'User not found');
      }),
      serve(c.crash, async () => {
        throw new Error('internal detail: mongodb://admin:hunter2@db');
      }),
      serve(c.flaky, async () => {
        calls.flaky++;
        throw new FakeDbDown('db down');
      }),
    ];
    server = createServiceHttpServer({
      service: 'org-users',
      logger,
      maxBodyBytes: MAX_BODY,
      ready: async () => ready,
      internalCommands: createInternalCommandHandler({
        service: 'org-users',
        secret: SECRET,
        logger,
        commands,
        isUnavailable: (err) => err instanceof FakeDbDown,
      }),
    });
    const port = await listen(server, 0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    if (server) await closeServer(server, 1000);
    await issuer?.close();
  });

  it('the client runs a command and gets its result', async () => {
    const result = await clientFor().call(testCommands.double, { n: 21 }, { requestId: 'req-123' });
    expect(result).toEqual({ doubled: 42, from: 'identity', requestId: 'req-123' });
  });

  it('a null result comes back as null', async () => {
    expect(await clientFor().call(testCommands.nothing, {})).toBeNull();
  });

  it('a DomainError round-trips with code, message, fields and dialect code', async () => {
    const err = await clientFor()
      .call(testCommands.conflict, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      code: 'CONFLICT',
      message: 'The email address is already in use',
      fields: [{ path: ['email'], message: 'is already in use' }],
      reason: 'ALREADY_IN_USE',
      dialectCode: 'AUTH-0027',
    });
    const raw = await post('conflict', {}, await auth());
    expect(raw.status).toBe(409);
  });

  it('issue 13: support admin vs last admin: the reason round-trips, so the caller switches on it and not on the words', async () => {
    const client = clientFor();
    const support = await client.call(testCommands.supportAdmin, {}).catch((e: unknown) => e);
    const last = await client.call(testCommands.lastAdmin, {}).catch((e: unknown) => e);
    expect(support).toBeInstanceOf(DomainError);
    expect(last).toBeInstanceOf(DomainError);
    expect({ code: (support as DomainError).code, reason: (support as DomainError).reason }).toEqual({
      code: 'CONFLICT',
      reason: 'SUPPORT_ADMIN',
    });
    expect({ code: (last as DomainError).code, reason: (last as DomainError).reason }).toEqual({
      code: 'CONFLICT',
      reason: 'LAST_COMPANY_ADMIN',
    });
    expect((support as DomainError).message).toBe((last as DomainError).message);
  });

  it('issue 13: a reason from a service of another version that this side does not know falls back to the code', async () => {
    const unknownReason = http.createServer((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: { code: 'CONFLICT', reason: 'SOMETHING_NEWER', message: 'Refused', fields: [] } }));
    });
    const port = await listen(unknownReason, 0, '127.0.0.1');
    try {
      const err = await clientFor({ baseUrl: `http://127.0.0.1:${port}` })
        .call(testCommands.conflict, {})
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CONFLICT', reason: 'CONFLICT', message: 'Refused' });
    } finally {
      await closeServer(unknownReason);
    }
  });

  it('issue 13: an answer that is no command response is a failure of the other side (INTERNAL_SERVER_ERROR, asked once), not an outage', async () => {
    let hits = 0;
    const answers = [
      { contentType: 'text/html', body: '<html>502 Bad Gateway</html>', status: 502 },
      {
        contentType: 'application/json',
        body: '{"errors":[{"message":"Request body too large","extensions":{"code":"BAD_REQUEST"}}]}',
        status: 413,
      },
    ];
    for (const answer of answers) {
      hits = 0;
      const proxy = http.createServer((_req, res) => {
        hits++;
        res.writeHead(answer.status, { 'content-type': answer.contentType });
        res.end(answer.body);
      });
      const port = await listen(proxy, 0, '127.0.0.1');
      try {
        const err = await clientFor({ baseUrl: `http://127.0.0.1:${port}` })
          .call(testCommands.double, { n: 1 })
          .catch((e: unknown) => e);
        expect(err, answer.body).toBeInstanceOf(DomainError);
        expect([(err as DomainError).code, hits], answer.body).toEqual(['INTERNAL_SERVER_ERROR', 1]);
      } finally {
        await closeServer(proxy);
      }
    }
  });

  it('issue 13: not found vs unknown command vs store down vs no answer: each has its own reason, and only the first reads as "not found"', async () => {
    const client = clientFor();
    const missing = await client.call(testCommands.missing, {}).catch((e: unknown) => e);
    const unknown = await client.call(skewed.noSuchCommand, {}).catch((e: unknown) => e);
    const down = await client.call(testCommands.flaky, {}).catch((e: unknown) => e);
    const unreachable = await clientFor({ baseUrl: 'http://127.0.0.1:1' })
      .call(testCommands.missing, {})
      .catch((e: unknown) => e);
    expect([missing, unknown, down, unreachable].map((e) => [(e as DomainError).code, (e as DomainError).reason])).toEqual([
      ['NOT_FOUND', 'NOT_FOUND'],
      ['NOT_FOUND', 'UNKNOWN_COMMAND'],
      ['SERVICE_UNAVAILABLE', 'STORE_UNAVAILABLE'],
      ['SERVICE_UNAVAILABLE', 'SERVICE_UNREACHABLE'],
    ]);
    expect(undefinedIfNotFound(missing)).toBeUndefined();
    for (const err of [unknown, down, unreachable]) expect(() => undefinedIfNotFound(err)).toThrow(err as Error);
  });

  it('bad input is BAD_USER_INPUT (422) with field paths', async () => {
    const err = await clientFor()
      // @ts-expect-error: the contract says n is a number; sent anyway, as a client of another version might
      .call(testCommands.double, { n: 'two' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('BAD_USER_INPUT');
    expect((err as DomainError).fields.map((f) => f.path)).toEqual([['n']]);
    const raw = await post('double', { n: 1.5 }, await auth());
    expect(raw.status).toBe(422);
    expect(raw.body.error.code).toBe('BAD_USER_INPUT');
  });

  it('issue 13: an input that breaks the contract is refused before the handler runs, naming each field', async () => {
    const raw = await post('double', { n: 'two', extra: true }, await auth());
    expect(raw.status).toBe(422);
    expect(raw.body.error).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: ['n'], message: expect.any(String) }] });
    const missing = await post('double', {}, await auth());
    expect(missing.body.error.fields.map((f: { path: string[] }) => f.path)).toEqual([['n']]);
  });

  it('issue 13: an answer that breaks the contract is refused on the client with BAD_COMMAND_OUTPUT, naming the paths', async () => {
    // The real server answers `doubled` as a number; a client of another version expects text.
    const skew = await clientFor()
      .call(skewed.double, { n: 2 })
      .catch((e: unknown) => e);
    expect(skew).toBeInstanceOf(DomainError);
    expect(skew).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', reason: 'BAD_COMMAND_OUTPUT', fields: [] });
    expect((skew as DomainError).message).toMatch(/"double" .* \(at doubled\)$/);
    // A server that answers ok with a wrong shape (a field missing, one of the wrong type): asked once, never a silent cast.
    let hits = 0;
    const liar = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: { doubled: '4', from: 'identity' } }));
    });
    const port = await listen(liar, 0, '127.0.0.1');
    try {
      const err = await clientFor({ baseUrl: `http://127.0.0.1:${port}` })
        .call(testCommands.double, { n: 2 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).reason).toBe('BAD_COMMAND_OUTPUT');
      expect((err as DomainError).message).toMatch(/\(at doubled, requestId\)$/);
      expect(hits).toBe(1);
    } finally {
      await closeServer(liar);
    }
  });

  it("issue 13: a service refuses at start-up to serve another service's contract, or one command twice", () => {
    const logger = createLogger({ service: 'licensing', level: 'silent' });
    const handler = (commands: Parameters<typeof createInternalCommandHandler>[0]['commands']) => () =>
      createInternalCommandHandler({ service: 'licensing', secret: SECRET, logger, commands, isUnavailable: () => false });
    expect(handler([serve(testCommands.nothing, async () => null)])).toThrow(/cannot serve org-users's command "nothing"/);
    const own = commandsOf('licensing', { ping: none });
    expect(handler([serve(own.ping, async () => null), serve(own.ping, async () => null)])).toThrow(/"ping" is served twice/);
    expect(handler([serve(own.ping, async () => null)])).not.toThrow();
  });

  it('an unknown command is NOT_FOUND, including inherited object keys', async () => {
    for (const name of ['noSuchCommand', 'constructor', 'toString', '__proto__']) {
      const raw = await post(name, {}, await auth());
      expect(raw.status, name).toBe(404);
      expect(raw.body).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    }
    const err = await clientFor()
      .call(skewed.noSuchCommand, {})
      .catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('NOT_FOUND');
  });

  it('an unexpected failure is a generic 500 without internals', async () => {
    const raw = await post('crash', {}, await auth());
    expect(raw.status).toBe(500);
    expect(raw.body).toEqual({
      ok: false,
      error: { code: 'INTERNAL_SERVER_ERROR', reason: 'INTERNAL_SERVER_ERROR', message: 'Internal command failed', fields: [] },
    });
  });

  it('a missing credential is 401, and the command does not run', async () => {
    const raw = await post('double', { n: 1 });
    expect(raw.status).toBe(401);
    expect(raw.body).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });

  it('credentials for another service, under another secret, malformed, or a client access token are 401', async () => {
    const headers = [
      await auth('licensing'),
      await auth('org-users', `${SECRET}-other`),
      // Issue 16: the gateway's key, claiming to be identity (a caller the command names), or the root itself.
      { authorization: `Bearer ${await signServiceToken(serviceKeyFor(SECRET, 'gateway'), 'identity', 'org-users')}` },
      { authorization: `Bearer ${await signServiceToken(SECRET, 'identity', 'org-users')}` },
      { authorization: 'Basic aWRlbnRpdHk6c2VjcmV0' },
      { authorization: 'Bearer not-a-token' },
      { authorization: `Bearer ${await issuer.sign({ sub: 'u-1', org: 'o-1' })}` },
    ];
    for (const h of headers) {
      const raw = await post('double', { n: 1 }, h);
      expect(raw.status).toBe(401);
      expect(raw.body.error.code).toBe('UNAUTHENTICATED');
    }
    // The client, misconfigured with the wrong secret, surfaces the 401 as it is.
    const err = await clientFor({ secret: `${SECRET}-other` })
      .call(testCommands.double, { n: 1 })
      .catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('UNAUTHENTICATED');
  });

  it('finding 8a: a command refuses a service it does not name (403), and never runs for it', async () => {
    const raw = await post('double', { n: 1 }, await auth('org-users', SECRET, 'licensing'));
    expect(raw.status).toBe(403);
    expect(raw.body).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const err = await createInternalClient({ from: 'cli', to: 'org-users', baseUrl, secret: SECRET })
      .call(testCommands.double, { n: 1 })
      .catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('FORBIDDEN');
  });

  it("finding 8a: the gateway's client-IP assertion is not a command credential (401)", async () => {
    const assertion = await signServiceToken(
      serviceKeyFor(SECRET, 'gateway'),
      'gateway',
      'org-users',
      { ip: '203.0.113.9' },
      'gateway-assertion',
    );
    const raw = await post('double', { n: 1 }, { authorization: `Bearer ${assertion}` });
    expect(raw.status).toBe(401);
    expect(raw.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('checks the credential before the command name', async () => {
    const raw = await post('noSuchCommand', {});
    expect(raw.status).toBe(401);
  });

  it('a body over the limit is 413: internal commands take at least MIN_INTERNAL_BODY_BYTES, whatever MAX_BODY_BYTES says', async () => {
    expect(MAX_BODY).toBeLessThan(MIN_INTERNAL_BODY_BYTES);
    const raw = await post('double', { n: 1, padding: 'x'.repeat(MIN_INTERNAL_BODY_BYTES) }, await auth());
    expect(raw.status).toBe(413);
    expect(raw.body.errors[0].message).toContain(`${MIN_INTERNAL_BODY_BYTES} bytes`);
  });

  it('invalid JSON is 400 and GET is 405', async () => {
    expect((await post('double', '{not json', await auth())).status).toBe(400);
    const res = await request(`${baseUrl}/internal/commands/double`, { method: 'GET', headers: await auth() });
    expect(res.statusCode).toBe(405);
    await res.body.dump();
  });

  it('the client passes a SERVICE_UNAVAILABLE answer on at once: the service already waited', async () => {
    calls.flaky = 0;
    const err = await clientFor()
      .call(testCommands.flaky, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('SERVICE_UNAVAILABLE');
    expect(calls.flaky).toBe(1);
  });

  it('the client reports an unreachable service as SERVICE_UNAVAILABLE without internal addresses', async () => {
    const err = await clientFor({ baseUrl: 'http://127.0.0.1:1' })
      .call(testCommands.double, { n: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('SERVICE_UNAVAILABLE');
    expect((err as DomainError).message).not.toContain('127.0.0.1');
  });

  it('serves health probes and echoes a safe request id', async () => {
    const health = await request(`${baseUrl}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(health.statusCode).toBe(200);
    expect(health.headers['x-request-id']).toBe('abc-123');
    expect(await health.body.json()).toEqual({ status: 'ok', service: 'org-users' });
    ready = false;
    const notReady = await request(`${baseUrl}/readyz`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.headers['x-request-id']).not.toContain(' ');
    await notReady.body.dump();
    ready = true;
    const readyNow = await request(`${baseUrl}/readyz`);
    expect(readyNow.statusCode).toBe(200);
    await readyNow.body.dump();
    const missing = await request(`${baseUrl}/nope`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
  });
});
