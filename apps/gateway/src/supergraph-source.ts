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
/** How many revisions before the latest a starting gateway may fall back to (each costs one fetch, and a health check if its URLs differ). */
const FALLBACK_REVISIONS = 5;

interface Supergraph {
  revision: string;
  sdl: string;
}

/** A supergraph's subgraph names, or routing URLs, as one key. */
const keyOf = (sdl: string, part: 'name' | 'url') =>
  subgraphsOf(sdl)
    .map((s) => s[part])
    .sort()
    .join(' ');

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
  let current: Supergraph | undefined;
  let fileMtime: number | undefined;

  /** The registry's supergraph: the latest (undefined when `etag` names it), or the given revision. */
  async function fetchFromRegistry(
    registry: { url: string; key: string },
    at: { etag?: string; revision?: number },
  ): Promise<Supergraph | undefined> {
    const res = await request(`${registry.url}/v1/supergraph${at.revision === undefined ? '' : `?revision=${at.revision}`}`, {
      headers: {
        authorization: `Bearer ${await registryTokenFrom(registry.key)}`,
        ...(at.etag ? { 'if-none-match': `"${at.etag}"` } : {}),
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

  /** The source's newest supergraph, or undefined when it is the one served. */
  async function fetchNewer(): Promise<Supergraph | undefined> {
    if (opts.kind === 'file') {
      // The modification time says when to read; the content's hash names the revision (a write between the two cannot mislabel it).
      const mtime = (await stat(opts.path)).mtimeMs;
      if (mtime === fileMtime) return undefined;
      fileMtime = mtime;
      const sdl = await readFile(opts.path, 'utf8');
      const revision = createHash('sha256').update(sdl).digest('hex').slice(0, 12);
      return revision === current?.revision ? undefined : { revision, sdl };
    }
    return fetchFromRegistry(opts, { etag: current?.revision });
  }

  async function passes(sdl: string, healthCheck: (sdl: string) => Promise<void>): Promise<boolean> {
    try {
      await withTimeout(healthCheck(sdl), opts.healthCheckTimeoutMs);
      return true;
    } catch (err) {
      logger.debug({ err: errSummary(err) }, 'supergraph health check failed');
      return false;
    }
  }

  /**
   * What a starting gateway serves: the registry's latest if its subgraphs
   * answer; else the newest of the few revisions before it whose subgraphs
   * do (a publish with a URL that does not answer must not take a restarted
   * gateway down); else the latest all the same, since in a full-stack start
   * every subgraph may still be starting. The poll then switches to the
   * latest once it passes, as for any refused supergraph.
   */
  async function startingSupergraph(latest: Supergraph, healthCheck: (sdl: string) => Promise<void>): Promise<Supergraph> {
    if (opts.kind !== 'registry' || (await passes(latest.sdl, healthCheck))) return latest;
    // Two revisions with the same URLs pass or fail alike: each set is checked once.
    const failed = new Set([keyOf(latest.sdl, 'url')]);
    const names = keyOf(latest.sdl, 'name');
    const newest = Number(latest.revision);
    for (let revision = newest - 1; revision >= Math.max(1, newest - FALLBACK_REVISIONS); revision--) {
      let older: Supergraph | undefined;
      try {
        older = await fetchFromRegistry(opts, { revision });
      } catch (err) {
        logger.warn({ err: errSummary(err), revision }, 'an older supergraph could not be fetched; serving the latest');
        break;
      }
      // Only a revision with the same subgraphs: one without a subgraph that is merely down (or a newly joined one) would drop its fields.
      if (!older || keyOf(older.sdl, 'name') !== names || failed.has(keyOf(older.sdl, 'url'))) continue;
      if (!(await passes(older.sdl, healthCheck))) {
        failed.add(keyOf(older.sdl, 'url'));
        continue;
      }
      // The latest's subgraphs may have come up meanwhile (they start with the gateway): asked once more before settling for an older one.
      if (await passes(latest.sdl, healthCheck)) return latest;
      logger.warn(
        { refused: latest.revision, serving: older.revision },
        'the latest supergraph failed its health check at start; serving an older one until it passes',
      );
      return older;
    }
    logger.warn(
      { revision: latest.revision },
      'no recent supergraph passed its health check at start; serving the latest (its subgraphs may be starting)',
    );
    return latest;
  }

  function served(next: Supergraph): void {
    current = next;
    status.revision = next.revision;
    status.loadedAt = new Date().toISOString();
    status.subgraphs = subgraphsOf(next.sdl);
    // A refusal is about a supergraph older than the one now served.
    delete status.refused;
  }

  const hook: SupergraphSdlHook = async ({ update, healthCheck }) => {
    // Start-up waits (bounded) for the source, then serves its latest, or an older revision when only that one's subgraphs answer.
    let latest: Supergraph | undefined;
    for (let attempt = 1; !latest; attempt++) {
      try {
        latest = await fetchNewer();
      } catch (err) {
        if (attempt >= FIRST_LOAD_ATTEMPTS) throw err;
        logger.warn({ err: errSummary(err), attempt }, 'no supergraph yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 3000)));
      }
    }
    const first = await startingSupergraph(latest, healthCheck);
    served(first);
    if (first !== latest)
      status.refused = { revision: latest.revision, code: 'SUBGRAPH_HEALTH_CHECK_FAILED', at: new Date().toISOString() };
    logger.info({ source: opts.kind, revision: first.revision, subgraphs: status.subgraphs.map((s) => s.name) }, 'supergraph loaded');

    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        let next: Supergraph | undefined;
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
