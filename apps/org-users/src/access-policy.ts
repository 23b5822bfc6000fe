import { Kind, type DocumentNode } from 'graphql';
import { DomainError, forbidden, requireAuthenticated, type Caller } from '@usergraph/service-kit';
import { createAuditOrigin } from '@usergraph/audit';
import type { LicensingClient, UserLicenses } from './clients.js';
import type { ProfileDto } from './modules/users/user-service.js';

/**
 * The access policy of org-users: every read and write of a user goes
 * through this file (licensing has the same rules in its own access-policy.ts).
 *
 * Callers
 * - anonymous: nothing here (UNAUTHENTICATED).
 * - self-only: a user with no license (A's consumers, B's customers, C's
 *   users), and every user whose status is not ACTIVE (PENDING_VERIFICATION,
 *   SUSPENDED, CLOSED), whatever their licenses. They read and update only
 *   themselves; `users` / `members` list only them, other ids are FORBIDDEN.
 *   A pending user may verify, sign out (identity), read all of their own
 *   fields and update their own account state (A's acceptLegalAgreement,
 *   updateNotificationPreferences, closeAccount without userId); nothing else.
 * - member: an ACTIVE user holding a license other than ADMIN. Reads the
 *   directory fields of every user of the organization, never personal data.
 * - admin: an ACTIVE user holding ADMIN (support admins too). Reads every
 *   field, administers users, and holds organization-users:admin implicitly.
 * - application: by its permissions. organization-users:read or :write reads
 *   every field of every user; :write administers users; only
 *   organization-users:admin (never granted by default) may grant or take
 *   ADMIN or act on an ADMIN's account.
 *
 * Writes naming another user (updateUser, deleteUsers, A's mutations with a
 * userId, connections, tradelines, sync) are refused when the target is a
 * support admin (their account belongs to the platform operator), and need
 * organization-users:admin when the target holds ADMIN. Writes to oneself are
 * always one's own. Licensing checks the ADMIN rule again on the assignment it
 * writes (mayActOnAdmin); a profile-only write is not re-checked (README).
 */
export const PERMISSION = {
  read: 'organization-users:read',
  write: 'organization-users:write',
  admin: 'organization-users:admin',
} as const;

/** `directory`: colleagues (members) may read it. `personal`: only the user, admins and applications that read users. */
export type FieldClass = 'directory' | 'personal';

/** Every field org-users resolves on User. A field missing here stops the service at start (see guardUserFields). */
export const USER_FIELD_CLASSES: Record<string, FieldClass> = {
  id: 'directory',
  _id: 'directory',
  email: 'directory',
  firstName: 'directory',
  lastName: 'directory',
  name: 'directory',
  jobTitle: 'directory',
  status: 'directory',
  organization: 'directory',
  createdAt: 'directory',
  updatedAt: 'directory',
  phoneNumber: 'personal',
  telephone: 'personal',
  // B's company name and tax number describe the customer, not the colleague.
  organisation: 'personal',
  taxNumber: 'personal',
  isSubscribed: 'personal',
  dateOfBirth: 'personal',
  addresses: 'personal',
  address: 'personal',
  syncedAt: 'personal',
  closedAt: 'personal',
  // The legal name carries the middle name, given only for A's KYC.
  legalName: 'personal',
  nationalIdLast4: 'personal',
  visitorId: 'personal',
  notificationPreferences: 'personal',
  legalAgreementVersions: 'personal',
  connections: 'personal',
  connection: 'personal',
  tradelines: 'personal',
};

/** The user a write acts on, always inside the caller's organization. */
export interface UserScope {
  organizationId: string;
  userId: string;
}

export type Viewer =
  | { kind: 'application'; organizationId: string; permissions: ReadonlySet<string> }
  | { kind: 'user'; role: 'self-only' | 'member' | 'admin'; organizationId: string; userId: string; supportAdmin: boolean };

/** What a reader may list: the whole organization, or only themselves. */
export interface ReadScope {
  organizationId: string;
  onlyUserId?: string;
}

const ORG_SCOPED = 'Needs an organization admin (ADMIN license) or an application with organization-users:write';

type Resolver = (source: ProfileDto, args: unknown, ctx: { caller: Caller }, info: unknown) => unknown;

