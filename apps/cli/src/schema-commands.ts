/**
 * `usergraph schema ...`: a subgraph team's CI talks to the schema registry
 * (docs/schema-registry.md). Every command prints a readable report and
 * returns its exit status: 0 done, 1 refused or failed, 2 bad usage.
 *
 * Reaches the registry at REGISTRY_URL with REGISTRY_KEY (the team's key from
 * `usergraph schema credential`); on a development machine, without them, the
 * stack `npm start` left in .data/ and a key derived from its dev secrets.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { repoRoot } from '@usergraph/embedded-store';
import { READER, registryKeyFor, registryTokenFrom, subgraphPrincipal } from '@usergraph/service-kit';
import { loadSchemaEnv, type SchemaEnv } from './env.js';
import { loadOrCreateDevSecrets } from './secrets.js';
import { stackStateFile } from './stack.js';

export interface RegistryConnection {
  url: string;
  /** The key for a principal: the team's own REGISTRY_KEY, or one derived from the dev secrets. */
  keyFor(principal: string): string;
}

export interface RegistryAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function registryConnection(env: SchemaEnv = loadSchemaEnv()): RegistryConnection {
  if (env.REGISTRY_URL) {
    const key = env.REGISTRY_KEY;
    if (!key && !env.REGISTRY_SECRET)
      throw new Error("REGISTRY_URL is set but REGISTRY_KEY is not: ask the registry operator for your subgraph's key");
    return { url: env.REGISTRY_URL, keyFor: (principal) => key ?? registryKeyFor(env.REGISTRY_SECRET!, principal) };
  }
  const dataDir = env.USERGRAPH_DATA_DIR ?? join(repoRoot(), '.data');
  if (!existsSync(stackStateFile(dataDir)))
    throw new Error('No registry found: set REGISTRY_URL and REGISTRY_KEY, or start a stack with `npm start`.');
  const urls = (JSON.parse(readFileSync(stackStateFile(dataDir), 'utf8')) as { urls: Record<string, string> }).urls;
  if (!urls.registry) throw new Error(`The stack in ${dataDir} has no registry: restart it with this version's \`npm start\`.`);
  const secret = loadOrCreateDevSecrets(join(dataDir, 'secrets.json'), env).secrets.REGISTRY_SECRET;
  return { url: urls.registry, keyFor: (principal) => env.REGISTRY_KEY ?? registryKeyFor(secret, principal) };
}

