import type { ServerResponse } from 'node:http';
import { buildASTSchema, parse, type GraphQLSchema } from 'graphql';
import type mongoose from 'mongoose';
import { z } from 'zod';
import { isDatabaseReady, isDuplicateKeyError } from '@usergraph/mongo';
import {
  bearerToken,
  closeServer,
  principalOf,
  READER,
  subgraphPrincipal,
  createServiceHttpServer,
  errSummary,
  listen,
  sendJson,
  type Logger,
  type RequestInfo,
  type RouteHandler,
} from '@usergraph/service-kit';
import { isAllowedRoutingUrl } from './allowed-hosts.js';
import { apiSchemaOf, changesBetween, compose, fieldsTakenOver, type Problem, type SchemaChange, type SubgraphInput } from './compose.js';
import type { RegistryEnv } from './env.js';
import { createCompositionLimiter, sdlTooLarge } from './guards.js';
import {
  ensureIndexes,
  findVersion,
  latestRevision,
  latestSupergraph,
  nextVersion,
  registryCollections,
  withRevisions,
  type VersionDoc,
} from './store.js';

const subgraphName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, { error: 'must be 1-40 lowercase letters, digits or hyphens, starting with a letter' });
const routingUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const sdl = z.string().min(1).max(1_000_000);
const note = z.string().trim().min(1).max(500);

const checkBody = z.object({ subgraph: subgraphName, sdl, url: routingUrl.optional() });
const publishBody = z.object({
  subgraph: subgraphName,
  sdl,
  url: routingUrl,
  message: note.optional(),
  commit: z
    .string()
    .regex(/^[0-9A-Za-z._/-]{1,100}$/, { error: 'must be a commit id' })
    .optional(),
  actor: z.string().trim().min(1).max(100).optional(),
  /** Lets breaking changes through; the reason is recorded with the version. */
  allowBreakingReason: note.optional(),
});
const rollbackBody = z.object({
  subgraph: subgraphName,
  version: z.number().int().positive(),
  message: note.optional(),
  actor: z.string().trim().min(1).max(100).optional(),
});

/** A refusal with a code a CI script can act on; never English to be matched. */
class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const fail = (res: ServerResponse, err: RegistryError) =>
  sendJson(res, err.status, { error: { code: err.code, message: err.message, ...err.details } });

interface Outcome {
  composition: Composition;
  changes: SchemaChange[];
  /** Other subgraphs' fields the candidate would newly resolve: refused whatever the flags. */
  takenOver: string[];
}
type Composition = { ok: true; supergraphSdl: string } | { ok: false; errors: Problem[] };

