/** The results table: printed to the terminal, and as Markdown for bench/README.md. */

export type Verdict = 'met' | 'not met' | 'not measured' | 'info';

export interface Row {
  id: string;
  scenario: string;
  figure: string;
  target: string;
  verdict: Verdict;
  note?: string;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function textTable(rows: Row[]): string {
  const head: Row = { id: '#', scenario: 'scenario', figure: 'measured', target: 'target', verdict: 'info' };
  const cols = [
    (r: Row) => r.id,
    (r: Row) => r.scenario,
    (r: Row) => r.figure,
    (r: Row) => r.target,
    (r: Row) => (r === head ? 'verdict' : r.verdict === 'info' ? '' : r.verdict.toUpperCase()),
  ];
  const widths = cols.map((c) => Math.min(70, Math.max(...[head, ...rows].map((r) => c(r).length))));
  const line = (r: Row) => cols.map((c, i) => pad(c(r), widths[i]!)).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.id} ${r.scenario}: ${r.note}`);
  return [line(head), sep, ...rows.map(line), ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

const md = (s: string) => s.replace(/\|/g, '\\|');

export function markdownTable(rows: Row[]): string {
  const verdict = (v: Verdict) => (v === 'met' ? '**met**' : v === 'not met' ? '**not met**' : v === 'not measured' ? 'not measured' : '');
  return [
    '| # | scenario | measured | target | verdict |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.id} | ${md(r.scenario)} | ${md(r.figure)} | ${md(r.target)} | ${verdict(r.verdict)} |`),
  ].join('\n');
}

export const ms = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? 'n/a' : n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`;
export const rate = (n: number | undefined, unit = 'req/s') =>
  n === undefined || Number.isNaN(n) ? 'n/a' : `${n >= 100 ? n.toFixed(0) : n.toFixed(1)} ${unit}`;
export const x = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : `${n.toFixed(2)}×`);
