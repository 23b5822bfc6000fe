import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import { GATEWAY_ASSERTION_HEADER, verifyServiceToken } from '@usergraph/service-kit';
import { isSubgraphUnreachable } from './app.js';
import type { GatewayContext } from './gateway-context.js';
import { closeSubgraphAgent, SubgraphDataSource } from './subgraph-data-source.js';

const SECRET = 'a-internal-service-secret-of-32-chars!';

interface Seen {
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** A fake subgraph: records each request and answers with what `reply` says. */
let reply: { status: number; contentType: string; body: string } = {
  status: 200,
  contentType: 'application/json',
  body: '{"data":{"ok":true}}',
};
const seen: Seen[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
    res.writeHead(reply.status, { 'content-type': reply.contentType });
    res.end(reply.body);
  });
});

let url: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await closeSubgraphAgent();
  await new Promise((resolve) => server.close(resolve));
});

const context = (clientIp: string): GatewayContext => ({
  requestId: 'req-1',
  clientIp,
  headers: { authorization: 'Bearer abc', 'x-organization-slug': 'acme', 'idempotency-key': undefined },
});

const call = (source: SubgraphDataSource, clientIp = '203.0.113.9') =>
  source.process({
    request: { query: '{ ok }', variables: { a: 1 }, operationName: 'Q' },
    context: context(clientIp),
  } as unknown as Parameters<SubgraphDataSource['process']>[0]);

