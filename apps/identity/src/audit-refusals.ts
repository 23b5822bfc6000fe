import type { RefusalRule } from '@usergraph/audit';

const application: RefusalRule['target'] = { type: 'application', arg: ['clientId'] };

/**
 * identity's administrative mutations whose authorization refusals are recorded (docs/audit-log.md,
 * "Refused actions"): applications, managed by organization admins only. Sign-in, password and
 * session mutations act on oneself; their failures are recorded as such (user.login_failed, ...).
 */
export const IDENTITY_REFUSALS: Record<string, RefusalRule> = {
  createApplication: { action: 'application.created' },
  setApplicationStatus: { action: 'application.status_changed', target: application },
  setApplicationPermissions: { action: 'application.permissions_changed', target: application },
  rotateApplicationSecret: { action: 'application.secret_rotated', target: application },
};
