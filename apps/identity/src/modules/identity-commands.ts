import { identityCommands as c } from '@usergraph/contracts';
import { serve } from '@usergraph/service-kit';
import type { ApplicationService } from './applications/application-service.js';
import type { CredentialService } from './credentials/credential-service.js';
import type { OutboxStore } from './verification/notifier.js';
import type { CallerLiveness } from './sessions/caller-liveness.js';

export function createIdentityCommands(deps: {
  applications: ApplicationService;
  credentials: CredentialService;
  revokeSessions: (organizationId: string, userId: string) => Promise<number>;
  outbox?: OutboxStore;
  callerLiveness: CallerLiveness;
  /** Moves what is left in identity's audit outbox to org-users' log (reconcile). */
  drainAudit: () => Promise<number>;
}) {
  return [
    serve(c.callerStatus, (subject) => deps.callerLiveness(subject)),
    serve(c.provisionUser, ({ organizationId, ...user }) => deps.credentials.provisionUser(organizationId, user)),
    serve(c.createCredentials, ({ organizationId, userId, ...credentials }) =>
      deps.credentials.createCredentials(organizationId, userId, credentials),
    ),
    serve(c.usernameOwner, (input) => deps.credentials.usernameOwner(input.organizationId, input.username)),
    serve(c.deleteCredentials, (input) => deps.credentials.deleteCredentials(input.organizationId, input.userId)),
    serve(c.revokeSessions, async (input) => ({ revoked: await deps.revokeSessions(input.organizationId, input.userId) })),
    serve(c.reconcile, async (input) => ({
      ...(await deps.credentials.reconcile(input.minAgeSeconds * 1000)),
      relayedAuditEvents: await deps.drainAudit(),
    })),
    serve(c.createApplication, ({ organizationId, ...application }) => deps.applications.create(organizationId, application)),
    serve(c.listOutbox, async (input) => {
      if (!deps.outbox) return { enabled: false, messages: [] };
      const messages = await deps.outbox.list(input);
      return {
        enabled: true,
        messages: messages.map((m) => ({ to: m.to, subject: m.subject, text: m.text, createdAt: m.createdAt.toISOString() })),
      };
    }),
  ];
}
