// One image per app (Dockerfile targets, docker-compose.yml services), checked without a
// Docker engine: the Dockerfile and compose file are read as text, and each image's file set
// is rebuilt on the host exactly as its target builds it (scripts/docker-app.mjs, then
// `npm ci --omit=dev --workspace=...` from the npm cache) and started from that copy.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '@usergraph/embedded-store';

const root = repoRoot();
const apps = readdirSync(join(root, 'apps')).filter((name) => existsSync(join(root, 'apps', name, 'package.json')));
const services = apps.filter((app) => app !== 'cli');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages by name: continuation lines joined, comments dropped. */
function dockerfileStages(): Map<string, Stage> {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'FROM') {
      const match = /^(\S+) AS (\S+)$/.exec(args);
      if (!match) throw new Error(`unnamed stage: ${line}`);
      current = { from: match[1]!, instructions: [] };
      stages.set(match[2]!, current);
    } else current?.instructions.push({ op, args });
  }
  return stages;
}

const closure = (app: string) =>
  execFileSync(process.execPath, [join(root, 'scripts/docker-app.mjs'), 'list', app], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n');

const workspaceName = (dir: string) => (JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name: string }).name;

describe('Dockerfile: one target per app', () => {
  const stages = dockerfileStages();

  it('has exactly the shared stages and an <app>-deps stage and an <app> target per app', () => {
    const expected = ['base', 'manifests', 'build', 'runtime', ...apps.flatMap((app) => [`${app}-deps`, app])];
    expect([...stages.keys()].sort()).toEqual(expected.sort());
  });

  it.each(apps)('%s: production dependencies of its own workspace only, its build output only, its own entry point', (app) => {
    const deps = stages.get(`${app}-deps`)!;
    expect(deps.from).toBe('base');
    expect(deps.instructions).toEqual([
      { op: 'COPY', args: `--from=manifests /out/${app}/ ./` },
      { op: 'RUN', args: `--mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace=apps/${app}` },
    ]);
    const target = stages.get(app)!;
    expect(target.from).toBe('runtime');
    const copies = target.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toEqual([`--from=${app}-deps /app/ ./`, `--from=build /out/${app}/ ./`]);
    expect(target.instructions.find((i) => i.op === 'CMD')?.args).toBe(`["node", "apps/${app}/dist/main.js"]`);
    // The target may not switch back to root: the runtime stage's user stands.
    expect(target.instructions.filter((i) => i.op === 'USER')).toEqual([]);
  });

  it('runs every image as a non-root user in production mode', () => {
    const runtime = stages.get('runtime')!;
    expect(runtime.from).toBe('base');
    expect(runtime.instructions.filter((i) => i.op === 'USER').map((i) => i.args)).toEqual(['1000:1000']);
    expect(runtime.instructions.find((i) => i.op === 'ENV')?.args).toContain('NODE_ENV=production');
  });

  it('slices manifests and build output for every app directory with scripts/docker-app.mjs', () => {
    const run = (stage: string) =>
      stages
        .get(stage)!
        .instructions.filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join('\n');
    expect(run('manifests')).toContain('for dir in apps/*/;');
    expect(run('manifests')).toContain('node scripts/docker-app.mjs manifests "$app" . "/out/$app" || exit 1');
    expect(run('build')).toContain('for dir in apps/*/;');
    expect(run('build')).toContain('node scripts/docker-app.mjs files "$app" . "/out/$app" || exit 1');
  });
});