export async function callRegistry(
  conn: RegistryConnection,
  principal: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<RegistryAnswer> {
  const res = await request(`${conn.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await registryTokenFrom(conn.keyFor(principal))}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const text = await res.body.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { error: { code: 'BAD_ANSWER', message: `the registry answered ${res.statusCode} with no JSON` } };
  }
  return { status: res.statusCode, body: parsed };
}

interface Change {
  level: string;
  type: string;
  path?: string;
  message: string;
}

type Out = (line: string) => void;

function printChanges(out: Out, changes: Change[]): void {
  const breaking = changes.filter((c) => c.level === 'BREAKING');
  const other = changes.filter((c) => c.level !== 'BREAKING');
  out(
    breaking.length ? `FAIL  ${breaking.length} breaking change(s) for clients of the supergraph:` : 'ok    no breaking change for clients',
  );
  for (const c of breaking) out(`        - ${c.type} ${c.path ?? ''}: ${c.message}`);
  if (other.length) out(`      ${other.length} other change(s):`);
  for (const c of other) out(`        - ${c.level} ${c.type} ${c.path ?? ''}: ${c.message}`);
}

function printRefusal(out: Out, answer: RegistryAnswer): void {
  const error = (answer.body.error ?? {}) as {
    code?: string;
    message?: string;
    field?: string;
    errors?: Array<{ code: string; message: string }>;
    changes?: Change[];
    fields?: string[];
  };
  out(`FAIL  ${error.code ?? answer.status}: ${error.message ?? 'refused'}`);
  for (const f of error.fields ?? []) out(`        - ${f}`);
  for (const e of error.errors ?? []) out(`        - ${e.code}: ${e.message.replace(/\n/g, '\n          ')}`);
  if (error.changes) printChanges(out, error.changes);
}

const USAGE = `usage: usergraph schema <command>
  check     --subgraph NAME --schema FILE [--url URL]
  publish   --subgraph NAME --schema FILE --url URL [--message TEXT] [--commit SHA] [--allow-breaking --reason TEXT]
  list
  history   --subgraph NAME
  diff      FROM TO            (a supergraph revision, e.g. 12, or a subgraph version, e.g. identity@3)
  rollback  --subgraph NAME --to VERSION [--message TEXT]
  credential (--subgraph NAME | --reader)   prints a key; needs REGISTRY_SECRET
  print     --subgraph NAME    prints one of this repository's subgraphs' SDL (identity, org-users, licensing)
Options: --json prints the registry's answer as JSON.`;

const readSchema = (file: string) => readFileSync(file, 'utf8');

/** Runs one `usergraph schema` command; returns the exit status. */
export async function schemaCommand(
  argv: string[],
  out: Out = (l) => process.stdout.write(`${l}\n`),
  env: SchemaEnv = loadSchemaEnv(),
): Promise<number> {
  const [command, ...rest] = argv;
  const parse = () =>
    parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        subgraph: { type: 'string' },
        schema: { type: 'string' },
        url: { type: 'string' },
        message: { type: 'string' },
        commit: { type: 'string' },
        'allow-breaking': { type: 'boolean', default: false },
        reason: { type: 'string' },
        to: { type: 'string' },
        reader: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    // An unknown or malformed flag is bad usage (exit 2), not a failed check.
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const need = (...names: Array<keyof typeof values>) => {
    const missing = names.filter((n) => values[n] === undefined);
    if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
  };
  const actor = env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.USER;
  const commit = values.commit ?? env.GITHUB_SHA ?? env.CI_COMMIT_SHA;

  if (command === 'credential') {
    if (!env.REGISTRY_SECRET) throw new UsageError('REGISTRY_SECRET is needed to derive a key');
    if (values.reader === (values.subgraph !== undefined)) throw new UsageError('give either --subgraph NAME or --reader');
    out(registryKeyFor(env.REGISTRY_SECRET, values.reader ? READER : subgraphPrincipal(values.subgraph!)));
    return 0;
  }
  if (command === 'print') {
    need('subgraph');
    // Loaded only here: it reads every local subgraph's schema files.
    const { LOCAL_SUBGRAPHS } = await import('./local-subgraphs.js');
    const sdlOf = (LOCAL_SUBGRAPHS as Record<string, () => string>)[values.subgraph!];
    if (!sdlOf) throw new UsageError(`${values.subgraph} is not one of ${Object.keys(LOCAL_SUBGRAPHS).join(', ')}`);
    out(sdlOf());
    return 0;
  }
  const conn = registryConnection(env);
  const report = (answer: RegistryAnswer, print: () => void): number => {
    if (values.json) out(JSON.stringify(answer.body, null, 2));
    if (answer.status >= 300) {
      if (!values.json) printRefusal(out, answer);
      return 1;
    }
    if (!values.json) print();
    return 0;
  };

  switch (command) {
    case 'check': {
      need('subgraph', 'schema');
      const answer = await callRegistry(conn, values.subgraph ? subgraphPrincipal(values.subgraph) : READER, 'POST', '/v1/check', {
        subgraph: values.subgraph,
        sdl: readSchema(values.schema!),
        url: values.url,
      });
      const status = report(answer, () => {
        const composition = answer.body.composition as { ok: boolean; errors?: Array<{ code: string; message: string }> };
        out(`check ${values.subgraph} (${values.schema})`);
        if (composition.ok) out("ok    composes with every other subgraph's current version");
        else {
          out('FAIL  does not compose with the current subgraphs:');
          for (const e of composition.errors ?? []) out(`        - ${e.code}: ${e.message.replace(/\n/g, '\n          ')}`);
        }
        const takenOver = (answer.body.takenOver as string[] | undefined) ?? [];
        if (takenOver.length) out(`FAIL  would resolve fields another subgraph owns (FIELD_TAKEOVER): ${takenOver.join(', ')}`);
        printChanges(out, (answer.body.changes as Change[] | undefined) ?? []);
      });
      return status === 0 && answer.body.ok !== true ? 1 : status;
    }
    case 'publish': {
      need('subgraph', 'schema', 'url');
      if (values['allow-breaking'] && !values.reason) throw new UsageError('--allow-breaking needs --reason TEXT (it is recorded)');
      if (values.reason && !values['allow-breaking']) throw new UsageError('--reason goes with --allow-breaking');
      const answer = await callRegistry(conn, subgraphPrincipal(values.subgraph!), 'POST', '/v1/publish', {
        subgraph: values.subgraph,
        sdl: readSchema(values.schema!),
        url: values.url,
        message: values.message,
        commit,
        actor,
        allowBreakingReason: values['allow-breaking'] ? values.reason : undefined,
      });
      return report(answer, () => {
        const b = answer.body as { status: string; version: number; revision: number; changes: Change[] };
        if (b.status === 'unchanged')
          return out(`ok    ${values.subgraph}@${b.version} is already live (supergraph revision ${b.revision}): nothing to publish`);
        out(`ok    published ${values.subgraph}@${b.version}: supergraph revision ${b.revision}`);
        if (b.changes.length) printChanges(out, b.changes);
      });
    }
    case 'list': {
      const answer = await callRegistry(conn, READER, 'GET', '/v1/subgraphs');
      return report(answer, () => {
        const b = answer.body as {
          revision: number | null;
          subgraphs: Array<{ name: string; version: number; url: string; publishedAt?: string; actor?: string }>;
        };
        out(b.revision === null ? 'nothing published yet' : `supergraph revision ${b.revision}`);
        for (const s of b.subgraphs)
          out(`  ${s.name.padEnd(16)} v${String(s.version).padEnd(5)} ${s.url}  ${s.publishedAt ?? ''} ${s.actor ?? ''}`);
      });
    }
    case 'history': {
      need('subgraph');
      const answer = await callRegistry(conn, READER, 'GET', `/v1/history?subgraph=${encodeURIComponent(values.subgraph!)}`);
      return report(answer, () => {
        const b = answer.body as {
          versions: Array<{
            version: number;
            action: string;
            url: string;
            rolledBackTo?: number;
            publishedBy: string;
            actor?: string;
            publishedAt: string;
            message?: string;
            commit?: string;
            allowBreakingReason?: string;
          }>;
        };
        if (b.versions.length === 0) out(`${values.subgraph}: no version`);
        for (const v of b.versions) {
          const why = [v.message, v.commit && `commit ${v.commit}`, v.allowBreakingReason && `breaking allowed: ${v.allowBreakingReason}`]
            .filter(Boolean)
            .join('; ');
          const action = `${v.action}${v.rolledBackTo ? ` to v${v.rolledBackTo}` : ''}`;
          out(
            `  v${v.version}  ${v.publishedAt}  ${action}  by ${v.actor ?? v.publishedBy} (${v.publishedBy})  ${v.url}${why ? `  — ${why}` : ''}`,
          );
        }
      });
    }
    case 'diff': {
      if (positionals.length !== 2) throw new UsageError('diff takes FROM and TO');
      const answer = await callRegistry(
        conn,
        READER,
        'GET',
        `/v1/diff?from=${encodeURIComponent(positionals[0]!)}&to=${encodeURIComponent(positionals[1]!)}`,
      );
      return report(answer, () => {
        const changes = answer.body.changes as Change[];
        out(`diff ${positionals[0]} -> ${positionals[1]}: ${changes.length} change(s)`);
        for (const c of changes) out(`  - ${c.level} ${c.type} ${c.path ?? ''}: ${c.message}`);
      });
    }
    case 'rollback': {
      need('subgraph', 'to');
      const version = Number(values.to);
      if (!Number.isInteger(version) || version < 1) throw new UsageError('--to takes a version number');
      const answer = await callRegistry(conn, subgraphPrincipal(values.subgraph!), 'POST', '/v1/rollback', {
        subgraph: values.subgraph,
        version,
        message: values.message,
        actor,
      });
      return report(answer, () => {
        const b = answer.body as { version: number; revision: number; changes: Change[] };
        out(`ok    ${values.subgraph} rolled back to v${version} as v${b.version}: supergraph revision ${b.revision}`);
        if (b.changes.length) printChanges(out, b.changes);
      });
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command');
  }
}

export class UsageError extends Error {}

export { USAGE as SCHEMA_USAGE };
