import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Kind, parse } from 'graphql';
import { request } from 'undici';
import { errSummary, type Logger } from '@usergraph/service-kit';
import { registryTokenFrom } from '@usergraph/service-kit';

/** A subgraph of the served supergraph: its name and GraphQL routing URL. */
export interface ServedSubgraph {
  name: string;
  url: string;
}

/** What the gateway serves and the last supergraph it refused, for the log and /readyz. */
export interface SupergraphStatus {
  source: 'registry' | 'file';
  /** The registry's revision number, or the start of the file's SHA-256. */
  revision?: string;
  loadedAt?: string;
  subgraphs: ServedSubgraph[];
  /** A newer supergraph that was not switched to, and why (a code, no addresses). */
  refused?: { revision: string; code: 'SUBGRAPH_HEALTH_CHECK_FAILED' | 'SUPERGRAPH_INVALID'; at: string };
  /** The last poll that did not reach the source; the served supergraph stays. */
  pollFailedAt?: string;
}

export type SupergraphSourceOptions =
  | { kind: 'registry'; url: string; key: string; pollIntervalMs: number; healthCheckTimeoutMs: number }
  | { kind: 'file'; path: string; pollIntervalMs: number; healthCheckTimeoutMs: number };

/** The subgraphs a supergraph routes to, from its join__Graph enum. */
export function subgraphsOf(supergraphSdl: string): ServedSubgraph[] {
  const doc = parse(supergraphSdl);
  for (const def of doc.definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== 'join__Graph') continue;
    return (def.values ?? []).map((value) => {
      const args = value.directives?.find((d) => d.name.value === 'join__graph')?.arguments ?? [];
      const arg = (n: string) => {
        const v = args.find((a) => a.name.value === n)?.value;
        return v?.kind === Kind.STRING ? v.value : '';
      };
      return { name: arg('name'), url: arg('url') };
    });
  }
  return [];
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Bounded wait for the first supergraph at start-up: the registry may be starting too. */
const FIRST_LOAD_ATTEMPTS = 10;

/**
 * The gateway's supergraph, for @apollo/gateway's `supergraphSdl` hook: the
 * latest from the schema registry (polled with its revision as ETag, so an
 * unchanged supergraph costs one indexed read) or a watched file. A newer
 * supergraph is switched to only once every subgraph in it answers the
 * gateway's health check; otherwise the last good one stays, and the refusal
 * is logged and shown in /readyz. Apollo swaps the schema and planner between
 * requests, so a request in flight finishes on the plan it started with.
 */
export function createSupergraphSource(opts: SupergraphSourceOptions, logger: Logger) {
  const status: SupergraphStatus = { source: opts.kind, subgraphs: [] };
  let current: { revision: string; sdl: string } | undefined;
  let fileMtime: number | undefined;

  /** The source's newest supergraph, or undefined when it is the one served. */
  async function fetchNewer(): Promise<{ revision: string; sdl: string } | undefined> {
    if (opts.kind === 'file') {
      // The modification time says when to read; the content's hash names the revision (a write between the two cannot mislabel it).
      const mtime = (await stat(opts.path)).mtimeMs;
      if (mtime === fileMtime) return undefined;
      fileMtime = mtime;
      const sdl = await readFile(opts.path, 'utf8');
      const revision = createHash('sha256').update(sdl).digest('hex').slice(0, 12);
      return revision === current?.revision ? undefined : { revision, sdl };
    }
    const res = await request(`${opts.url}/v1/supergraph`, {
      headers: {
        authorization: `Bearer ${await registryTokenFrom(opts.key)}`,
        ...(current ? { 'if-none-match': `"${current.revision}"` } : {}),
      },
      headersTimeout: 5000,
      bodyTimeout: 10_000,
    });
    if (res.statusCode === 304) {
      await res.body.dump();
      return undefined;
    }
    const body = (await res.body.json()) as { revision?: number; supergraphSdl?: string; error?: { code?: string } };
    if (res.statusCode !== 200 || body.revision === undefined || !body.supergraphSdl)
      throw new Error(`registry answered ${res.statusCode} ${body.error?.code ?? ''}`.trim());
    return { revision: String(body.revision), sdl: body.supergraphSdl };
  }

  function served(next: { revision: string; sdl: string }): void {
    current = next;
    status.revision = next.revision;
    status.loadedAt = new Date().toISOString();
    status.subgraphs = subgraphsOf(next.sdl);
    // A refusal is about a supergraph older than the one now served.
    delete status.refused;
  }

  const hook: SupergraphSdlHook = async ({ update, healthCheck }) => {
    // Start-up serves the source's latest at once: its subgraphs may still be starting, and /readyz waits for them.
    let first: { revision: string; sdl: string } | undefined;
    for (let attempt = 1; !first; attempt++) {
      try {
        first = await fetchNewer();
      } catch (err) {
        if (attempt >= FIRST_LOAD_ATTEMPTS) throw err;
        logger.warn({ err: errSummary(err), attempt }, 'no supergraph yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 3000)));
      }
    }
    served(first);
    logger.info({ source: opts.kind, revision: first.revision, subgraphs: status.subgraphs.map((s) => s.name) }, 'supergraph loaded');

    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        let next: { revision: string; sdl: string } | undefined;
        try {
          next = await fetchNewer();
          delete status.pollFailedAt;
        } catch (err) {
          status.pollFailedAt = new Date().toISOString();
          logger.warn({ err: errSummary(err), source: opts.kind }, 'supergraph source unreachable; serving the last good supergraph');
          return;
        }
        if (!next) return;
        try {
          await withTimeout(healthCheck(next.sdl), opts.healthCheckTimeoutMs);
        } catch (err) {
          status.refused = { revision: next.revision, code: 'SUBGRAPH_HEALTH_CHECK_FAILED', at: new Date().toISOString() };
          fileMtime = undefined; // tried again at the next poll, as the registry's latest is
          logger.warn(
            { err: errSummary(err), revision: next.revision, serving: current?.revision },
            'new supergraph refused: a subgraph failed its health check; serving the last good supergraph',
          );
          return;
        }
        try {
          update(next.sdl);
        } catch (err) {
          status.refused = { revision: next.revision, code: 'SUPERGRAPH_INVALID', at: new Date().toISOString() };
          fileMtime = undefined;
          logger.error(
            { err: errSummary(err), revision: next.revision, serving: current?.revision },
            'new supergraph refused: it does not load; serving the last good supergraph',
          );
          return;
        }
        const before = current?.revision;
        served(next);
        logger.info({ from: before, to: next.revision, subgraphs: status.subgraphs.map((s) => s.name) }, 'supergraph switched');
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(() => void poll(), opts.pollIntervalMs);
    return { supergraphSdl: first.sdl, cleanup: async () => clearInterval(timer) };
  };

  return { hook, status };
}
