/**
 * Issue 14: each team deploys its own subgraph. A fourth team's subgraph
 * (test/fixtures/loyalty) joins the running supergraph through the schema
 * registry and `usergraph schema`, with no gateway build and no restart.
 * One stack; the cases run in order, each starting from what the previous one
 * published. Every load and wait is bounded.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { RunningStack } from '@usergraph/cli';
import { createServer } from 'node:net';
import { LOYALTY_SCHEMAS, LOYALTY_SINCE, pointsOf, startLoyaltySubgraph } from './fixtures/loyalty/loyalty-subgraph.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  removeDir,
  runCli,
  startTestStack,
  type CliResult,
} from './support/stack.js';

const POLL_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('issue 14: schema registry and a gateway that reloads', () => {
  let stack: RunningStack;
  let dataDir: string;
  let loyalty: Awaited<ReturnType<typeof startLoyaltySubgraph>>;
  let token: string;
  let userId: string;
  let loyaltyKey: string;

  /** `usergraph schema ...` as a team's CI runs it: REGISTRY_URL and its own REGISTRY_KEY, nothing else. */
  const schema = (args: string[], key = loyaltyKey, extraEnv: Record<string, string> = {}): Promise<CliResult> =>
    runCli(['schema', ...args], { PATH: process.env.PATH ?? '', REGISTRY_URL: stack.urls.registry, REGISTRY_KEY: key, ...extraEnv });

  const me = (fields: string) => gql(stack.gatewayUrl, `{ me { id ${fields} } }`, {}, bearer(token));

  /** Polls (bounded) until `field` is served (or, with `present` false, refused as unknown); returns the ms it took. */
  async function waitForField(field: string, present: boolean, timeoutMs = 15_000): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const res = await me(field);
      const served = res.status === 200 && !res.errors && res.data?.me?.[field] !== undefined;
      if (served === present) return Date.now() - t0;
      await sleep(100);
    }
    throw new Error(`${field} was ${present ? 'not served' : 'still served'} after ${timeoutMs} ms`);
  }

  const readyz = async () => {
    const res = await request(`${stack.urls.gateway}/readyz`);
    return {
      status: res.statusCode,
      body: (await res.body.json()) as { details?: { supergraph?: { revision?: string; refused?: { revision: string; code: string } } } },
    };
  };

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack({
      mongodbUri: undefined,
      serviceEnv: { gateway: { SUPERGRAPH_POLL_INTERVAL_MS: String(POLL_MS) } },
    }));
    loyalty = await startLoyaltySubgraph();
    await bootstrapOrganization(dataDir, 'loyal');
    token = (await login(stack.gatewayUrl, 'loyal', 'admin', ADMIN_PASSWORD)).jwt;
    userId = (await me('')).data!.me.id as string;
    // The registry operator derives the team's key from REGISTRY_SECRET and hands it over.
    const credential = await schema(['credential', '--subgraph', 'loyalty'], '', { REGISTRY_SECRET: stack.secrets.REGISTRY_SECRET });
    expect(credential.code).toBe(0);
    loyaltyKey = credential.stdout.trim();
  });

  afterAll(async () => {
    await loyalty?.close();
    await stack?.stop();
    if (dataDir) removeDir(dataDir);
  });

  it('npm start published the three local subgraphs; `list` shows them', async () => {
    const list = await schema(['list']);
    expect(list.code).toBe(0);
    for (const name of ['identity', 'org-users', 'licensing'])
      expect(list.stdout).toMatch(new RegExp(`${name}\\s+v1\\s+${stack.urls[name as 'identity']}/graphql`));
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.details?.supergraph?.revision).toBe('3');
  });

  it("a subgraph's credential cannot publish another subgraph, nor can a forged or the reader key", async () => {
    const other = await schema(['publish', '--subgraph', 'identity', '--schema', LOYALTY_SCHEMAS.points, '--url', loyalty.url]);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain('FORBIDDEN');
    const forged = await schema(
      ['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.points, '--url', loyalty.url],
      `subgraph:loyalty.${'A'.repeat(43)}`,
    );
    expect(forged.code).toBe(1);
    expect(forged.stdout).toContain('UNAUTHENTICATED');
    const reader = await schema(['credential', '--reader'], '', { REGISTRY_SECRET: stack.secrets.REGISTRY_SECRET });
    const asReader = await schema(
      ['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.points, '--url', loyalty.url],
      reader.stdout.trim(),
    );
    expect(asReader.stdout).toContain('FORBIDDEN');
    expect((await schema(['history', '--subgraph', 'loyalty'])).stdout).toContain('no version');
  });

  it('a fourth team joins at run time: under load, its field is served within 15 s of the publish, no request fails, no gateway restart', async () => {
    const gatewayPid = stack.pid('gateway');
    expect((await me('loyaltyPoints')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const check = await schema(['check', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.points]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('ok    composes');

    // Bounded load: 4 clients, each sending `me` until the field is served or 20 s pass.
    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    const client = async () => {
      const deadline = Date.now() + 20_000;
      while (!stop && Date.now() < deadline) {
        const res = await me('email');
        sent++;
        if (res.status !== 200 || res.errors || !res.data?.me?.email) failures.push(JSON.stringify(res).slice(0, 300));
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    await sleep(500);
    const publish = await schema([
      'publish',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.points,
      '--url',
      loyalty.url,
      '--message',
      'loyalty joins',
      '--commit',
      'abc1234',
    ]);
    expect(publish.code).toBe(0);
    expect(publish.stdout).toContain('published loyalty@1');
    let servedAfter: number;
    try {
      servedAfter = await waitForField('loyaltyPoints', true, 15_000);
      await sleep(1000); // load keeps running on the new supergraph for a moment
    } finally {
      stop = true;
      await load;
    }
    expect(servedAfter).toBeLessThan(15_000);
    expect(sent).toBeGreaterThan(20);
    expect(failures).toEqual([]);
    expect((await me('loyaltyPoints')).data?.me).toEqual({ id: userId, loyaltyPoints: pointsOf(userId) });
    expect(stack.pid('gateway')).toBe(gatewayPid);

    const history = await schema(['history', '--subgraph', 'loyalty']);
    expect(history.stdout).toMatch(/v1 .* publish {2}by .* \(subgraph:loyalty\) .*loyalty joins; commit abc1234/);
  });

  it('a team credential cannot route its subgraph to a host outside REGISTRY_ALLOWED_URL_HOSTS: refused, nothing changes', async () => {
    const revision = (await readyz()).body.details?.supergraph?.revision;
    // A leaked team key tries to send clients' Authorization headers elsewhere; loopback only is the default outside production.
    for (const url of ['http://attacker.example:80/graphql', 'http://127.0.0.1@attacker.example/graphql']) {
      const refused = await schema(['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.points, '--url', url]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('FAIL  URL_NOT_ALLOWED: url: the host attacker.example is not in REGISTRY_ALLOWED_URL_HOSTS');
    }
    // CI's check says so before the deploy does.
    const checked = await schema([
      'check',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.points,
      '--url',
      'https://attacker.example/graphql',
    ]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('FAIL  URL_NOT_ALLOWED');
    // Nothing was written: no new version, no new revision, the same subgraph serves.
    const history = await schema(['history', '--subgraph', 'loyalty']);
    expect(history.stdout).toMatch(/v1 /);
    expect(history.stdout).not.toMatch(/v2 /);
    await sleep(POLL_MS * 3);
    expect((await readyz()).body.details?.supergraph?.revision).toBe(revision);
    expect((await me('loyaltyPoints')).data?.me?.loyaltyPoints).toBe(pointsOf(userId));
  });

  it("a third-party subgraph is never sent the client's token, nor the gateway's signed assertion; first-party subgraphs are", async () => {
    const res = await gql(stack.gatewayUrl, `{ me { id email loyaltyPoints } }`, {}, { ...bearer(token), cookie: 'sid=client-cookie' });
    expect(res.errors).toBeUndefined(); // email: org-users got the token; me: identity did
    expect(res.data?.me).toMatchObject({ id: userId, loyaltyPoints: pointsOf(userId) });
    await request(`${stack.urls.gateway}/readyz`).then((r) => r.body.dump()); // the gateway's own probe of each subgraph
    const graphql = loyalty.received.filter((r) => r.method === 'POST');
    expect(graphql.length).toBeGreaterThan(0);
    expect(loyalty.received.some((r) => r.path === '/readyz')).toBe(true);
    for (const { headers } of loyalty.received) {
      expect(headers.authorization).toBeUndefined();
      expect(headers.cookie).toBeUndefined();
      expect(headers['x-usergraph-gateway']).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain(token);
    }
  });

  it("a team cannot take over another team's field (a @shareable copy of User.email composes, but is refused)", async () => {
    const checked = await schema(['check', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.takeover]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('FIELD_TAKEOVER): User.email');
    const refused = await schema([
      'publish',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.takeover,
      '--url',
      loyalty.url,
      '--allow-breaking',
      '--reason',
      'try',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('FAIL  FIELD_TAKEOVER');
    expect(refused.stdout).toContain('- User.email');
    expect((await schema(['history', '--subgraph', 'loyalty'])).stdout).not.toMatch(/v2/);
  });

  it('a publish that breaks composition is refused, and the gateway keeps serving', async () => {
    const revision = (await readyz()).body.details?.supergraph?.revision;
    const checked = await schema(['check', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.conflicting]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('FAIL  does not compose');
    const refused = await schema(['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.conflicting, '--url', loyalty.url]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('COMPOSITION_FAILED');
    expect(refused.stdout).toMatch(/User\.email/);
    // Even --allow-breaking does not let a composition failure through.
    const forced = await schema([
      'publish',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.conflicting,
      '--url',
      loyalty.url,
      '--allow-breaking',
      '--reason',
      'try',
    ]);
    expect(forced.stdout).toContain('COMPOSITION_FAILED');
    await sleep(POLL_MS * 3);
    expect((await me('email loyaltyPoints')).errors).toBeUndefined();
    expect((await readyz()).body.details?.supergraph?.revision).toBe(revision);
  });

  it('a publish that removes a field clients can use is refused without --allow-breaking; with it, the reason is recorded', async () => {
    const refused = await schema(['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.withoutPoints, '--url', loyalty.url]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('BREAKING_CHANGES');
    expect(refused.stdout).toMatch(/FIELD_REMOVED User\.loyaltyPoints/);
    const check = await schema(['check', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.withoutPoints]);
    expect(check.code).toBe(1);
    const usage = await schema([
      'publish',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.withoutPoints,
      '--url',
      loyalty.url,
      '--allow-breaking',
    ]);
    expect(usage.code).toBe(2);
    const allowed = await schema([
      'publish',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.withoutPoints,
      '--url',
      loyalty.url,
      '--allow-breaking',
      '--reason',
      'points move to the wallet team',
    ]);
    expect(allowed.code).toBe(0);
    await waitForField('loyaltyPoints', false);
    expect((await me('loyaltyTier')).errors).toBeUndefined();
    expect((await schema(['history', '--subgraph', 'loyalty'])).stdout).toMatch(/v2 .*breaking allowed: points move to the wallet team/);
  });

  it('rollback brings a version back: the removed field returns, the added one goes again', async () => {
    const rolled = await schema(['rollback', '--subgraph', 'loyalty', '--to', '1']);
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toContain('rolled back to v1 as v3');
    await waitForField('loyaltyTier', false);
    await waitForField('loyaltyPoints', true);
    const diff = await schema(['diff', 'loyalty@2', 'loyalty@3']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/FIELD_REMOVED User\.loyaltyTier/);
    expect(diff.stdout).toMatch(/FIELD_ADDED User\.loyaltyPoints/);
  });

  it('a publish whose URL does not answer is never switched to; /readyz says so', async () => {
    const served = (await readyz()).body.details?.supergraph?.revision;
    const dead = 'http://127.0.0.1:9/graphql'; // discard port: nothing listens
    const published = await schema(['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.tier, '--url', dead]);
    expect(published.code).toBe(0);
    const t0 = Date.now();
    let refused: { revision: string; code: string } | undefined;
    while (!refused && Date.now() - t0 < 15_000) {
      refused = (await readyz()).body.details?.supergraph?.refused;
      if (!refused) await sleep(200);
    }
    expect(refused?.code).toBe('SUBGRAPH_HEALTH_CHECK_FAILED');
    await sleep(POLL_MS * 4);
    const ready = await readyz();
    expect(ready.body.details?.supergraph?.revision).toBe(served);
    expect((await me('loyaltyPoints')).data?.me?.loyaltyPoints).toBe(pointsOf(userId));
    expect((await me('loyaltyTier')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const log = await import('node:fs').then((fs) => fs.readFileSync(join(stack.logDir, 'gateway.log'), 'utf8'));
    expect(log).toContain('new supergraph refused: a subgraph failed its health check');
    // The team fixes its URL: now it is switched to.
    expect((await schema(['publish', '--subgraph', 'loyalty', '--schema', LOYALTY_SCHEMAS.tier, '--url', loyalty.url])).code).toBe(0);
    await waitForField('loyaltyTier', true);
  });

  it('a restarted gateway serves the latest published supergraph at once', async () => {
    const latest = (await readyz()).body.details?.supergraph?.revision;
    await stack.restart('gateway');
    const res = await me('loyaltyPoints loyaltyTier');
    expect(res.errors).toBeUndefined();
    expect(res.data?.me?.loyaltyTier).toMatch(/GOLD|SILVER/);
    expect((await readyz()).body.details?.supergraph?.revision).toBe(latest);
  });

  it('a restarted gateway serves the previous supergraph when the latest routes to a URL that does not answer, and switches once it does', async () => {
    const previous = (await readyz()).body.details?.supergraph?.revision;
    // A port nothing listens on yet: the team publishes before its subgraph is up (or with a wrong URL).
    const port = await freePort();
    const published = await schema([
      'publish',
      '--subgraph',
      'loyalty',
      '--schema',
      LOYALTY_SCHEMAS.since,
      '--url',
      `http://127.0.0.1:${port}/graphql`,
    ]);
    expect(published.code).toBe(0);
    const latest = String(Number(previous) + 1);
    expect(published.stdout).toContain(`revision ${latest}`);

    await stack.restart('gateway');
    // The previous supergraph, whole: every old field, from every subgraph, with no error; the new field is unknown.
    for (let i = 0; i < 5; i++) {
      const res = await me('email loyaltyPoints loyaltyTier');
      expect(res.errors).toBeUndefined();
      expect(res.data?.me).toMatchObject({
        id: userId,
        loyaltyPoints: pointsOf(userId),
        loyaltyTier: expect.stringMatching(/GOLD|SILVER/),
      });
      expect(res.data?.me?.email).toEqual(expect.any(String));
    }
    expect((await me('loyaltySince')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.details?.supergraph?.revision).toBe(previous);
    expect(ready.body.details?.supergraph?.refused).toMatchObject({ revision: latest, code: 'SUBGRAPH_HEALTH_CHECK_FAILED' });
    const log = await import('node:fs').then((fs) => fs.readFileSync(join(stack.logDir, 'gateway.log'), 'utf8'));
    expect(log).toContain('the latest supergraph failed its health check at start; serving an older one');

    // The subgraph comes up at the published URL: the gateway switches to the latest, no restart.
    const gatewayPid = stack.pid('gateway');
    const late = await startLoyaltySubgraph(port);
    try {
      await waitForField('loyaltySince', true);
      expect((await me('loyaltySince loyaltyPoints')).data?.me).toEqual({
        id: userId,
        loyaltySince: LOYALTY_SINCE,
        loyaltyPoints: pointsOf(userId),
      });
      const switched = await readyz();
      expect(switched.body.details?.supergraph?.revision).toBe(latest);
      expect(switched.body.details?.supergraph?.refused).toBeUndefined();
      expect(stack.pid('gateway')).toBe(gatewayPid);
    } finally {
      await late.close();
    }
  });
});

/** A loopback port free right now (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
