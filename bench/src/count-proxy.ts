/**
 * P3: a tiny HTTP proxy in front of one subgraph that counts the GraphQL
 * operations it relays, grouped by the gateway's `x-request-id`. A second
 * gateway process is pointed at three of these, so the gateway measured in
 * P1 is never slowed by the extra hop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

export interface CountingProxy {
  url: string;
  /** GraphQL POSTs relayed, by x-request-id. */
  byRequestId: Map<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'host',
  'content-length',
]);

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const byRequestId = new Map<string, number>();
  let total = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url?.startsWith('/graphql')) {
        const id = String(req.headers['x-request-id'] ?? 'none');
        byRequestId.set(id, (byRequestId.get(id) ?? 0) + 1);
        total++;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && typeof v === 'string') headers[k] = v;
      const body = Buffer.concat(chunks);
      request(`${target}${req.url ?? '/'}`, {
        method: (req.method ?? 'GET') as 'GET',
        headers,
        body: body.length > 0 ? body : undefined,
        dispatcher: agent,
      })
        .then(async (upstream) => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(upstream.headers)) if (!HOP_BY_HOP.has(k) && typeof v === 'string') out[k] = v;
          const payload = Buffer.from(await upstream.body.arrayBuffer());
          res.writeHead(upstream.statusCode, { ...out, 'content-length': String(payload.length) });
          res.end(payload);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    byRequestId,
    total: () => total,
    reset() {
      byRequestId.clear();
      total = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}
