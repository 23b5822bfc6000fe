import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import type { ApplicationService } from './applications/application-service.js';
import type { CredentialService } from './credentials/credential-service.js';
import type { OutboxStore } from './verification/notifier.js';
import type { CallerLiveness } from './sessions/caller-liveness.js';

const id = z.string().min(1).max(64);

export function createIdentityCommands(deps: {
  applications: ApplicationService;
  credentials: CredentialService;
  revokeSessions: (organizationId: string, userId: string) => Promise<number>;
  outbox?: OutboxStore;
  callerLiveness: CallerLiveness;
}) {
  return {
    /** Asked by the other subgraphs before they honour a token (see sessions/caller-liveness.ts). */
    callerStatus: defineCommand(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('user'), organizationId: id, userId: id, sessionId: id }),
        z.object({ kind: z.literal('application'), organizationId: id, clientId: id }),
      ]),
      (subject) => deps.callerLiveness(subject),
      { callers: ['gateway', 'org-users', 'licensing'] },
    ),
    provisionUser: defineCommand(z.looseObject({ organizationId: id }), ({ organizationId, ...rest }) =>
      deps.credentials.provisionUser(organizationId, rest),
      { callers: ['cli'] },
    ),
    createCredentials: defineCommand(z.looseObject({ organizationId: id, userId: id }), ({ organizationId, userId, ...rest }) =>
      deps.credentials.createCredentials(organizationId, userId, rest),
      { callers: ['org-users'] },
    ),
    /** Read-only: who holds a username (D's createUser lists a taken one with its other errors). */
    usernameOwner: defineCommand(z.object({ organizationId: id, username: z.string().max(254) }), (input) =>
      deps.credentials.usernameOwner(input.organizationId, input.username),
      { callers: ['org-users'] },
    ),
    deleteCredentials: defineCommand(z.object({ organizationId: id, userId: id }), (input) =>
      deps.credentials.deleteCredentials(input.organizationId, input.userId),
      { callers: ['org-users'] },
    ),
    /** org-users' closeAccount: every session of the user ends (issue 12, finding 6). Idempotent. */
    revokeSessions: defineCommand(z.object({ organizationId: id, userId: id }), async (input) => ({
      revoked: await deps.revokeSessions(input.organizationId, input.userId),
    }), { callers: ['org-users'] }),
    /** The reconciliation job: credentials of users org-users does not know are deleted. */
    reconcile: defineCommand(z.object({ minAgeSeconds: z.number().int().min(0).max(86_400 * 30) }), (input) =>
      deps.credentials.reconcile(input.minAgeSeconds * 1000),
      { callers: ['cli'] },
    ),
    createApplication: defineCommand(z.looseObject({ organizationId: id }), ({ organizationId, ...rest }) =>
      deps.applications.create(organizationId, rest),
      { callers: ['cli'] },
    ),
    /** Development only: what the outbox notifier "sent" (for `usergraph outbox`). */
    listOutbox: defineCommand(z.object({ to: z.string().max(254).optional(), limit: z.number().int().min(1).max(100).default(20) }), async (input) => {
      if (!deps.outbox) return { enabled: false, messages: [] };
      const messages = await deps.outbox.list(input);
      return { enabled: true, messages: messages.map((m) => ({ to: m.to, subject: m.subject, text: m.text, createdAt: m.createdAt })) };
    }, { callers: ['cli'] }),
  };
}