describe('docker-app.mjs: what each image holds', () => {
  it.each(apps)('%s: its closure holds every @usergraph package its entry point imports, transitively', (app) => {
    const dirs = closure(app);
    expect(dirs[0]).toBe(`apps/${app}`);
    const dirByName = new Map(apps.map((a) => [workspaceName(`apps/${a}`), `apps/${a}`]));
    for (const pkg of readdirSync(join(root, 'packages'))) dirByName.set(workspaceName(`packages/${pkg}`), `packages/${pkg}`);
    // Follows the built import graph from dist/main.js (static and dynamic imports), so a
    // stale file in dist/ or a test-only helper does not count.
    const needed = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport\(?)\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(join(file, '..', spec));
        else if (spec.startsWith('@usergraph/')) {
          const [scope, name, ...sub] = spec.split('/');
          const dir = dirByName.get(`${scope!}/${name!}`);
          expect(dir, spec).toBeDefined();
          needed.add(dir!);
          const exports = (
            JSON.parse(readFileSync(join(root, dir!, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> }
          ).exports;
          visit(join(root, dir!, exports[sub.length > 0 ? `./${sub.join('/')}` : '.']!.default));
        }
      }
    };
    visit(join(root, `apps/${app}/dist/main.js`));
    expect(seen.size).toBeGreaterThan(1);
    expect([...needed].filter((dir) => !dirs.includes(dir))).toEqual([]);
  });

  it('keeps other teams out: the gateway holds no subgraph, no subgraph holds another app', () => {
    expect(closure('gateway').filter((dir) => dir.startsWith('apps/'))).toEqual(['apps/gateway']);
    for (const app of services) expect(closure(app).filter((dir) => dir.startsWith('apps/'))).toEqual([`apps/${app}`]);
  });
});

describe('docker-compose.yml: each service on its own image', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<
      string,
      {
        image?: string;
        build?: { context: string; target?: string };
        command?: string[];
        environment?: Record<string, unknown>;
        networks?: string[];
      }
    >;
    networks?: Record<string, { internal?: boolean } | null>;
  };
  const stages = dockerfileStages();

  it('builds every Node service from a Dockerfile target of the same image name', () => {
    const built = Object.entries(compose.services).filter(([, s]) => s.build);
    expect(built.length).toBeGreaterThan(services.length);
    for (const [name, service] of built) {
      const target = service.build?.target;
      expect(target, name).toBeDefined();
      expect(apps, name).toContain(target);
      expect(stages.has(target!), name).toBe(true);
      expect(service.image, name).toBe(`\${USERGRAPH_REGISTRY_PREFIX:-usergraph}/${target!}:\${USERGRAPH_TAG:-local}`);
    }
  });

  it('runs each service from its own image and every publish step from the cli image', () => {
    for (const app of services) expect(compose.services[app]?.build?.target, app).toBe(app);
    const publishSteps = Object.keys(compose.services).filter((name) => name.startsWith('publish-'));
    expect(publishSteps.sort()).toEqual(['publish-identity', 'publish-licensing', 'publish-org-users']);
    for (const step of publishSteps) expect(compose.services[step]?.build?.target, step).toBe('cli');
    expect(compose.services.cli?.build?.target).toBe('cli');
  });

  it('gives the gateway its own service key, never the root INTERNAL_SERVICE_SECRET the subgraphs and the CLI hold', () => {
    const envOf = (name: string) => Object.keys(compose.services[name]?.environment ?? {});
    expect(envOf('gateway')).toContain('GATEWAY_SERVICE_KEY');
    expect(envOf('gateway')).not.toContain('INTERNAL_SERVICE_SECRET');
    for (const name of ['identity', 'org-users', 'licensing', 'cli']) expect(envOf(name), name).toContain('INTERNAL_SERVICE_SECRET');
  });

  it('keeps the gateway off the database network: MongoDB (no authentication here) is reachable only by the services that own data', () => {
    // A service with no `networks` is on compose's default network, which every such service shares.
    const networksOf = (name: string) => compose.services[name]?.networks ?? ['default'];
    const mongoNetworks = networksOf('mongo');
    for (const name of Object.keys(compose.services)) {
      const shared = networksOf(name).filter((n) => mongoNetworks.includes(n));
      if (['mongo', 'identity', 'org-users', 'licensing', 'registry'].includes(name)) expect(shared.length, name).toBeGreaterThan(0);
      else expect(shared, `${name} shares a network with mongo`).toEqual([]);
    }
    // And the database's network has no way out.
    for (const n of mongoNetworks) expect(compose.networks?.[n]?.internal, n).toBe(true);
  });
});

