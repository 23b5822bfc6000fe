// Picks the files of one app's Docker image (the Dockerfile's per-app targets):
// the app's workspace and the @usergraph packages it depends on at run time,
// transitively, read from the package.json files at build time so the image
// cannot drift from the dependency graph. Node built-ins only: it runs before
// `npm ci`.
//
//   node scripts/docker-app.mjs list APP               closure, one directory a line
//   node scripts/docker-app.mjs manifests APP FROM TO  what `npm ci` reads
//   node scripts/docker-app.mjs files APP FROM TO      the built output (after the build)
//
// APP is a directory name under apps/ (identity, gateway, cli ...).
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Every workspace directory (relative, e.g. "apps/identity") by package name. */
export function workspaces(root) {
  const byName = new Map();
  for (const pattern of readJson(join(root, 'package.json')).workspaces) {
    const dirs = pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
      : [pattern];
    for (const dir of dirs) {
      const manifest = join(root, dir, 'package.json');
      if (existsSync(manifest)) byName.set(readJson(manifest).name, dir);
    }
  }
  return byName;
}

/**
 * The app's workspace directory first, then every workspace it needs at run
 * time (dependencies and optionalDependencies; never devDependencies), sorted.
 */
export function closure(root, app) {
  const byName = workspaces(root);
  const appDir = `apps/${app}`;
  if (![...byName.values()].includes(appDir)) throw new Error(`no workspace at ${appDir}`);
  const seen = new Set([appDir]);
  const pending = [appDir];
  while (pending.length > 0) {
    const manifest = readJson(join(root, pending.pop(), 'package.json'));
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      const dir = byName.get(name);
      if (dir !== undefined && !seen.has(dir)) {
        seen.add(dir);
        pending.push(dir);
      }
    }
  }
  seen.delete(appDir);
  return [appDir, ...[...seen].sort()];
}

function copyManifests(app, from, to) {
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(from, file), join(to, file));
  for (const dir of closure(from, app)) cpSync(join(from, dir, 'package.json'), join(to, dir, 'package.json'));
}

function copyFiles(app, from, to) {
  for (const dir of closure(from, app)) {
    cpSync(join(from, dir, 'package.json'), join(to, dir, 'package.json'));
    for (const output of ['dist', 'generated']) {
      if (existsSync(join(from, dir, output))) cpSync(join(from, dir, output), join(to, dir, output), { recursive: true });
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [command, app, from, to] = process.argv.slice(2);
  if (command === 'list' && app) console.log(closure(process.cwd(), app).join('\n'));
  else if (command === 'manifests' && app && from && to) copyManifests(app, from, to);
  else if (command === 'files' && app && from && to) copyFiles(app, from, to);
  else {
    console.error('usage: docker-app.mjs list APP | manifests APP FROM TO | files APP FROM TO');
    process.exit(2);
  }
}
