import { Types } from 'mongoose';
import { toPayloadErrors, validate, type FieldError } from '@usergraph/validation';
import { createUser as createUserSaga, deleteUser as deleteUserSaga, type DeletionPorts } from '@usergraph/user-lifecycle';
import { DomainError, undefinedIfNotFound, type Caller, type ErrorReason, type FieldIssue, type Logger } from '@usergraph/service-kit';
import type { AuditOrigin, RefusalAudit } from '@usergraph/audit';
import type { ProfileDto, UserService } from '../users/user-service.js';
import type { AssignmentRequest, IdentityClient, LicensingClient } from '../../clients.js';
import type { AccessPolicy } from '../../access-policy.js';
import { createUserProfileSchema, fullTextSchema, updateUserProfileSchema, userIdSchema } from './user-admin-inputs.js';

/** D's profile fields in the order its inputs declare them: errors are listed in this order. */
const CREATE_FIELDS = ['firstName', 'lastName', 'email', 'credentials.username', 'credentials.password', 'phone', 'jobTitle'];
const UPDATE_FIELDS = ['email', 'firstName', 'lastName', 'phone', 'jobTitle'];
const inProfileOrder = (errors: FieldError[], fields: string[]) => {
  const rank = (e: FieldError) => {
    const i = fields.indexOf(e.path.slice(1).join('.'));
    return i < 0 ? fields.length : i;
  };
  return [...errors].sort((a, b) => rank(a) - rank(b));
};

/** deleteUsers' ids per call. */
const MAX_IDS_PER_CALL = 100;

/** D's payload style: expected failures are data. */
const asPayload = (errors: readonly FieldError[]) => ({ errors: toPayloadErrors(errors), user: null });

const CONCURRENT_CHANGE_MESSAGE = 'is being changed concurrently: retry';

/** The deletion saga's refusals (mostly licensing's, to release a user), in D's words, by reason; any other failure is thrown. */
const RELEASE_REFUSALS: Partial<Record<ErrorReason, string>> = {
  // The user became a company admin after the policy check (licensing decides at write time).
  COMPANY_ADMIN: 'is a company admin: removing one needs organization-users:admin',
  SUPPORT_ADMIN: 'is a support admin and cannot be removed',
  LAST_COMPANY_ADMIN: 'is the last company admin (ADMIN license) and cannot be removed',
  CONCURRENT_CHANGE: CONCURRENT_CHANGE_MESSAGE,
  // Deleted by a concurrent call between the read and the deletion saga's first step.
  NOT_FOUND: 'does not name a user of your organization',
};