export async function startRegistry(env: RegistryEnv, logger: Logger, conn: mongoose.Connection) {
  const c = registryCollections(conn);
  await ensureIndexes(c);

  /** The current subgraphs with `candidate` in place of its own current version; composed and compared with the current supergraph. */
  async function evaluate(candidate: SubgraphInput): Promise<Outcome> {
    const tooLarge = sdlTooLarge(candidate.sdl, env);
    if (tooLarge) throw new RegistryError(422, tooLarge.code, tooLarge.message, { field: 'sdl' });
    const current = await latestSupergraph(c);
    const others: SubgraphInput[] = [];
    for (const part of current?.subgraphs ?? []) {
      if (part.name === candidate.name) continue;
      const doc = await findVersion(c, part.name, part.version);
      if (!doc) throw new Error(`registry: supergraph ${current!.revision} names ${part.name}@${part.version}, which is missing`);
      others.push({ name: part.name, sdl: doc.sdl, url: part.url });
    }
    try {
      const composed = compose([...others, candidate]);
      if (!composed.ok) return { composition: composed, changes: [], takenOver: [] };
      const changes = current ? await changesBetween(apiSchemaOf(current.sdl), composed.apiSchema) : [];
      const takenOver = current ? fieldsTakenOver(current.sdl, composed.supergraphSdl, candidate.name) : [];
      return { composition: { ok: true, supergraphSdl: composed.supergraphSdl }, changes, takenOver };
    } catch (err) {
      // Composition itself can throw on a pathological schema (a RangeError on deep recursion): bad input, not a crash.
      logger.warn({ err: errSummary(err), subgraph: candidate.name }, 'composition threw');
      throw new RegistryError(
        422,
        'COMPOSITION_FAILED',
        'the subgraph could not be composed: the schema is too large or too deeply nested',
      );
    }
  }

  const allowed = createCompositionLimiter(env);
  /** Every call that composes counts against its principal's budget. */
  async function throttle(principal: string): Promise<void> {
    const retryAfter = await allowed(principal);
    if (retryAfter !== undefined)
      throw new RegistryError(429, 'RATE_LIMITED', `too many checks and publishes; try again in ${retryAfter} s`, { retryAfter });
  }

  const breakingOf = (changes: SchemaChange[]) => changes.filter((ch) => ch.level === 'BREAKING');

  /**
   * Checks and publishes run one at a time here (each composes: two at once would only share the CPU);
   * the unique indexes refuse a second registry's race (answered CONFLICT).
   */
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    // eslint-disable-next-line no-restricted-syntax -- not swallowed: the caller gets the error from `run`; the queue only waits for its turn to end
    queue = run.catch(() => undefined);
    return run;
  };

  /** Clients' Authorization headers go to every routing URL: only to hosts the operator listed. */
  function mustBeAllowed(url: string): void {
    if (!isAllowedRoutingUrl(url, env.allowedUrlHosts))
      throw new RegistryError(403, 'URL_NOT_ALLOWED', `url: the host ${new URL(url).host} is not in REGISTRY_ALLOWED_URL_HOSTS`, {
        field: 'url',
      });
  }

  async function release(input: Omit<VersionDoc, 'version' | 'revision' | 'publishedAt' | 'breakingChanges'>, allowBreaking: boolean) {
    // Before anything else: a rollback to a version routed to a host no longer allowed is refused too.
    mustBeAllowed(input.url);
    const current = await latestSupergraph(c);
    const live = current?.subgraphs.find((s) => s.name === input.subgraph);
    if (live && input.action === 'publish') {
      const liveDoc = await findVersion(c, live.name, live.version);
      // Deploying the same schema again (every `npm start`, every redeploy) is not a new version.
      if (liveDoc?.sdl === input.sdl && live.url === input.url)
        return { status: 'unchanged' as const, version: live.version, revision: current!.revision, changes: [] };
    }
    const outcome = await evaluate({ name: input.subgraph, sdl: input.sdl, url: input.url });
    if (!outcome.composition.ok)
      throw new RegistryError(422, 'COMPOSITION_FAILED', 'the subgraph does not compose with the current supergraph', {
        errors: outcome.composition.errors,
      });
    if (outcome.takenOver.length > 0) {
      throw new RegistryError(403, 'FIELD_TAKEOVER', 'the subgraph would resolve fields another subgraph owns', {
        fields: outcome.takenOver,
      });
    }
    const breaking = breakingOf(outcome.changes);
    if (breaking.length > 0 && !allowBreaking) {
      throw new RegistryError(
        409,
        'BREAKING_CHANGES',
        'the change breaks clients of the current supergraph; publish with --allow-breaking and a reason',
        { changes: breaking },
      );
    }
    const version = await nextVersion(c, input.subgraph);
    const revision = (current?.revision ?? 0) + 1;
    const subgraphs = [
      ...(current?.subgraphs ?? []).filter((s) => s.name !== input.subgraph),
      { name: input.subgraph, version, url: input.url },
    ].sort((a, b) => a.name.localeCompare(b.name));
    try {
      // The reason is recorded only when it let something through.
      const { allowBreakingReason, ...rest } = input;
      await c.versions.insertOne({
        ...rest,
        ...(breaking.length > 0 && allowBreakingReason ? { allowBreakingReason } : {}),
        version,
        publishedAt: new Date(),
        breakingChanges: breaking.map(({ type, path, message }) => ({ type, ...(path ? { path } : {}), message })),
      });
      await c.supergraphs.insertOne({ revision, sdl: outcome.composition.supergraphSdl, subgraphs, createdAt: new Date() });
      // Only now is the version live: a crash or a CONFLICT before this leaves it with no revision, never another publish's one.
      await c.versions.updateOne({ subgraph: input.subgraph, version }, { $set: { revision } });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new RegistryError(409, 'CONFLICT', 'another publish happened at the same time; run it again');
      throw err;
    }
    logger.info(
      { subgraph: input.subgraph, version, revision, action: input.action, publishedBy: input.publishedBy, breaking: breaking.length },
      'supergraph revision published',
    );
    return { status: 'published' as const, version, revision, changes: outcome.changes };
  }

  /** The caller's verified principal, or a 401. */
  async function authenticate(info: RequestInfo): Promise<string> {
    let token: string | undefined;
    try {
      token = bearerToken(info.req.headers.authorization);
    } catch {
      token = undefined;
    }
    const principal = token ? await principalOf(env.REGISTRY_SECRET, token) : undefined;
    if (!principal) throw new RegistryError(401, 'UNAUTHENTICATED', 'a registry credential is required (REGISTRY_KEY)');
    return principal;
  }

  function mayChange(principal: string, subgraph: string): void {
    if (principal !== subgraphPrincipal(subgraph))
      throw new RegistryError(403, 'FORBIDDEN', `this credential may not change the subgraph ${subgraph}`);
  }

  function parseBody<S extends z.ZodType>(schema: S, info: RequestInfo): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(info.body.toString('utf8'));
    } catch {
      throw new RegistryError(400, 'BAD_REQUEST', 'the body is not JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RegistryError(400, 'BAD_REQUEST', `${issue.path.join('.') || 'body'}: ${issue.message}`, { field: issue.path.join('.') });
    }
    return parsed.data;
  }

  const route =
    (handler: (info: RequestInfo, res: ServerResponse, principal: string) => Promise<void>): RouteHandler =>
    async (info, res) => {
      try {
        await handler(info, res, await authenticate(info));
      } catch (err) {
        if (err instanceof RegistryError) return fail(res, err);
        logger.error({ err: errSummary(err), requestId: info.requestId }, 'registry request failed');
        sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error', requestId: info.requestId } });
      }
    };

  const query = (info: RequestInfo) => new URL(info.req.url ?? '/', 'http://localhost').searchParams;

  /** `<revision>` is a supergraph's API schema; `<subgraph>@<version>` one subgraph version's own SDL. */
  async function schemaAt(ref: string): Promise<GraphQLSchema> {
    const at = /^([a-z][a-z0-9-]{0,39})@(\d{1,9})$/.exec(ref);
    if (at) {
      const doc = await findVersion(c, at[1]!, Number(at[2]));
      if (!doc) throw new RegistryError(404, 'NOT_FOUND', `no version ${ref}`);
      return buildASTSchema(parse(doc.sdl), { assumeValid: true, assumeValidSDL: true });
    }
    if (!/^\d{1,9}$/.test(ref))
      throw new RegistryError(400, 'BAD_REQUEST', `${ref}: expected a supergraph revision (12) or a subgraph version (identity@3)`);
    const doc = await c.supergraphs.findOne({ revision: Number(ref) });
    if (!doc) throw new RegistryError(404, 'NOT_FOUND', `no supergraph revision ${ref}`);
    return apiSchemaOf(doc.sdl);
  }

  const server = createServiceHttpServer({
    service: 'registry',
    logger,
    maxBodyBytes: env.MAX_BODY_BYTES,
    ready: () => isDatabaseReady(conn),
    routes: {
      // Polled by every gateway: costs one indexed read when nothing changed.
      // `?revision=N`: an older one, for a gateway whose latest fails its health check at start.
      'GET /v1/supergraph': route(async (info, res) => {
        const asked = query(info).get('revision');
        if (asked !== null && !/^[1-9]\d{0,8}$/.test(asked))
          throw new RegistryError(400, 'BAD_REQUEST', 'revision: must be a supergraph revision number', { field: 'revision' });
        const revision = asked !== null ? Number(asked) : await latestRevision(c);
        if (revision === undefined) throw new RegistryError(404, 'NO_SUPERGRAPH', 'nothing has been published yet');
        const etag = `"${revision}"`;
        if (asked === null && info.req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag });
          return void res.end();
        }
        const doc = await c.supergraphs.findOne({ revision });
        if (!doc) throw new RegistryError(404, 'NOT_FOUND', `no supergraph revision ${revision}`);
        sendJson(res, 200, { revision, supergraphSdl: doc.sdl, subgraphs: doc.subgraphs }, { etag });
      }),
      'GET /v1/subgraphs': route(async (_info, res) => {
        const current = await latestSupergraph(c);
        const subgraphs = await Promise.all(
          (current?.subgraphs ?? []).map(async (s) => {
            const doc = await findVersion(c, s.name, s.version);
            return {
              name: s.name,
              version: s.version,
              url: s.url,
              publishedBy: doc?.publishedBy,
              actor: doc?.actor,
              publishedAt: doc?.publishedAt,
              message: doc?.message,
              commit: doc?.commit,
            };
          }),
        );
        sendJson(res, 200, { revision: current?.revision ?? null, subgraphs });
      }),
      'GET /v1/history': route(async (info, res) => {
        const name = subgraphName.safeParse(query(info).get('subgraph'));
        if (!name.success) throw new RegistryError(400, 'BAD_REQUEST', 'subgraph: a subgraph name is required', { field: 'subgraph' });
        const versions = await c.versions
          .find({ subgraph: name.data }, { sort: { version: -1 }, projection: { sdl: 0, _id: 0 }, limit: 200 })
          .toArray();
        sendJson(res, 200, { subgraph: name.data, versions: await withRevisions(c, name.data, versions) });
      }),
      'GET /v1/diff': route(async (info, res) => {
        const q = query(info);
        const [from, to] = [q.get('from') ?? '', q.get('to') ?? ''];
        sendJson(res, 200, { from, to, changes: await changesBetween(await schemaAt(from), await schemaAt(to)) });
      }),
      // A team may check any subgraph: it writes nothing. Not the gateways' reader key: a check costs a composition.
      'POST /v1/check': route(async (info, res, principal) => {
        if (principal === READER)
          throw new RegistryError(403, 'FORBIDDEN', 'the reader credential may not check; use a subgraph credential');
        const body = parseBody(checkBody, info);
        if (body.url !== undefined) mustBeAllowed(body.url);
        await throttle(principal);
        const outcome = await serially(() =>
          evaluate({ name: body.subgraph, sdl: body.sdl, url: body.url ?? `http://${body.subgraph}.invalid/graphql` }),
        );
        const breaking = breakingOf(outcome.changes);
        sendJson(res, 200, {
          ok: outcome.composition.ok && breaking.length === 0 && outcome.takenOver.length === 0,
          composition: outcome.composition.ok ? { ok: true } : outcome.composition,
          takenOver: outcome.takenOver,
          changes: outcome.changes,
        });
      }),
      'POST /v1/publish': route(async (info, res, principal) => {
        const body = parseBody(publishBody, info);
        mayChange(principal, body.subgraph);
        await throttle(principal);
        const result = await serially(() =>
          release(
            {
              subgraph: body.subgraph,
              sdl: body.sdl,
              url: body.url,
              action: 'publish',
              publishedBy: principal,
              actor: body.actor,
              message: body.message,
              commit: body.commit,
              allowBreakingReason: body.allowBreakingReason,
            },
            body.allowBreakingReason !== undefined,
          ),
        );
        sendJson(res, result.status === 'published' ? 201 : 200, result);
      }),
      // A rollback is itself the deliberate decision: breaking changes are recorded, not refused; composition still is.
      'POST /v1/rollback': route(async (info, res, principal) => {
        const body = parseBody(rollbackBody, info);
        mayChange(principal, body.subgraph);
        await throttle(principal);
        const target = await findVersion(c, body.subgraph, body.version);
        if (!target) throw new RegistryError(404, 'NOT_FOUND', `no version ${body.subgraph}@${body.version}`);
        const result = await serially(() =>
          release(
            {
              subgraph: body.subgraph,
              sdl: target.sdl,
              url: target.url,
              action: 'rollback',
              rolledBackTo: body.version,
              publishedBy: principal,
              actor: body.actor,
              message: body.message ?? `rollback to ${body.version}`,
              allowBreakingReason: 'rollback',
            },
            true,
          ),
        );
        sendJson(res, 201, result);
      }),
    },
  });
  const port = await listen(server, env.PORT, env.HOST);
  logger.info({ port, host: env.HOST }, 'listening');
  return {
    port,
    close: () => closeServer(server),
  };
}