export function createAccessPolicy(deps: {
  licensing: Pick<LicensingClient, 'licensesOf'>;
  /** The caller's own profile (its status), or undefined when it is gone. */
  profileOf: (organizationId: string, userId: string) => Promise<ProfileDto | undefined>;
}) {
  // Callers are per-request objects: the answer is asked once per request.
  const viewers = new WeakMap<Caller, Promise<Viewer>>();
  // The same answers once known, so field checks after the first are synchronous.
  const known = new WeakMap<Caller, Viewer>();

  async function resolveViewer(c: Exclude<Caller, { kind: 'anonymous' }>): Promise<Viewer> {
    if (c.kind === 'application') {
      const viewer: Viewer = { kind: 'application', organizationId: c.organizationId, permissions: c.permissions };
      known.set(c, viewer);
      return viewer;
    }
    const [held, profile] = await Promise.all([
      deps.licensing.licensesOf(c.organizationId, c.userId),
      deps.profileOf(c.organizationId, c.userId),
    ]);
    const active = profile?.status === 'ACTIVE';
    const role = !active || held.licenses.length === 0 ? 'self-only' : held.licenses.includes('ADMIN') ? 'admin' : 'member';
    const viewer: Viewer = { kind: 'user', role, organizationId: c.organizationId, userId: c.userId, supportAdmin: held.supportAdmin };
    known.set(c, viewer);
    return viewer;
  }

  function viewerOf(caller: Caller): Promise<Viewer> {
    const c = requireAuthenticated(caller);
    let viewer = viewers.get(c);
    if (!viewer) {
      viewer = resolveViewer(c);
      viewers.set(c, viewer);
    }
    return viewer;
  }

  const readsEverything = (v: Viewer) =>
    v.kind === 'application' ? v.permissions.has(PERMISSION.read) || v.permissions.has(PERMISSION.write) : v.role === 'admin';

  /** Lists and reads by id: UNAUTHENTICATED, FORBIDDEN, or the users the caller may see. */
  async function readScope(caller: Caller): Promise<ReadScope> {
    return scopeOf(await viewerOf(caller));
  }

  function scopeOf(v: Viewer): ReadScope {
    if (v.kind === 'application' && !readsEverything(v)) throw forbidden('The application lacks the organization-users:read permission');
    if (v.kind === 'user' && v.role === 'self-only') return { organizationId: v.organizationId, onlyUserId: v.userId };
    return { organizationId: v.organizationId };
  }

  const inScope = (scope: ReadScope, user: { organizationId: string; id: string }) =>
    user.organizationId === scope.organizationId && (scope.onlyUserId === undefined || scope.onlyUserId === user.id);

  /** Every user may read all of their own fields, whatever their role (so `me` needs no role lookup). */
  const isSelf = (caller: Caller, user: { organizationId: string; id: string }) =>
    caller.kind === 'user' && caller.userId === user.id && caller.organizationId === user.organizationId;

  /** The profiles (already read inside the caller's organization) that the caller may see. */
  async function visible(caller: Caller, profiles: readonly ProfileDto[]): Promise<ProfileDto[]> {
    const c = requireAuthenticated(caller);
    if (c.kind === 'application') await readScope(c);
    if (profiles.every((p) => isSelf(c, p))) return [...profiles];
    const scope = await readScope(c);
    return profiles.filter((p) => inScope(scope, p));
  }

  /** One field of one user, for a known viewer: the single rule every User field resolver passes. */
  function checkField(v: Viewer, user: ProfileDto, field: string): void {
    if (!inScope(scopeOf(v), user)) throw forbidden('This user is not visible to you');
    if (USER_FIELD_CLASSES[field] === 'directory' || readsEverything(v)) return;
    throw forbidden(
      `${field} is personal data: only the user, an organization admin and applications with organization-users:read may read it`,
    );
  }

  /**
   * Wraps every User field org-users declares in `typeDefs` with checkField,
   * so no path (users, members, me, organizationUser, _entities, mutation
   * payloads) reaches a field without the policy. A declared field with no
   * class in USER_FIELD_CLASSES is a startup error, not a silent hole.
   */
  function guardUserFields<R extends Record<string, unknown>>(typeDefs: DocumentNode, resolvers: R): R {
    const guarded: Record<string, unknown> = { ...resolvers };
    for (const field of userFieldsOf(typeDefs)) {
      if (!(field in USER_FIELD_CLASSES)) throw new Error(`access policy: User.${field} has no class in USER_FIELD_CLASSES`);
      const resolve = (resolvers[field] as Resolver | undefined) ?? ((u: ProfileDto) => (u as unknown as Record<string, unknown>)[field]);
      guarded[field] = (u: ProfileDto, args: unknown, ctx: { caller: Caller }, info: unknown) => {
        if (isSelf(ctx.caller, u)) return resolve(u, args, ctx, info);
        const v = known.get(ctx.caller);
        if (v) {
          checkField(v, u, field);
          return resolve(u, args, ctx, info);
        }
        return viewerOf(ctx.caller).then((viewer) => {
          checkField(viewer, u, field);
          return resolve(u, args, ctx, info);
        });
      };
    }
    // The same fields as `resolvers`, each wrapped with the same signature.
    return guarded as R;
  }

  /** Acting for the whole organization: an application with :write, or an ACTIVE admin; returns its organization. */
  async function requireOrganizationScope(caller: Caller): Promise<string> {
    const v = await viewerOf(caller);
    if (v.kind === 'application') {
      if (!v.permissions.has(PERMISSION.write)) throw forbidden(`The application lacks organization-users:write. ${ORG_SCOPED}`);
    } else if (v.role !== 'admin') {
      throw forbidden(ORG_SCOPED);
    }
    return v.organizationId;
  }

  /** Granting or taking ADMIN, or acting on an ADMIN's account: an ADMIN user, or an application with organization-users:admin. */
  async function holdsAdminPermission(caller: Caller): Promise<boolean> {
    const v = await viewerOf(caller);
    return v.kind === 'application' ? v.permissions.has(PERMISSION.admin) : v.role === 'admin';
  }

  /**
   * Who acts, as an audit event names them (packages/audit's one helper): a support admin (the operator's staff)
   * is told apart from the organization's own users. The viewer is the one every write resolves anyway (asked once per request).
   */
  const auditOrigin = createAuditOrigin(async (c) => {
    const v = await viewerOf(c);
    return v.kind === 'user' && v.supportAdmin;
  });

  async function requireAdminPermission(caller: Caller, what: string): Promise<void> {
    if (!(await holdsAdminPermission(caller)))
      throw forbidden(`${what} needs an organization admin or an application with organization-users:admin`);
  }

  /**
   * May the caller write to `target`'s account? Returns the target's licenses
   * (callers need them) and, when refused, why. Oneself is always allowed.
   */
  async function checkWriteOn(
    caller: Caller,
    target: UserScope,
  ): Promise<{ held: UserLicenses; refusal?: 'support-admin' | 'needs-admin-permission' }> {
    const c = requireAuthenticated(caller);
    const held = await deps.licensing.licensesOf(target.organizationId, target.userId);
    if (c.kind === 'user' && c.userId === target.userId) return { held };
    if (held.supportAdmin) return { held, refusal: 'support-admin' };
    if (held.licenses.includes('ADMIN') && !(await holdsAdminPermission(caller))) return { held, refusal: 'needs-admin-permission' };
    return { held };
  }

  const REFUSALS = {
    'support-admin': { reason: 'SUPPORT_ADMIN', message: "A support admin's account is managed only by the platform operator" },
    'needs-admin-permission': {
      reason: 'COMPANY_ADMIN',
      message: "Acting on a company admin's account needs an organization admin or an application with organization-users:admin",
    },
  } as const;

  /** Passed to licensing's writes, which check it again on the assignment they write (a promotion racing this check cannot slip past). */
  async function mayActOnAdmin(caller: Caller, target: UserScope): Promise<boolean> {
    const c = requireAuthenticated(caller);
    return (c.kind === 'user' && c.userId === target.userId) || holdsAdminPermission(c);
  }

  async function requireWriteOn(caller: Caller, target: UserScope): Promise<UserLicenses> {
    const { held, refusal } = await checkWriteOn(caller, target);
    if (refusal) throw new DomainError('FORBIDDEN', REFUSALS[refusal].message, [], { reason: REFUSALS[refusal].reason });
    return held;
  }

  /** A's account mutations: the signed-in user, or, for an organization-scoped caller, `userId` in its organization. */
  async function accountTarget(caller: Caller, userId: string | undefined, parseUserId: (raw: unknown) => string): Promise<UserScope> {
    const c = requireAuthenticated(caller);
    if (c.kind === 'user' && (userId == null || userId === c.userId)) return { organizationId: c.organizationId, userId: c.userId };
    const organizationId = await requireOrganizationScope(c);
    if (userId == null) {
      throw new DomainError('BAD_USER_INPUT', 'Invalid input: userId is required when an application acts on an account', [
        { path: ['userId'], message: 'is required when an application acts on an account' },
      ]);
    }
    const target = { organizationId, userId: parseUserId(userId) };
    await requireWriteOn(caller, target);
    return target;
  }

  return {
    viewerOf,
    readScope,
    visible,
    auditOrigin,
    guardUserFields,
    requireOrganizationScope,
    requireAdminPermission,
    checkWriteOn,
    requireWriteOn,
    mayActOnAdmin,
    accountTarget,
  };
}

export type AccessPolicy = ReturnType<typeof createAccessPolicy>;

/** Every field declared on User (type and extensions) in this subgraph's SDL. */
function userFieldsOf(typeDefs: DocumentNode): string[] {
  const fields = new Set<string>();
  for (const def of typeDefs.definitions) {
    if ((def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) && def.name.value === 'User') {
      for (const f of def.fields ?? []) fields.add(f.name.value);
    }
  }
  return [...fields];
}
