/**
 * Issue 16, security: the internet-facing gateway cannot forge internal
 * commands or audit events. Each attack is run against a real stack:
 * - the gateway holds only its own key (GATEWAY_SERVICE_KEY, derived from
 *   INTERNAL_SERVICE_SECRET): with it, a token claiming identity, org-users,
 *   licensing or the CLI is refused by every serving service, while the
 *   gateway's own calls (session checks) still work;
 * - recordAuditEvents takes from each service only its own actions, derives
 *   webhookType from the action, dates future-dated events at their receipt, and stores ids
 *   under the producer's name, so no service can take another's ids first.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import { orgUsersCommands, type AuditEvent } from '@usergraph/contracts';
import { repoRoot } from '@usergraph/embedded-store';
import { createInternalClient, serviceKeyFor, signServiceToken, type CredentialHolder } from '@usergraph/service-kit';
import { postCommand } from '@usergraph/service-kit/testing';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { AUDIT_EVENTS, type AuditNode } from './support/audit.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  until,
} from './support/stack.js';

const SERVING = ['identity', 'org-users', 'licensing'] as const;
/** A command each serving service serves, so a refusal is the credential's, not an unknown name's. */
const COMMAND_OF: Record<(typeof SERVING)[number], string> = {
  identity: 'createApplication',
  'org-users': 'recordAuditEvents',
  licensing: 'reconcile',
};