describe('each image file set, installed and started on the host', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    // A build still running (its test timed out) finishes before its directory goes.
    await Promise.all(builds.values());
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  // Async so the long installs do not block the test worker (vitest reports a blocked worker).
  // Generous timeouts: an install takes ~5 s alone, far longer on a loaded machine.
  const exec = promisify(execFile);

  /** Builds apps/<app>'s image tree in a temp dir: the same three steps as its Dockerfile target. */
  async function imageTree(app: string): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), `usergraph-image-${app}-`));
    dirs.push(dir);
    await exec(process.execPath, ['scripts/docker-app.mjs', 'manifests', app, '.', dir], { cwd: root });
    // --offline: everything is in the npm cache since the repo's own `npm ci`; nothing downloads here.
    // Without the npm_* variables of an enclosing `npm test` (npm_config_local_prefix names this repo).
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
    await exec('npm', ['ci', '--omit=dev', `--workspace=apps/${app}`, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      env,
    });
    await exec(process.execPath, ['scripts/docker-app.mjs', 'files', app, '.', dir], { cwd: root });
    return dir;
  }

  /** Runs node in the image tree with only PATH and NODE_ENV set; a non-zero exit is a result, not a throw. */
  async function run(dir: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec(process.execPath, args, {
        cwd: dir,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
      });
      return { status: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code?: number; stdout?: string; stderr?: string };
      return { status: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  /**
   * Every image tree, built two at a time from the start of this block: one install keeps one core
   * busy (its CPU time is its wall time), so two at once use both cores. Each test awaits its own
   * tree; a failed build fails that test, with its error.
   */
  const builds = new Map<string, Promise<{ dir: string } | { error: unknown }>>();
  beforeAll(() => {
    const lanes: Array<Promise<unknown>> = [Promise.resolve(), Promise.resolve()];
    [...services, 'cli'].forEach((app, i) => {
      const built = lanes[i % 2]!.then(() => imageTree(app)).then(
        (dir) => ({ dir }),
        (error: unknown) => ({ error }),
      );
      lanes[i % 2] = built;
      builds.set(app, built);
    });
  });
  async function treeOf(app: string): Promise<string> {
    const built = await builds.get(app)!;
    if ('error' in built) throw built.error;
    return built.dir;
  }

  it.each(services)(
    '%s: no dev tool installed, and main.js loads its whole module graph',
    async (app) => {
      const dir = await treeOf(app);
      for (const devTool of ['typescript', 'vitest', 'turbo', 'eslint'])
        expect(existsSync(join(dir, 'node_modules', devTool)), devTool).toBe(false);
      const others = apps.filter((other) => other !== app).filter((other) => existsSync(join(dir, 'apps', other)));
      expect(others).toEqual([]);
      // With no environment the service stops at its env check, which runs only after every
      // static import has resolved and loaded: a missing file or package fails earlier, with
      // ERR_MODULE_NOT_FOUND instead of this message.
      const result = await run(dir, [`apps/${app}/dist/main.js`]);
      expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
      expect(result.stderr).toContain(`${app}: invalid environment:`);
      expect(result.stderr).toContain('APOLLO_TELEMETRY_DISABLED');
      expect(result.status).not.toBe(0);
    },
    300_000,
  );

  it('cli: prints each subgraph schema, as the publish steps do, from its own image tree', async () => {
    const dir = await treeOf('cli');
    expect(existsSync(join(dir, 'apps/gateway'))).toBe(false);
    for (const subgraph of ['org-users', 'licensing', 'identity']) {
      const result = await run(dir, ['apps/cli/dist/main.js', 'schema', 'print', '--subgraph', subgraph]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation/);
    }
  }, 300_000);
});
