import { z } from 'zod';
import {
  addressInputSchema,
  emailSchema,
  isoDateStringSchema,
  organisationNameSchema,
  personNameSchema,
  phoneSchema,
  slugSchema,
  taxNumberSchema,
  usernameSchema,
} from '@usergraph/validation';
import { commandsOf } from './contract.js';
import { id, reconcileInput } from './common.js';
import { auditEventSchema, auditOriginSchema } from './audit.js';
import { AUDIT_REFUSAL_REASONS } from './audit-actions.js';

const text = z.string().max(500);
const timestamp = z.string();

export const userStatusSchema = z.enum(['ACTIVE', 'PENDING_VERIFICATION', 'SUSPENDED', 'CLOSED']);

const addressShape = <T extends z.ZodType>(field: T) => ({
  _id: field,
  description: field,
  firstName: field,
  lastName: field,
  addressLine1: field,
  addressLine2: field,
  streetNumber: field,
  city: field,
  state: field,
  stateCode: field,
  postCode: field,
  country: field,
  alpha2: field,
  type: field,
});
const addressSchema = z.object(addressShape(z.string().optional()));

export const organizationSchema = z.object({
  id,
  slug: z.string(),
  name: z.string(),
  status: z.enum(['ACTIVE', 'SUSPENDED']),
  selfSignup: z.boolean(),
});

/** The profile as other services see it (org-users' ProfileDto). */
export const profileSchema = z.object({
  id,
  organizationId: id,
  email: z.string(),
  phoneNumber: z.string().nullable(),
  firstName: z.string(),
  lastName: z.string(),
  name: z.string(),
  status: userStatusSchema,
  organisation: z.string().nullable(),
  taxNumber: z.string().nullable(),
  dateOfBirth: z.string().nullable(),
  isSubscribed: z.boolean(),
  addresses: z.array(addressSchema),
  createdAt: timestamp,
  updatedAt: timestamp,
  syncedAt: timestamp.nullable(),
  closedAt: timestamp.nullable(),
  /** False once the email was changed and the user has not verified it yet: no reset code goes to it. */
  emailVerified: z.boolean(),
  jobTitle: z.string().nullable(),
  legalName: z.object({ first: z.string(), middle: z.string().nullable(), last: z.string() }),
  /** Only the national ID's last four digits ever leave org-users. */
  nationalIdLast4: z.string().nullable(),
  visitorId: z.string().nullable(),
  notificationPreferences: z.object({ email: z.boolean(), sms: z.boolean(), push: z.boolean() }),
  legalAgreementVersions: z.array(z.object({ version: z.string(), acceptedAt: timestamp })),
  /** A creation or deletion saga holds the user: no session is issued to it. */
  pending: z.enum(['PROVISIONING', 'DELETING']).nullable(),
});

const userRef = z.object({ organizationId: id, userId: id });

/** A profile another service asks org-users to store; null address fields (B's "no value") are dropped by org-users. */
export const newProfileSchema = z.strictObject({
  userId: id,
  organizationId: id,
  email: emailSchema,
  phoneNumber: phoneSchema().optional(),
  firstName: personNameSchema,
  lastName: personNameSchema,
  status: z.enum(['ACTIVE', 'PENDING_VERIFICATION']),
  organisation: organisationNameSchema.optional(),
  taxNumber: taxNumberSchema.optional(),
  dateOfBirth: isoDateStringSchema.optional(),
  username: usernameSchema.optional(),
  addresses: z.array(addressInputSchema).max(10).optional(),
  /** The creation saga's marker (see @usergraph/user-lifecycle): set when later steps follow. */
  provisioning: z.boolean().optional(),
  sagaId: z.uuid().optional(),
  /** Who registers the user, for the `user.created` audit event stored with the profile (packages/audit). */
  audit: auditOriginSchema.optional(),
});