describe('SubgraphDataSource', () => {
  it('posts the operation with the forwarded headers and a signed client IP', async () => {
    seen.length = 0;
    const source = new SubgraphDataSource('org-users', url, SECRET, true);
    expect(await call(source)).toEqual({ data: { ok: true } });
    const [req] = seen;
    expect(req!.body).toEqual({ query: '{ ok }', variables: { a: 1 }, operationName: 'Q' });
    expect(req!.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer abc',
      'x-organization-slug': 'acme',
      'x-request-id': 'req-1',
    });
    expect(req!.headers['idempotency-key']).toBeUndefined();
    const assertion = req!.headers[GATEWAY_ASSERTION_HEADER] as string;
    expect(await verifyServiceToken(SECRET, 'org-users', assertion, 'gateway-assertion')).toMatchObject({
      from: 'gateway',
      ip: '203.0.113.9',
    });
    expect(await verifyServiceToken(SECRET, 'licensing', assertion, 'gateway-assertion')).toBeUndefined();
  });

  it('sends a third-party subgraph (not in GATEWAY_TRUSTED_SUBGRAPHS) no client token and no signed assertion', async () => {
    seen.length = 0;
    const source = new SubgraphDataSource('loyalty', url, SECRET, false);
    expect(await call(source)).toEqual({ data: { ok: true } });
    const [req] = seen;
    expect(req!.headers).toMatchObject({ 'x-organization-slug': 'acme', 'x-request-id': 'req-1' });
    expect(req!.headers.authorization).toBeUndefined();
    expect(req!.headers[GATEWAY_ASSERTION_HEADER]).toBeUndefined();
  });

  it('reuses the assertion of a client IP, and signs another for another IP', async () => {
    seen.length = 0;
    const source = new SubgraphDataSource('org-users', url, SECRET, true);
    await call(source);
    await call(source);
    await call(source, '198.51.100.7');
    const [a, b, c] = seen.map((s) => s.headers[GATEWAY_ASSERTION_HEADER]);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(await verifyServiceToken(SECRET, 'org-users', c as string, 'gateway-assertion')).toMatchObject({ ip: '198.51.100.7' });
  });

  it('turns a non-2xx answer into the subgraph\'s own coded error, or "<status>: <text>", never naming the subgraph\'s URL', async () => {
    const source = new SubgraphDataSource('org-users', url, SECRET, true);
    reply = {
      status: 401,
      contentType: 'application/json',
      body: '{"errors":[{"message":"Session revoked: sign in again","extensions":{"code":"UNAUTHENTICATED"}}]}',
    };
    const coded = (await call(source).catch((e: unknown) => e)) as GraphQLError;
    expect({ message: coded.message, extensions: coded.extensions }).toEqual({
      message: 'Session revoked: sign in again',
      extensions: { code: 'UNAUTHENTICATED' },
    });

    reply = {
      status: 503,
      contentType: 'application/json',
      body: '{"errors":[{"message":"Cannot check the session, please retry","extensions":{"code":"SERVICE_UNAVAILABLE","reason":"SERVICE_UNREACHABLE"}}]}',
    };
    const withReason = (await call(source).catch((e: unknown) => e)) as GraphQLError;
    expect(withReason.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'SERVICE_UNREACHABLE' });

    reply = { status: 403, contentType: 'application/json', body: '{"errors":[{"message":"no"}]}' };
    const uncoded = (await call(source).catch((e: unknown) => e)) as GraphQLError;
    expect({ message: uncoded.message, extensions: uncoded.extensions }).toEqual({
      message: '403: Forbidden',
      extensions: { code: 'FORBIDDEN' },
    });
    expect(JSON.stringify(uncoded.toJSON())).not.toContain(url);
  });

  it('refuses an answer that is not JSON', async () => {
    reply = { status: 200, contentType: 'text/plain', body: 'hello' };
    const source = new SubgraphDataSource('org-users', url, SECRET, true);
    await expect(call(source)).rejects.toThrow('Expected JSON response body, but received: hello');
  });

  describe('issue 13: unreachable vs failed, told apart by error codes, not by text', () => {
    /** A subgraph on a real socket that does `behave` to each connection. */
    const withSubgraph = async (behave: (socket: net.Socket) => void, run: (url: string) => Promise<void>) => {
      const raw = net.createServer(behave);
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      try {
        await run(`http://127.0.0.1:${(raw.address() as AddressInfo).port}/graphql`);
      } finally {
        await new Promise((resolve) => raw.close(resolve));
      }
    };
    const failureOf = (subgraphUrl: string) =>
      call(new SubgraphDataSource('org-users', subgraphUrl, SECRET, true)).then(
        () => undefined,
        (e: unknown) => e,
      );

    it('a subgraph that closes the connection without answering is unreachable', async () => {
      await withSubgraph(
        (socket) => socket.destroy(),
        async (subgraphUrl) => {
          const err = await failureOf(subgraphUrl);
          expect(err).toBeDefined();
          expect(isSubgraphUnreachable(err)).toBe(true);
        },
      );
    });

    it('a subgraph that resets the connection mid-answer is unreachable', async () => {
      await withSubgraph(
        (socket) => {
          socket.once('data', () => {
            socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"da');
            socket.resetAndDestroy();
          });
        },
        async (subgraphUrl) => {
          expect(isSubgraphUnreachable(await failureOf(subgraphUrl))).toBe(true);
        },
      );
    });

    it('a subgraph that answers with a failure is failed, not unreachable, even when its words read like a socket error', async () => {
      const answers = [
        {
          status: 500,
          contentType: 'application/json',
          body: '{"errors":[{"message":"connect ECONNREFUSED 10.0.0.5:27017 (fetch failed, socket hang up)","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}',
        },
        { status: 502, contentType: 'text/plain', body: 'other side closed' },
        { status: 200, contentType: 'text/plain', body: 'ECONNRESET' },
      ];
      for (const answer of answers) {
        reply = answer;
        const err = await failureOf(url);
        expect(err, answer.body).toBeDefined();
        expect(isSubgraphUnreachable(err), answer.body).toBe(false);
      }
    });
  });

  it('reports a subgraph that is down as unreachable', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const source = new SubgraphDataSource('org-users', `http://127.0.0.1:${port}/graphql`, SECRET, true);
    const err = await call(source).catch((e: unknown) => e);
    expect(isSubgraphUnreachable(err)).toBe(true);
  });
});
