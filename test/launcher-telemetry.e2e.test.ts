/**
 * Issue 15, `npm start` with metrics and tracing turned on, through the real
 * launcher: METRICS_PORT gives each service its own metrics listener (the
 * gateway METRICS_PORT, identity +1, org-users +2, licensing +3), each answers
 * /metrics for its own service; every OTEL_* variable reaches every service,
 * each under its own service name (a real Jaeger lists them); SIGTERM then
 * stops everything.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJaeger, type RunningJaeger } from '@usergraph/embedded-store';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { gql, removeDir, uniqueEmail } from './support/stack.js';
import { alive, childPid, exitWithin, launch, sleep, stopLauncher, waitForConsole, type Launcher } from './support/launcher.js';

const METRICS_SERVICES = ['gateway', 'identity', 'org-users', 'licensing'] as const;
const TRACED = ['gateway', 'identity', 'org-users', 'licensing', 'registry'];

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/** Four consecutive free ports below the kernel's ephemeral range (so no other test is handed them meanwhile). */
async function freeRangeOf4(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await Promise.all([0, 1, 2, 3].map((i) => portFree(base + i)))).every(Boolean)) return base;
  }
  throw new Error('no 4 consecutive free ports in 20000-30000');
}

describe('npm start gives each service its own metrics port and its own OTEL service name', () => {
  let jaeger: RunningJaeger;
  let l: Launcher;

  beforeAll(async () => {
    // A cold Go build cache costs minutes: `npm test` started the build in the background and this
    // waits for it (or builds itself); later runs reuse the cached binary.
    jaeger = await startJaeger({ log: (line) => process.stderr.write(`${line}\n`) });
  }, 25 * 60_000);

  afterAll(async () => {
    if (l) {
      await stopLauncher(l);
      removeDir(l.dataDir);
    }
    await jaeger?.stop();
  });

  it('serves /metrics per service on METRICS_PORT..+3, exports traces under each service name, and stops on SIGTERM', async () => {
    const base = await freeRangeOf4();
    l = launch({
      METRICS_PORT: String(base),
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      // One name for five processes would merge them: the launcher names each service itself.
      OTEL_SERVICE_NAME: 'one-name-for-all',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=launcher-test',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const gatewayUrl = (await waitForConsole(l, /gateway\s+(http:\/\/\S+)/))[1]!;
    await waitForConsole(l, /Press Ctrl-C to stop/);
    const expected = METRICS_SERVICES.map((name, i) => ({ name, url: `http://127.0.0.1:${base + i}/metrics` }));
    // The console tells the operator where each one is.
    for (const { name, url } of expected) expect(l.out()).toContain(`${url} (${name})`);

    const email = uniqueEmail('metered');
    const registered = await gql(gatewayUrl, B_REGISTER, {
      ...realisticRegisterVariables(email),
      telephone: null,
      withVerificationCode: true,
    });
    expect(registered.errors).toBeUndefined();

    for (const { name, url } of expected) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      const body = await res.text();
      // Each port is that service's own listener: every series carries its service label.
      expect(body, url).toMatch(new RegExp(`^process_cpu_user_seconds_total\\{service="${name}"\\} `, 'm'));
      for (const other of METRICS_SERVICES.filter((o) => o !== name)) expect(body, url).not.toContain(`service="${other}"`);
    }
    const gatewayMetrics = await (await fetch(expected[0]!.url)).text();
    expect(gatewayMetrics).toMatch(/^usergraph_graphql_requests_total\{[^}]*operation="mutation\.register"[^}]*\} [1-9]/m);

    // Traces: every service exported under its own name, never the one the operator's environment gave all of them.
    let services: string[] = [];
    for (let i = 0; i < 100 && !TRACED.every((s) => services.includes(s)); i++) {
      services = ((await (await fetch(`${jaeger.queryUrl}/api/services`)).json()) as { data: string[] | null }).data ?? [];
      await sleep(200);
    }
    expect(services).toEqual(expect.arrayContaining(TRACED));
    expect(services).not.toContain('one-name-for-all');
    // And the other OTEL_* variables reached them too: identity's spans carry the resource attribute.
    const traces = (await (await fetch(`${jaeger.queryUrl}/api/traces?service=identity&limit=1`)).json()) as {
      data: Array<{ processes: Record<string, { serviceName: string; tags: Array<{ key: string; value: unknown }> }> }>;
    };
    const identity = Object.values(traces.data[0]!.processes).find((p) => p.serviceName === 'identity')!;
    expect(identity.tags).toContainEqual(expect.objectContaining({ key: 'deployment.environment', value: 'launcher-test' }));

    // SIGTERM (a process manager's stop) to the launcher alone: everything stops, exit 0.
    const pids = ['store', ...TRACED].map((w) => childPid(l.child.pid!, w)!);
    expect(pids.every((p) => p > 0)).toBe(true);
    process.kill(l.child.pid!, 'SIGTERM');
    expect(await exitWithin(l, 30_000), l.out()).toBe(0);
    expect(l.out()).toMatch(/Stopped\./);
    expect(pids.filter(alive)).toEqual([]);
    for (const { url } of expected) await expect(fetch(url)).rejects.toThrow();
  }, 180_000);
});
