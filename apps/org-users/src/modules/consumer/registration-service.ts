import { idempotencyCallerOf, keyedFingerprint, withIdempotencyKey } from '@usergraph/mongo';
import { Types, type Connection } from 'mongoose';
import { DomainError, forbidden, type Caller, type Logger, type SecretBox } from '@usergraph/service-kit';
import { last4 } from '@usergraph/validation';
import type { OrganizationService } from '../organizations/organization-service.js';
import { withoutNulls } from '../users/user-repository.js';
import { createUser } from '@usergraph/user-lifecycle';
import type { AuditOrigin } from '@usergraph/audit';
import type { ProfileDto, UserService } from '../users/user-service.js';
import type { AccessPolicy } from '../../access-policy.js';
import { parseInput, registerOrganizationUserSchema, type RegisterOrganizationUserInput } from './consumer-inputs.js';

/** The users module names conflicting fields from its own input; A's are under `input`. */
function underInput(err: unknown): unknown {
  if (err instanceof DomainError && err.code === 'CONFLICT') {
    return new DomainError(
      'CONFLICT',
      err.message,
      err.fields.map((f) => ({ ...f, path: ['input', ...f.path] })),
      { reason: err.reason },
    );
  }
  return err;
}

/** A's registerOrganizationUser. */
export function createConsumerRegistration(deps: {
  conn: Connection;
  users: UserService;
  organizations: OrganizationService;
  access: AccessPolicy;
  /** Seals national IDs (AES-256-GCM). */
  nationalIds: SecretBox;
  /** Keys Idempotency-Key fingerprints, so a stored fingerprint reveals nothing of the input. */
  fingerprintKey: Buffer;
  logger: Pick<Logger, 'error'>;
}) {
  /** The creation saga with the profile as its only step (A gives no credentials or licenses): one write, no marker. */
  async function create(input: RegisterOrganizationUserInput, organizationId: string, origin: AuditOrigin): Promise<ProfileDto> {
    const nationalId = input.nationalId ?? undefined;
    const ids = { organizationId, userId: new Types.ObjectId().toHexString() };
    try {
      const { profile } = await createUser(
        ids,
        {
          profile: {
            do: ({ userId }) =>
              deps.users.createProfile({
                userId,
                organizationId,
                email: input.email,
                phoneNumber: input.phoneNumber,
                firstName: input.name.first,
                middleName: input.name.middle ?? undefined,
                lastName: input.name.last,
                status: 'ACTIVE',
                dateOfBirth: input.dateOfBirth,
                addresses: [withoutNulls(input.address)],
                nationalIdSealed: nationalId === undefined ? undefined : deps.nationalIds.encrypt(nationalId),
                nationalIdLast4: nationalId === undefined ? undefined : last4(nationalId),
                visitorId: input.visitorID ?? undefined,
                audit: origin,
              }),
            undo: ({ userId }) => deps.users.deleteProfile(organizationId, userId),
          },
          activate: ({ userId, sagaId }) => deps.users.finishProvisioning(organizationId, userId, sagaId),
        },
        { logger: deps.logger },
      );
      return profile;
    } catch (err) {
      throw underInput(err);
    }
  }

  /**
   * Authorize, validate every field, check the tenant, then write once: the
   * users module claims email and phone in the organization before it inserts,
   * so a failure at any step stores nothing.
   */
  async function registerOrganizationUser(
    caller: Caller,
    rawInput: unknown,
    idempotencyKey: string | undefined,
    origin: AuditOrigin,
  ): Promise<ProfileDto> {
    const organizationId = await deps.access.requireOrganizationScope(caller);
    const input = parseInput(registerOrganizationUserSchema(rawInput), rawInput, ['input']);
    const organization = await deps.organizations.getById(organizationId);
    if (organization.slug !== input.organizationSlug) throw forbidden('input.organizationSlug is not the organization of your token');
    if (organization.status !== 'ACTIVE') throw forbidden('The organization is suspended');

    let created: ProfileDto | undefined;
    const { result: userId } = await withIdempotencyKey(
      deps.conn,
      {
        key: idempotencyKey,
        scope: `registerOrganizationUser:${organizationId}`,
        caller: idempotencyCallerOf(caller),
        logger: deps.logger,
        fingerprint: () => keyedFingerprint(deps.fingerprintKey, input),
      },
      async () => {
        created = await create(input, organizationId, origin);
        return created.id;
      },
    );
    // A replay returns the user as it is now.
    return created ?? deps.users.getProfile(organizationId, userId);
  }

  return { registerOrganizationUser };
}

export type ConsumerRegistration = ReturnType<typeof createConsumerRegistration>;
