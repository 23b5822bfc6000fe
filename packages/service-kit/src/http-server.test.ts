import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { closeServer, createServiceHttpServer, EXIT_PORT_TAKEN, exitStatusOf, listen, MIN_INTERNAL_BODY_BYTES } from './http-server.js';
import { createLogger } from './logger.js';

/** Sends a raw HTTP/1.1 request line (fetch would refuse or normalise these targets) and returns the status code. */
function rawStatus(port: number, requestLine: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`),
    );
    let head = '';
    socket.on('data', (chunk) => (head += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

describe('service HTTP server: malformed request targets (red-team finding: anonymous 500s)', () => {
  const errors: unknown[] = [];
  const logger = createLogger({ service: 'test', level: 'silent' });
  logger.error = (obj: unknown) => void errors.push(obj);
  const server = createServiceHttpServer({
    service: 'test',
    logger,
    maxBodyBytes: 10_000,
    ready: async () => true,
    internalCommands: async () => ({ status: 200, body: { ok: true, result: null } }),
  });
  let port: number;

  beforeAll(async () => {
    port = await listen(server, 0, '127.0.0.1');
  });
  afterAll(() => closeServer(server, 1000));

  it('answers 400 to a target the URL parser refuses, and 404 to a command name with a broken escape, without logging an error', async () => {
    expect(await rawStatus(port, 'GET http://[::1/graphql HTTP/1.1')).toBe(400);
    expect(await rawStatus(port, 'POST /internal/commands/%E0%A4%A HTTP/1.1')).toBe(404);
    expect(errors).toEqual([]);
  });
});

describe("internal commands take a full batch whatever the operator's MAX_BODY_BYTES", () => {
  it('a body over a small MAX_BODY_BYTES reaches an internal command (an audit relay batch); GraphQL still gets 413', async () => {
    let received = 0;
    const server = createServiceHttpServer({
      service: 'test',
      logger: createLogger({ service: 'test', level: 'silent' }),
      maxBodyBytes: 2048,
      ready: async () => true,
      internalCommands: async (_name, _auth, body) => {
        received = JSON.stringify(body).length;
        return { status: 200, body: { ok: true, result: null } };
      },
    });
    const port = await listen(server, 0, '127.0.0.1');
    try {
      // What the audit relay sends at most (MAX_SINK_BYTES, 48 KB of events) with its envelope.
      const body = JSON.stringify({ events: 'x'.repeat(49_000) });
      expect(body.length).toBeLessThan(MIN_INTERNAL_BODY_BYTES);
      const post = (path: string, payload: string) =>
        fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
      expect((await post('/internal/commands/recordAuditEvents', body)).status).toBe(200);
      expect(received).toBe(body.length);
      expect((await post('/graphql', body)).status).toBe(413);
      expect((await post('/internal/commands/recordAuditEvents', 'x'.repeat(MIN_INTERNAL_BODY_BYTES + 1))).status).toBe(413);
    } finally {
      await closeServer(server, 1000);
    }
  });
});

describe('issue 13: a start-up failure is told apart by its code, not its words', () => {
  it('a port taken is EXIT_PORT_TAKEN (the CLI picks another port); any other failure, even one naming EADDRINUSE, is 1', async () => {
    const holder = http.createServer();
    const port = await listen(holder, 0, '127.0.0.1');
    const second = http.createServer();
    try {
      const err = await listen(second, port, '127.0.0.1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(exitStatusOf(err)).toBe(EXIT_PORT_TAKEN);
      expect(exitStatusOf(new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`))).toBe(1);
      expect(exitStatusOf(undefined)).toBe(1);
    } finally {
      await closeServer(holder);
    }
  });
});