describe('issue 16: per-service keys, and an audit log that trusts nothing it can derive', () => {
  let stack: RunningStack;
  let dataDir: string;
  let orgusers: Connection;
  let acme: BootstrapResult;
  let adminJwt: string;
  let root: string;
  let gatewayKey: string;
  const receipts: string[] = [];
  const receiver = http.createServer((req, res) => {
    receipts.push(String(req.headers['webhook-id']));
    req.resume();
    res.statusCode = 204;
    res.end();
  });

  /** recordAuditEvents as a real producer calls it: its own key, derived from the root it holds. */
  const recordAs = (from: 'identity' | 'licensing', events: AuditEvent[]) =>
    createInternalClient({ from, to: 'org-users', baseUrl: stack.urls['org-users'], secret: root }).call(
      orgUsersCommands.recordAuditEvents,
      { events },
    );
  const event = (id: string, action: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
    id,
    action,
    organizationId: acme.organization.id,
    actor: { type: 'user', id: acme.admin.id },
    target: { type: 'user', id: acme.admin.id },
    outcome: 'success',
    occurredAt: new Date(),
    subjectUserId: acme.admin.id,
    ...over,
  });
  const stored = (id: string) => orgusers.collection<{ _id: string } & Record<string, unknown>>('audit_events').findOne({ _id: id });

  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const started = await startTestStack({
      serviceEnv: {
        'org-users': { WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_ALLOW_HTTP_URLS: 'true', WEBHOOK_POLL_INTERVAL_MS: '100' },
      },
    });
    ({ stack, dataDir } = started);
    orgusers = await openDatabase(stack, started.options.databasePrefix ?? '', 'orgusers');
    acme = await bootstrapOrganization(dataDir, 'acme');
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    root = stack.secrets.INTERNAL_SERVICE_SECRET;
    gatewayKey = serviceKeyFor(root, 'gateway');
  }, 180_000);

  afterAll(async () => {
    receiver.closeAllConnections();
    receiver.close();
    await orgusers?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI && dataDir) removeDir(dataDir);
  });

  it('the gateway process holds its own key and not the root secret; `usergraph service-key --gateway` prints that key', async () => {
    const pid = stack.pid('gateway');
    expect(pid).toBeDefined();
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(env).toContain(`GATEWAY_SERVICE_KEY=${gatewayKey}`);
    expect(env.filter((v) => v.startsWith('INTERNAL_SERVICE_SECRET='))).toEqual([]);
    expect(env.some((v) => v.includes(root))).toBe(false);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot(), 'apps/cli/dist/main.js'), 'service-key', '--gateway'],
      {
        env: { PATH: process.env.PATH ?? '', USERGRAPH_DATA_DIR: dataDir },
      },
    );
    expect(stdout.trim()).toBe(gatewayKey);
  });

  it('attack: with only the gateway key, a token claiming identity, org-users, licensing or the CLI is refused by every service (401)', async () => {
    for (const service of SERVING) {
      for (const claimed of ['identity', 'org-users', 'licensing', 'cli'] satisfies CredentialHolder[]) {
        const forged = await signServiceToken(gatewayKey, claimed, service);
        const res = await postCommand(
          stack.urls[service],
          COMMAND_OF[service],
          { events: [event('forged-1', 'user.deleted')] },
          {
            secret: root,
            service,
            authorization: `Bearer ${forged}`,
          },
        );
        expect([service, claimed, res.status, res.body.error?.code]).toEqual([service, claimed, 401, 'UNAUTHENTICATED']);
      }
    }
    expect(await stored('identity:forged-1')).toBeNull();
    expect(await stored('forged-1')).toBeNull();
  });

  it("the gateway's own calls still work: its session checks at identity, and an ADMIN's query through it", async () => {
    const input = { kind: 'user', organizationId: acme.organization.id, userId: acme.admin.id, sessionId: 'no-such-session' };
    const asGateway = await postCommand(stack.urls.identity, 'callerStatus', input, {
      secret: root,
      service: 'identity',
      authorization: `Bearer ${await signServiceToken(gatewayKey, 'gateway', 'identity')}`,
    });
    expect([asGateway.status, asGateway.body.result]).toEqual([200, { live: false }]);
    const res = await gql(stack.gatewayUrl, AUDIT_EVENTS, { first: 1 }, bearer(adminJwt));
    expect(res.errors).toBeUndefined();
    expect(res.data!.auditEvents.nodes).toHaveLength(1);
    // A revoked session is refused through the gateway: its callerStatus call is answered, not refused.
    const session = await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD);
    expect((await gql(stack.gatewayUrl, 'mutation { logout }', {}, bearer(session.jwt))).data!.logout).toBe(true);
    const after = await gql(stack.gatewayUrl, AUDIT_EVENTS, { first: 1 }, bearer(session.jwt));
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("attack: identity records licensing's actions (or any other service's): refused with a code, never stored", async () => {
    const answer = await recordAs('identity', [
      event('steal-1', 'user.licenses_changed'),
      event('steal-2', 'license.assigned'),
      event('steal-3', 'user.deleted'),
      event('own-1', 'user.login'),
    ]);
    expect(answer.recorded).toBe(1);
    expect(answer.refused).toEqual([
      { id: 'steal-1', reason: 'AUDIT_ACTION_NOT_ALLOWED' },
      { id: 'steal-2', reason: 'AUDIT_ACTION_NOT_ALLOWED' },
      { id: 'steal-3', reason: 'AUDIT_ACTION_NOT_ALLOWED' },
    ]);
    for (const id of ['steal-1', 'steal-2', 'steal-3']) expect(await stored(`identity:${id}`)).toBeNull();
    expect(await stored('identity:own-1')).toMatchObject({ action: 'user.login' });
  });

  it('attack: a forged webhookType is never delivered; the type comes from the action', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const created = await gql(
      stack.gatewayUrl,
      `mutation($url: String!) { createWebhookEndpoint(url: $url, eventTypes: ["user.deleted", "session.revoked"]) { errors { path } endpoint { id } } }`,
      { url },
      bearer(adminJwt),
    );
    expect(created.data!.createWebhookEndpoint.errors).toEqual([]);
    // A login dressed as a deletion, and (to know when delivery has happened) a real revocation with no type given.
    const answer = await recordAs('identity', [
      event('hook-forged', 'user.login', { webhookType: 'user.deleted' }),
      event('hook-real', 'session.revoked', { target: { type: 'session', id: 's1' } }),
    ]);
    expect(answer).toMatchObject({ recorded: 2 });
    await until('the real event delivered', () => receipts.includes('identity:hook-real'));
    expect(receipts).not.toContain('identity:hook-forged');
    const forged = await stored('identity:hook-forged');
    expect(forged).toMatchObject({ action: 'user.login', fanout: 'done' });
    expect(forged!.webhookType).toBeUndefined();
    expect(await stored('identity:hook-real')).toMatchObject({ webhookType: 'session.revoked' });
    expect(await orgusers.collection('webhook_deliveries').countDocuments({ eventId: 'identity:hook-forged' })).toBe(0);
  });

  it('attack: a future-dated event is stored at its receipt, never on top of the trail; an older one (a replayed outbox) is kept in its place', async () => {
    const answer = await recordAs('identity', [
      event('future-1', 'user.login', { occurredAt: new Date(Date.now() + 3_600_000) }),
      event('past-1', 'user.login', { occurredAt: new Date(Date.now() - 2 * 86_400_000) }),
      event('ancient-1', 'user.login', { occurredAt: new Date(Date.now() - 400 * 86_400_000) }),
    ]);
    expect(answer.refused).toEqual([{ id: 'ancient-1', reason: 'AUDIT_EVENT_EXPIRED' }]);
    const future = (await stored('identity:future-1')) as { occurredAt: Date } | null;
    expect(future).not.toBeNull();
    expect(future!.occurredAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await stored('identity:past-1')).not.toBeNull();
    // Newest first: nothing an ADMIN reads is topped by a forged date.
    const newest = await gql(stack.gatewayUrl, AUDIT_EVENTS, { first: 1 }, bearer(adminJwt));
    expect(Date.parse((newest.data!.auditEvents.nodes as AuditNode[])[0]!.occurredAt)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("attack: one service cannot take another's event id first; a replay by the same service is still one event", async () => {
    // licensing takes the id first, as if it knew the id identity's next event will have.
    expect(await recordAs('licensing', [event('taken-1', 'group.created', { target: { type: 'group', id: 'g1' } })])).toMatchObject({
      recorded: 1,
    });
    expect(await recordAs('identity', [event('taken-1', 'user.login')])).toMatchObject({ recorded: 1 });
    expect(await recordAs('identity', [event('taken-1', 'user.login')])).toMatchObject({ recorded: 0 });
    const trail = await gql(stack.gatewayUrl, AUDIT_EVENTS, { first: 100 }, bearer(adminJwt));
    const ids = (trail.data!.auditEvents.nodes as AuditNode[]).map((n) => n.id).filter((id) => id.endsWith(':taken-1'));
    expect(ids.sort()).toEqual(['identity:taken-1', 'licensing:taken-1']);
    // The namespaced id pages like any other.
    const first = await gql(stack.gatewayUrl, AUDIT_EVENTS, { first: 1, filter: { action: 'user.login' } }, bearer(adminJwt));
    const cursor = first.data!.auditEvents.pageInfo.endCursor as string;
    const next = await gql(stack.gatewayUrl, AUDIT_EVENTS, { first: 1, after: cursor, filter: { action: 'user.login' } }, bearer(adminJwt));
    expect(next.data!.auditEvents.errors).toEqual([]);
    expect(next.data!.auditEvents.nodes).toHaveLength(1);
  });
});
