/**
 * Sums V8 CPU profiles (.cpuprofile) by where the time was spent: self time per package (each
 * @opentelemetry package on its own), Node's internal module, or V8's own (GC, program),, and the totals of
 * OpenTelemetry's packages and of AsyncLocalStorage (its promise hooks). `--per N` divides every figure by N (the requests the profile covers).
 *
 *   node bench/dist/profile-summary.js [--per 800] [--top 25] a.cpuprofile [b.cpuprofile ...]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: argv, positionals } = parseArgs({
  options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '25' } },
  allowPositionals: true,
  strict: true,
});

/** The package or module a frame belongs to. */
function where(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) {
    const mod = url.slice(5);
    return /async_hooks|async_local_storage|promise_hooks/.test(mod)
      ? 'node: async_hooks (AsyncLocalStorage)'
      : `node:${mod.split('/').slice(0, 2).join('/')}`;
  }
  return 'usergraph';
}

const per = Number(argv.per);
const self = new Map<string, number>();
const selfFn = new Map<string, number>();
let total = 0;
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    total += ms;
    // A builtin without a script (JSON.parse, a Promise's then, a Map's set) counts for the package that called it.
    let key = where(frame);
    if (key === '(native)') {
      let up = parent.get(id);
      while (up !== undefined && !byId.get(up)!.callFrame.url) up = parent.get(up);
      key = `${up === undefined ? '?' : where(byId.get(up)!.callFrame)} (builtins)`;
    }
    self.set(key, (self.get(key) ?? 0) + ms);
    const fn = `${key} ${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-1)[0] ?? ''}`;
    selfFn.set(fn, (selfFn.get(fn) ?? 0) + ms);
  });
}
const fmt = (ms: number) => `${(ms / per).toFixed(3).padStart(8)} ms  ${((ms / total) * 100).toFixed(1).padStart(5)}%`;
const otelSelf = [...self]
  .filter(([k]) => k.startsWith('@opentelemetry/') || k.startsWith('import-in-the-middle'))
  .reduce((a, [, v]) => a + v, 0);
const alsSelf = self.get('node: async_hooks (AsyncLocalStorage)') ?? 0;
process.stdout.write(`busy ${fmt(total)}\n`);
process.stdout.write(`OpenTelemetry packages' own code (and the builtins they call) ${fmt(otelSelf)}\n`);
process.stdout.write(`AsyncLocalStorage and async hooks ${fmt(alsSelf)}\n\nself time by package:\n`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(argv.top))) process.stdout.write(`${fmt(v)}  ${k}\n`);
process.stdout.write('\nself time by function:\n');
for (const [k, v] of [...selfFn].sort((a, b) => b[1] - a[1]).slice(0, Number(argv.top))) process.stdout.write(`${fmt(v)}  ${k}\n`);