function fieldsOf(err: unknown): FieldIssue[] | undefined {
  if (!(err instanceof DomainError)) return undefined;
  if (err.code === 'SERVICE_UNAVAILABLE' || err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN') return undefined;
  return err.fields.length > 0 ? err.fields : [{ path: ['base'], message: err.message }];
}

/**
 * D's user administration inside the caller's organization. Creating and
 * deleting a user are the sagas of @usergraph/user-lifecycle, run after every
 * rule was checked: the profile here, credentials in identity (the password
 * goes there only), licenses in licensing.
 */
export function createUserAdminService(deps: {
  users: UserService;
  identity: IdentityClient;
  licensing: LicensingClient;
  policy: AccessPolicy;
  /** Test-only fault injection (never in production): crashes the process at a named point. */
  faults?: (point: string) => void;
  logger: Pick<Logger, 'error'>;
  /** Records a refusal D answers in its payload (packages/audit's createRefusalAudit; thrown ones are recorded around the resolver). */
  refused: RefusalAudit['refused'];
}) {
  const { users, identity, licensing, policy } = deps;

  /**
   * Uniqueness is decided by the claims taken when writing; this read finds a
   * taken email, phone or username first, so it is listed with the other
   * errors. Each field is read on its own: one that is malformed has its own
   * error already. A race between this read and the write is still refused
   * by the claim, and reported alone.
   */
  async function takenValues(organizationId: string, self: string | undefined, raw: unknown) {
    const user = (typeof raw === 'object' && raw !== null ? raw : {}) as {
      email?: unknown;
      phone?: unknown;
      credentials?: { username?: unknown };
    };
    const { shape } = createUserProfileSchema; // the same field rules as updateUser's
    const email = shape.email.safeParse(user.email).data;
    const phone = shape.phone.safeParse(user.phone).data;
    const username = shape.credentials.shape.username.safeParse(user.credentials?.username).data;
    const [emailOwner, phoneOwner, usernameOwner] = await Promise.all([
      email ? users.findUserIdByIdentifier(organizationId, 'email', email) : null,
      phone ? users.findUserIdByIdentifier(organizationId, 'phone', phone) : null,
      username ? identity.usernameOwner(organizationId, username).then((r) => r.ownerId) : null,
    ]);
    const inUse = (path: string[]): FieldError => ({ path, message: 'is already in use' });
    const taken = (owner: string | null) => owner !== null && owner !== self;
    return [
      ...(taken(emailOwner) ? [inUse(['user', 'email'])] : []),
      ...(taken(usernameOwner) ? [inUse(['user', 'credentials', 'username'])] : []),
      ...(taken(phoneOwner) ? [inUse(['user', 'phone'])] : []),
    ];
  }

  async function createUser(caller: Caller, input: { user?: unknown } & AssignmentRequest, origin: AuditOrigin) {
    const organizationId = await policy.requireOrganizationScope(caller);
    // Finding 7: an ADMIN with a password the caller chose is a takeover of the organization.
    if (Array.isArray(input.requestedLicenses) && input.requestedLicenses.includes('ADMIN'))
      await policy.requireAdminPermission(caller, 'Granting the ADMIN license');
    const profile = validate(createUserProfileSchema, input.user, ['user']);
    const request = {
      requestedLicenses: input.requestedLicenses ?? [],
      requestedGroups: input.requestedGroups ?? ['DEFAULT'],
      requestedOriginGroup: input.requestedOriginGroup ?? null,
    };
    // Licensing's rules are read before anything is written (a refusal at write time would leave the search index's
    // writes of the undone profile behind): validateAssignment is not the redundant hop it looks like.
    const [assignment, taken] = await Promise.all([
      licensing.validateAssignment(organizationId, request),
      takenValues(organizationId, undefined, input.user),
    ]);
    // Every broken rule at once, Rails-validations style: profile fields in their input order, then licenses and groups.
    const errors = [...inProfileOrder([...(profile.ok ? [] : profile.errors), ...taken], CREATE_FIELDS), ...assignment.errors];
    if (!profile.ok || errors.length > 0) return asPayload(errors);

    const p = profile.value;
    const ids = { organizationId, userId: new Types.ObjectId().toHexString() };
    try {
      await createUserSaga(
        ids,
        {
          profile: {
            do: ({ userId, sagaId }, marked) =>
              users.createProfile({
                userId,
                organizationId,
                email: p.email,
                phoneNumber: p.phone ?? undefined,
                firstName: p.firstName,
                lastName: p.lastName,
                status: 'ACTIVE',
                username: p.credentials.username,
                jobTitle: p.jobTitle ?? undefined,
                provisioning: marked,
                sagaId,
                audit: origin,
              }),
            undo: ({ userId }) => users.deleteProfile(organizationId, userId),
          },
          credentials: {
            do: ({ userId }) => identity.createCredentials(organizationId, userId, p.credentials),
            undo: ({ userId }) => identity.deleteCredentials(organizationId, userId),
          },
          licenses: {
            // A new user holds nothing yet, ADMIN least of all.
            do: ({ userId }) => licensing.assignLicenses(organizationId, userId, request, false),
            undo: ({ userId }) => licensing.forgetUser(organizationId, userId),
          },
          activate: ({ userId, sagaId }) => users.finishProvisioning(organizationId, userId, sagaId),
        },
        { logger: deps.logger, faults: deps.faults },
      );
      return { errors: [], user: await users.getProfile(organizationId, ids.userId) };
    } catch (err) {
      const fields = fieldsOf(err);
      if (!fields) throw err;
      // Profile conflicts name the profile's own field; D calls it user.email / user.phone.
      return asPayload(
        fields.map((f) =>
          f.path[0] === 'email' || f.path[0] === 'phoneNumber' ? { ...f, path: ['user', f.path[0] === 'email' ? 'email' : 'phone'] } : f,
        ),
      );
    }
  }

  async function updateUser(caller: Caller, input: { id?: unknown; user?: unknown } & AssignmentRequest, origin: AuditOrigin) {
    const organizationId = await policy.requireOrganizationScope(caller);
    const id = validate(userIdSchema, input.id, ['id']);
    const profile = validate(updateUserProfileSchema, input.user ?? {}, ['user']);
    const errors: FieldError[] = id.ok ? [] : [...id.errors];
    const profileErrors = profile.ok ? [] : profile.errors;
    const assignmentErrors: FieldError[] = [];
    const current = id.ok ? await users.getProfile(organizationId, id.value).catch(undefinedIfNotFound) : undefined;
    if (id.ok && !current) {
      errors.push({ path: ['id'], message: 'does not name a user of your organization' });
      // Another organization's user looks exactly like an absent one: the attempt is recorded either way.
      await deps.refused(origin, organizationId, 'user.updated', { type: 'user', id: id.value });
    }
    // Support admins are the operator's; an ADMIN's account (email, phone, licenses) needs organization-users:admin.
    const held = current ? await policy.requireWriteOn(caller, { organizationId, userId: current.id }) : undefined;
    // A user being created or deleted is no one's to edit (licenses given after a deletion's release would outlive it): refused as deleteUsers refuses it.
    if (current?.pending) return asPayload([{ path: ['id'], message: CONCURRENT_CHANGE_MESSAGE }]);

    const touchesLicenses = input.requestedLicenses != null || input.requestedGroups != null || input.requestedOriginGroup !== undefined;
    let request: AssignmentRequest | undefined;
    // A closed account gave its seats back (closeAccount); licensing it again would count an admin or a seat nobody can use.
    if (touchesLicenses && current?.status === 'CLOSED')
      errors.push({ path: ['id'], message: 'is a closed account: it cannot be given licenses or groups' });
    else if (touchesLicenses && current && held) {
      const licenses = input.requestedLicenses ?? held.licenses;
      if (licenses.includes('ADMIN') !== held.licenses.includes('ADMIN'))
        await policy.requireAdminPermission(caller, 'Granting or taking the ADMIN license');
      // An origin group the caller did not mention goes with the last ADMIN or AUTHOR license.
      const originAllowed = licenses.includes('ADMIN') || licenses.includes('AUTHOR');
      request = {
        requestedLicenses: licenses,
        requestedGroups: input.requestedGroups ?? held.groups,
        requestedOriginGroup:
          input.requestedOriginGroup === undefined ? (originAllowed ? held.originGroup : null) : input.requestedOriginGroup,
      };
      assignmentErrors.push(...(await licensing.validateAssignment(organizationId, request, current.id)).errors);
    }
    // An id that names nobody: its licenses and groups cannot be judged (an omitted one means "what the user holds").
    const taken = current ? await takenValues(organizationId, current.id, input.user) : [];
    if (current) errors.push(...inProfileOrder([...profileErrors, ...taken], UPDATE_FIELDS));
    else errors.push(...profileErrors);
    errors.push(...assignmentErrors);
    if (errors.length > 0 || !id.ok || !profile.ok || !current) return asPayload(errors);

    const p = profile.value;
    try {
      // Licenses first: the last-ADMIN rule is the likeliest refusal, and nothing is written before it.
      if (request)
        await licensing.assignLicenses(
          organizationId,
          current.id,
          request,
          await policy.mayActOnAdmin(caller, { organizationId, userId: current.id }),
          origin,
        );
      const updated = await users.updateProfile(
        organizationId,
        current.id,
        {
          email: p.email ?? undefined,
          firstName: p.firstName ?? undefined,
          lastName: p.lastName ?? undefined,
          phoneNumber: p.phone === undefined ? undefined : p.phone,
          jobTitle: p.jobTitle === undefined ? undefined : p.jobTitle,
        },
        origin,
      );
      return { errors: [], user: updated };
    } catch (err) {
      const fields = fieldsOf(err);
      if (!fields) throw err;
      return asPayload(
        fields.map((f) =>
          f.path[0] === 'email' || f.path[0] === 'phoneNumber' ? { ...f, path: ['user', f.path[0] === 'email' ? 'email' : 'phone'] } : f,
        ),
      );
    }
  }

  /**
   * D's deleteUsers: never the caller, never a foreign or unknown id, never
   * the last company admin or a support admin (licensing refuses those
   * atomically). Each removal releases licenses, then credentials and
   * sessions, then the profile.
   */
  async function deleteUsers(caller: Caller, input: { ids?: unknown }, origin: AuditOrigin) {
    const organizationId = await policy.requireOrganizationScope(caller);
    const ids = Array.isArray(input.ids) ? input.ids : [];
    // Each id costs several reads and calls: one request may not make an unbounded amount of work.
    if (ids.length > MAX_IDS_PER_CALL)
      return { errors: toPayloadErrors([{ path: ['ids'], message: `must hold at most ${MAX_IDS_PER_CALL} ids` }]), deletedIds: [] };
    const errors: FieldError[] = [];
    const deletedIds: string[] = [];
    const self = caller.kind === 'user' ? caller.userId : undefined;
    for (const [i, raw] of ids.entries()) {
      const path = ['ids', String(i)];
      const id = validate(userIdSchema, raw, path);
      if (!id.ok) {
        errors.push(...id.errors);
        continue;
      }
      if (id.value === self) {
        errors.push({ path, message: 'is you: a user cannot remove themselves' });
        continue;
      }
      const profile = await users.getProfile(organizationId, id.value).catch(undefinedIfNotFound);
      if (!profile) {
        errors.push({ path, message: 'does not name a user of your organization' });
        await deps.refused(origin, organizationId, 'user.deleted', { type: 'user', id: id.value });
        continue;
      }
      const { refusal } = await policy.checkWriteOn(caller, { organizationId, userId: id.value });
      if (refusal) {
        await deps.refused(origin, organizationId, 'user.deleted', { type: 'user', id: id.value });
        errors.push({
          path,
          message:
            refusal === 'support-admin'
              ? 'is a support admin and cannot be removed'
              : 'is a company admin: removing one needs organization-users:admin',
        });
        continue;
      }
      const mayActOnAdmin = await policy.mayActOnAdmin(caller, { organizationId, userId: id.value });
      try {
        await deleteUserSaga({ organizationId, userId: id.value }, deletionPorts(mayActOnAdmin, origin), {
          logger: deps.logger,
          faults: deps.faults,
        });
      } catch (err) {
        const refused = err instanceof DomainError ? RELEASE_REFUSALS[err.reason] : undefined;
        if (!refused) throw err;
        errors.push({ path, message: refused });
        continue;
      }
      deletedIds.push(id.value);
    }
    return { errors: toPayloadErrors(errors), deletedIds };
  }

  /** The deletion saga's ports: the marker and the profile here, licenses in licensing, credentials and sessions in identity. */
  const deletionPorts = (callerMayActOnAdmin: boolean, origin: AuditOrigin): DeletionPorts => ({
    mark: {
      // The user.deleted event rides on the mark (see UserService.markDeleting).
      do: ({ organizationId, userId, sagaId }) => users.markDeleting(organizationId, userId, sagaId, origin),
      undo: ({ organizationId, userId, sagaId }) => users.unmarkDeleting(organizationId, userId, sagaId),
    },
    licenses: ({ organizationId, userId }) => licensing.releaseUser(organizationId, userId, callerMayActOnAdmin),
    credentials: ({ organizationId, userId }) => identity.deleteCredentials(organizationId, userId),
    profile: ({ organizationId, userId }) => users.deleteProfile(organizationId, userId),
  });

  /** D's users / members: the caller's organization only, searched through the index of search tokens. */
  async function search(caller: Caller, args: { fullText?: unknown; first?: unknown; after?: unknown }) {
    const scope = await policy.readScope(caller);
    const fullText = validate(fullTextSchema, args.fullText, ['fullText']);
    const page = validate(users.pageArgsSchema, { first: args.first, after: args.after });
    if (!fullText.ok || !page.ok) {
      const errors = [...(fullText.ok ? [] : fullText.errors), ...(page.ok ? [] : page.errors)];
      return {
        errors: toPayloadErrors(errors),
        nodes: [],
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
        totalCount: 0,
      };
    }
    // A caller who sees only themselves searches only themselves: no one else is counted or listed.
    const result =
      scope.onlyUserId === undefined
        ? await users.searchPage(scope.organizationId, fullText.value, page.value)
        : await users.selfSearchPage(scope.organizationId, scope.onlyUserId, fullText.value, page.value);
    return { errors: [], nodes: result.edges.map((e) => e.node), ...result };
  }

  return { createUser, updateUser, deleteUsers, search };
}

export type UserAdminService = ReturnType<typeof createUserAdminService>;
export type { ProfileDto };
