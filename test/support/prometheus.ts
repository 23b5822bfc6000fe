import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/** Debian's `prometheus` package (it brings promtool): installed here when missing, as the embedded store is built when missing. */
export function ensurePrometheus(): void {
  const has = (cmd: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has('prometheus') && has('promtool')) return;
  if (process.getuid?.() !== 0) throw new Error('prometheus is not installed: run `apt-get install -y prometheus` as root');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { stdio: 'inherit', env });
}

/** A port free right now on 127.0.0.1 (the metrics listeners need known ports for Prometheus's static config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts Prometheus scraping `targets` every second, with its data under `dir`. */
export async function startPrometheus(dir: string, targets: string[]): Promise<{ url: string; process: ChildProcess }> {
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: usergraph',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${url}/-/ready`).then(
      (res) => res.ok,
      (err: unknown) => {
        last = err; // not listening yet
        return false;
      },
    );
    if (ready) return { url, process: child };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error(`prometheus did not become ready in 20 s (last error: ${String(last)})`);
}
