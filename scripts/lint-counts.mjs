// `node scripts/lint-counts.mjs <paths...>`: ESLint's problems under the given paths, counted per
// rule (and how many `eslint --fix` would fix), to size a lint pass before starting it.
import { ESLint } from 'eslint';

const paths = process.argv.slice(2);
if (paths.length === 0) {
  process.stderr.write('usage: node scripts/lint-counts.mjs <file or directory>...\n');
  process.exit(2);
}
const results = await new ESLint().lintFiles(paths);
const counts = new Map();
let total = 0;
let fixable = 0;
for (const result of results) {
  for (const message of result.messages) {
    const rule = message.ruleId ?? '(parse error)';
    counts.set(rule, (counts.get(rule) ?? 0) + 1);
    total += 1;
    if (message.fix) fixable += 1;
  }
}
for (const [rule, n] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`${String(n).padStart(5)}  ${rule}\n`);
process.stdout.write(`${String(total).padStart(5)}  total (${fixable} fixable with eslint --fix)\n`);
process.exitCode = total > 0 ? 1 : 0;
