import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { permissionSchema, singleLineText, validate } from '@usergraph/validation';
import { DomainError } from '@usergraph/service-kit';
import { auditEvent, type AuditOrigin } from '@usergraph/audit';
import type { ApplicationDoc, ApplicationRepository } from './application-repository.js';

export interface ApplicationDto {
  clientId: string;
  organizationId: string;
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  permissions: string[];
  createdAt: string;
}

const toDto = (doc: ApplicationDoc): ApplicationDto => ({
  clientId: doc._id,
  organizationId: doc.organizationId,
  name: doc.name,
  status: doc.status,
  permissions: doc.permissions,
  createdAt: doc.createdAt.toISOString(),
});

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const newSecret = () => `secret_${randomBytes(32).toString('base64url')}`;

const newApplicationSchema = z.object({
  // Shown to admins in lists: one line of text, like every other name.
  name: singleLineText({ max: 100 }),
  permissions: z.array(permissionSchema).max(10),
});

/** What an application's change is called in the audit log (every one maps to the webhook `application.changed`). */
type ApplicationAction =
  'application.created' | 'application.status_changed' | 'application.permissions_changed' | 'application.secret_rotated';

export function createApplicationService(deps: {
  applications: ApplicationRepository;
  /** Relays the events an application write carried (not awaited). */
  kickAudit: (clientId: string) => void;
}) {
  /** The operator's bootstrap CLI creates the first application: no request, no client. */
  const OPERATOR: AuditOrigin = { actor: { type: 'system', id: 'bootstrap' } };
  const applicationEvent = (
    origin: AuditOrigin,
    organizationId: string,
    clientId: string,
    action: ApplicationAction,
    changedFields?: string[],
  ) =>
    auditEvent(origin, {
      action,
      organizationId,
      target: { type: 'application', id: clientId },
      outcome: 'success',
      ...(changedFields ? { changedFields } : {}),
    });
  /** Creates an application; its secret is returned this once and stored only as a hash. */
  async function create(
    organizationId: string,
    raw: unknown,
    origin: AuditOrigin = OPERATOR,
  ): Promise<ApplicationDto & { clientSecret: string }> {
    const checked = validate(newApplicationSchema, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid application', checked.errors);
    const clientId = `app_${randomBytes(12).toString('hex')}`;
    const clientSecret = newSecret();
    const doc = await deps.applications.insert({
      _id: clientId,
      organizationId,
      name: checked.value.name,
      status: 'ACTIVE',
      permissions: [...new Set(checked.value.permissions)],
      secretHash: sha256(clientSecret).toString('base64url'),
      auditOutbox: [applicationEvent(origin, organizationId, clientId, 'application.created')],
    });
    deps.kickAudit(clientId);
    return { ...toDto(doc), clientSecret };
  }

  /** Checks a client id and secret in constant time; undefined for any mismatch. */
  async function authenticateClient(clientId: string, clientSecret: string): Promise<ApplicationDto | undefined> {
    const doc = await deps.applications.findByClientId(clientId);
    const expected = Buffer.from(doc?.secretHash ?? sha256('no-such-client').toString('base64url'));
    const given = Buffer.from(sha256(clientSecret).toString('base64url'));
    const match = expected.length === given.length && timingSafeEqual(expected, given);
    return doc && match ? toDto(doc) : undefined;
  }

  async function get(clientId: string): Promise<ApplicationDto | undefined> {
    const doc = await deps.applications.findByClientId(clientId);
    return doc ? toDto(doc) : undefined;
  }

  async function list(organizationId: string): Promise<ApplicationDto[]> {
    return (await deps.applications.listForOrganization(organizationId)).map(toDto);
  }

  async function updated(doc: ApplicationDoc | null): Promise<ApplicationDto> {
    if (!doc)
      throw new DomainError('NOT_FOUND', 'No such application in your organization', [
        { path: ['clientId'], message: 'does not name an application of your organization' },
      ]);
    deps.kickAudit(doc._id);
    return toDto(doc);
  }

  const setStatus = async (organizationId: string, clientId: string, status: 'ACTIVE' | 'INACTIVE', origin: AuditOrigin) =>
    updated(
      await deps.applications.update(
        organizationId,
        clientId,
        { status },
        applicationEvent(origin, organizationId, clientId, 'application.status_changed', ['status']),
      ),
    );

  async function setPermissions(organizationId: string, clientId: string, raw: unknown, origin: AuditOrigin): Promise<ApplicationDto> {
    const checked = validate(newApplicationSchema.shape.permissions, raw, ['permissions']);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid permissions', checked.errors);
    return updated(
      await deps.applications.update(
        organizationId,
        clientId,
        { permissions: [...new Set(checked.value)] },
        applicationEvent(origin, organizationId, clientId, 'application.permissions_changed', ['permissions']),
      ),
    );
  }

  async function rotateSecret(
    organizationId: string,
    clientId: string,
    origin: AuditOrigin,
  ): Promise<{ application: ApplicationDto; clientSecret: string }> {
    const clientSecret = newSecret();
    const application = await updated(
      await deps.applications.update(
        organizationId,
        clientId,
        { secretHash: sha256(clientSecret).toString('base64url') },
        // The secret's name, never the secret.
        applicationEvent(origin, organizationId, clientId, 'application.secret_rotated', ['secret']),
      ),
    );
    return { application, clientSecret };
  }

  return { create, authenticateClient, get, list, setStatus, setPermissions, rotateSecret };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