/** org-users' internal commands (organizations and profiles). */
export const orgUsersCommands = commandsOf('org-users', {
  /** The bootstrap CLI (and `start`'s public organization). Self-signup is off unless asked for. */
  ensureOrganization: {
    input: z.object({ slug: slugSchema, name: z.string().trim().min(1).max(200), selfSignup: z.boolean().default(false) }),
    output: z.object({ organization: organizationSchema, created: z.boolean() }),
    callers: ['cli'],
  },
  getOrganization: {
    input: z.union([z.object({ slug: z.string().max(100) }), z.object({ id: z.string().max(64) })]),
    output: organizationSchema,
    callers: ['identity'],
  },
  /**
   * Identity's creation saga (B, C, bootstrap): the user id doubles as the command id.
   * Checked with org-users' own field rules whoever asks: the caller's checks are its dialect's, these are the owner's.
   */
  createProfile: {
    input: newProfileSchema,
    output: profileSchema,
    callers: ['identity'],
  },
  /**
   * The creation saga's last step: clears the provisioning marker, only while `sagaId` still holds it.
   * Idempotent; CONFLICT (CONCURRENT_CHANGE) once reconcile claimed the profile, so the saga undoes itself.
   */
  activateProfile: { input: userRef.extend({ sagaId: z.uuid() }), output: z.object({ activated: z.boolean() }), callers: ['identity'] },
  deleteProfile: { input: userRef, output: z.object({ deleted: z.boolean() }), callers: ['identity'] },
  /** identity: a user's status before a session is issued; licensing: its access policy reads the caller's status. */
  getProfile: { input: userRef, output: profileSchema, callers: ['identity', 'licensing'] },
  /** `audit`: who made the change, for its event (`user.activated`, ...), stored with it. */
  setUserStatus: {
    input: userRef.extend({ status: userStatusSchema, audit: auditOriginSchema.optional() }),
    output: profileSchema,
    callers: ['identity'],
  },
  /** Identity's verifyEmail: the user verified this address (a no-op if the email changed since); `user.email_verified` when it was unverified. */
  markEmailVerified: {
    input: userRef.extend({ email: text, audit: auditOriginSchema.optional() }),
    output: z.object({ verified: z.boolean() }),
    callers: ['identity'],
  },
  /** Which of these ids are users of the organization: for licensing's group membership and both reconcile jobs. */
  existingUserIds: {
    input: z.object({ organizationId: id, userIds: z.array(id).max(500) }),
    output: z.object({ userIds: z.array(id) }),
    callers: ['identity', 'licensing'],
  },
  findUserIdByIdentifier: {
    input: z.object({ organizationId: id, kind: z.enum(['email', 'phone']), value: text }),
    output: z.object({ userId: id.nullable() }),
    callers: ['identity'],
  },
  /**
   * The audit relays of identity and licensing (packages/audit): stores the events in org-users' audit log.
   * Idempotent: the event id is the stored `_id`, a replayed event is ignored.
   */
  /**
   * Stores events in org-users' log, idempotent by (caller, event id). Each event is checked on its own: an action
   * outside the caller's row of AUDIT_ACTIONS, or an `occurredAt` too far ahead or older than retention, is refused
   * (listed in `refused`, never stored); `webhookType` is derived from the action, never taken from the caller.
   */
  recordAuditEvents: {
    input: z.object({ events: z.array(auditEventSchema).min(1).max(500) }),
    output: z.object({
      recorded: z.number().int(),
      refused: z.array(z.object({ id: z.string(), reason: z.enum(AUDIT_REFUSAL_REASONS) })).optional(),
    }),
    callers: ['identity', 'licensing'],
  },
  /** The reconciliation job: finishes the user sagas a crash interrupted (org-users' user-admin/reconcile.ts). */
  reconcile: {
    input: reconcileInput,
    output: z.object({
      removedProfiles: z.number().int(),
      deletedProfiles: z.number().int(),
      keptProfiles: z.number().int(),
      releasedClaims: z.number().int(),
      /** Audit events moved from org-users' outboxes to the log, and events older than AUDIT_RETENTION_DAYS deleted. */
      relayedAuditEvents: z.number().int(),
      sweptAuditEvents: z.number().int(),
    }),
    callers: ['cli'],
  },
  /** `usergraph repair`: verifies the search index against the profiles and rewrites what disagrees. */
  repair: {
    input: z.object({}),
    output: z.object({
      organizations: z.number().int(),
      bucketsRewritten: z.number().int(),
      headsRecounted: z.number().int(),
      skipped: z.number().int(),
      changed: z.array(z.object({ organizationId: id, buckets: z.number().int(), heads: z.number().int() })),
    }),
    callers: ['cli'],
  },
});
