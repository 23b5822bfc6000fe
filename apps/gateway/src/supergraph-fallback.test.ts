import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, READER, registryKeyFor } from '@usergraph/service-kit';
import { createSupergraphSource, subgraphsOf } from './supergraph-source.js';

const LIVE = 'http://127.0.0.1:1/live';
const DEAD = 'http://127.0.0.1:1/dead';

/** A supergraph as far as the source reads one: its join__Graph enum (names and routing URLs). */
const sdlOf = (subgraphs: Record<string, string>) =>
  `enum join__Graph {\n${Object.entries(subgraphs)
    .map(([name, url]) => `  ${name.toUpperCase()} @join__graph(name: "${name}", url: "${url}")`)
    .join('\n')}\n}`;

/** The registry's read API (GET /v1/supergraph, ?revision=N) over the given revisions, 1 first. */
async function startRegistry(revisions: string[]) {
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    const at = new URL(req.url ?? '/', 'http://x').searchParams.get('revision');
    const revision = at === null ? revisions.length : Number(at);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ revision, supergraphSdl: revisions[revision - 1] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, close: () => new Promise((r) => server.close(r)) };
}

/** What the gateway's health check decides, by URL: a supergraph passes when none of its subgraphs is at DEAD. */
const healthCheck = async (sdl: string) => {
  if (subgraphsOf(sdl).some((s) => s.url === DEAD)) throw new Error('a subgraph did not answer');
};

/** Starts the source as @apollo/gateway does; returns what it serves first and its status. */
async function startWith(revisions: string[]) {
  const registry = await startRegistry(revisions);
  closers.push(registry.close);
  const source = createSupergraphSource(
    {
      kind: 'registry',
      url: registry.url,
      key: registryKeyFor('s'.repeat(32), READER),
      pollIntervalMs: 60_000,
      healthCheckTimeoutMs: 1000,
    },
    createLogger({ service: 'gateway', level: 'silent' }),
  );
  const { supergraphSdl, cleanup } = await source.hook({
    update: () => undefined,
    healthCheck,
    getDataSource: () => {
      throw new Error('the source builds no data source');
    },
  });
  closers.push(async () => cleanup?.());
  return { supergraphSdl, status: source.status, asked: registry.asked };
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('gateway start: never a latest supergraph whose new URL does not answer, when an older one would', () => {
  it('serves the newest older revision with the same subgraphs that passes, and names the refused latest', async () => {
    const revisions = [
      sdlOf({ a: LIVE, b: LIVE }),
      sdlOf({ a: LIVE, b: `${LIVE}2` }),
      sdlOf({ a: LIVE, b: DEAD }),
      sdlOf({ a: LIVE, b: DEAD, c: LIVE }),
      sdlOf({ a: LIVE, b: DEAD }),
    ];
    const started = await startWith(revisions);
    expect(started.supergraphSdl).toBe(revisions[1]);
    expect(started.status.revision).toBe('2');
    expect(started.status.refused).toMatchObject({ revision: '5', code: 'SUBGRAPH_HEALTH_CHECK_FAILED' });
    // Revision 4 (other subgraphs) is skipped, 3 (the URLs that failed) fetched but not checked again.
    expect(started.asked).toEqual([
      '/v1/supergraph',
      '/v1/supergraph?revision=4',
      '/v1/supergraph?revision=3',
      '/v1/supergraph?revision=2',
    ]);
  });

  it('never falls back to a revision without one of the latest subgraphs (one merely down would lose all its fields)', async () => {
    const revisions = [sdlOf({ a: LIVE }), sdlOf({ a: LIVE, b: DEAD })];
    const started = await startWith(revisions);
    expect(started.supergraphSdl).toBe(revisions[1]);
    expect(started.status.revision).toBe('2');
    expect(started.status.refused).toBeUndefined();
  });

  it('serves the latest when no recent revision passes (a full-stack start), and looks back 5 revisions at most', async () => {
    const revisions = Array.from({ length: 8 }, (_, i) => sdlOf({ a: LIVE, b: i === 0 ? LIVE : DEAD }));
    const started = await startWith(revisions);
    expect(started.status.revision).toBe('8');
    expect(started.status.refused).toBeUndefined();
    expect(started.asked).toHaveLength(6);
  });

  it('serves the latest when it passes, without asking for any older revision', async () => {
    const revisions = [sdlOf({ a: DEAD }), sdlOf({ a: LIVE })];
    const started = await startWith(revisions);
    expect(started.status.revision).toBe('2');
    expect(started.asked).toEqual(['/v1/supergraph']);
  });
});
