// @usergraph/contracts: every internal command's name, input, output and callers,
// shared by the service that serves it and the services that call it.
export {
  commandsOf,
  type CommandContract,
  type ServiceCommands,
  type CommandInput,
  type CommandOutput,
  type ServiceName,
  type ServingService,
} from './contract.js';
export { identityCommands } from './identity.js';
export { orgUsersCommands, organizationSchema, profileSchema, userStatusSchema } from './org-users.js';
export { licensingCommands, userLicensesSchema } from './licensing.js';
export {
  WEBHOOK_EVENT_TYPES,
  auditActorSchema,
  auditEventSchema,
  auditOriginSchema,
  auditTargetSchema,
  type AuditActor,
  type AuditEvent,
  type AuditOrigin,
  type WebhookEventType,
} from './audit.js';
export {
  AUDIT_ACTIONS,
  AUDIT_REFUSAL_REASONS,
  mayRecordAuditAction,
  webhookTypeOf,
  type AuditAction,
  type AuditActionOf,
  type AuditProducer,
  type AuditRefusalReason,
} from './audit-actions.js';
