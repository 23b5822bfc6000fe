import type { RefusalAudit, RefusalRule } from '@usergraph/audit';

const user = (...arg: string[]): RefusalRule['target'] => ({ type: 'user', arg });
const endpoint = (arg: string): RefusalRule['target'] => ({ type: 'webhook_endpoint', arg: [arg] });

/**
 * org-users' administrative mutations whose authorization refusals are recorded (docs/audit-log.md,
 * "Refused actions"): the action a success records, and the argument naming the user or endpoint acted on.
 * D's per-id refusals inside deleteUsers and updateUser's unknown id are answered in the payload, not
 * thrown: user-admin-service records those itself.
 */
export const ORG_USERS_REFUSALS: Record<string, RefusalRule> = {
  createUser: { action: 'user.created' },
  updateUser: { action: 'user.updated', target: user('input', 'id') },
  deleteUsers: { action: 'user.deleted' },
  registerOrganizationUser: { action: 'user.created' },
  recordConnection: { action: 'connection.recorded', target: user('input', 'userId') },
  recordTradeline: { action: 'tradeline.recorded', target: user('input', 'userId') },
  markUserSynced: { action: 'user.synced', target: user('userId') },
  acceptLegalAgreement: { action: 'user.updated', target: user('userId') },
  updateNotificationPreferences: { action: 'user.updated', target: user('userId') },
  closeAccount: { action: 'user.closed', target: user('userId') },
  createWebhookEndpoint: { action: 'webhook.endpoint_created' },
  disableWebhookEndpoint: { action: 'webhook.endpoint_disabled', target: endpoint('id') },
  enableWebhookEndpoint: { action: 'webhook.endpoint_enabled', target: endpoint('id') },
  rotateWebhookEndpointSecret: { action: 'webhook.secret_rotated', target: endpoint('id') },
  redeliverWebhookEvent: { action: 'webhook.redelivery_requested', target: endpoint('endpointId') },
};

/** The merged resolvers with ORG_USERS_REFUSALS applied. */
export const withRefusals = <R extends { Mutation?: unknown }>(refusals: RefusalAudit, resolvers: R): R =>
  refusals.wrap(resolvers, ORG_USERS_REFUSALS);
