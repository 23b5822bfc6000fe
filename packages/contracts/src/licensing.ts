import { z } from 'zod';
import { LICENSE_TYPES, licenseTypeSchema } from '@usergraph/validation';
import { commandsOf } from './contract.js';
import { auditOriginSchema } from './audit.js';
import { fieldIssue, id, reconcileInput } from './common.js';

/**
 * A requested assignment in D's argument names. Only the types are checked
 * here: licensing's rules judge the names and the sizes and report every
 * broken rule at once, at D's paths (validateAssignment), which a refusal
 * here could not. The request body limit bounds the sizes before that.
 */
export const assignmentRequest = {
  requestedLicenses: z.array(licenseTypeSchema).nullish(),
  requestedGroups: z.array(z.string()).nullish(),
  requestedOriginGroup: z.string().nullish(),
};

/**
 * Writes on an existing user: whether org-users' caller holds
 * organization-users:admin (or acts on themselves). Absent means no, so a
 * user holding ADMIN is refused at write time unless the caller says so.
 */
const callerMayActOnAdmin = z.boolean().default(false);

/** What licensing holds for one user. */
export const userLicensesSchema = z.object({
  id,
  licenses: z.array(z.enum(LICENSE_TYPES)),
  groups: z.array(z.string()),
  originGroup: z.string().nullable(),
  /** A platform-support user (bootstrap --support-admin): the organization may not change its account. */
  supportAdmin: z.boolean(),
});

const countFix = z.object({ organizationId: id, from: z.number().int(), to: z.number().int() });

/** licensing's internal commands (licenses, groups, seats). All are idempotent. */
export const licensingCommands = commandsOf('licensing', {
  /**
   * D's license and group rules, checked without writing: `{ ok, errors }` with D's paths, every broken rule at once.
   * With `userId` (updateUser) the seats and the last ADMIN are judged against what that user holds now.
   */
  validateAssignment: {
    input: z.object({ organizationId: id, userId: id.optional(), ...assignmentRequest }),
    output: z.object({ ok: z.boolean(), errors: z.array(fieldIssue) }),
    callers: ['org-users'],
  },
  /** Sets a user's complete assignment. identity: the licenses step of bootstrap's creation saga (the first admin). */
  assignLicenses: {
    input: z.object({
      organizationId: id,
      userId: id,
      supportAdmin: z.boolean().optional(),
      callerMayActOnAdmin,
      ...assignmentRequest,
      /**
       * Who changes a live user's licenses or groups: the change's audit event rides on the assignment write.
       * None during a creation saga (its user.created says it).
       */
      audit: auditOriginSchema.optional(),
    }),
    output: userLicensesSchema,
    callers: ['org-users', 'identity'],
  },
  /** closeAccount gives the seats back through this: refused for the last company admin and for support admins. */
  revokeLicenses: {
    input: z.object({
      organizationId: id,
      userId: id,
      licenses: z.array(licenseTypeSchema).max(LICENSE_TYPES.length),
      callerMayActOnAdmin,
      audit: auditOriginSchema.optional(),
    }),
    output: userLicensesSchema,
    callers: ['org-users'],
  },
  /** For a deleted user: frees every seat. Refused for the last company admin and for support admins. */
  releaseUser: {
    input: z.object({ organizationId: id, userId: id, callerMayActOnAdmin }),
    output: z.object({ released: z.boolean() }),
    callers: ['org-users'],
  },
  /** The undo of a creation saga's licenses step, and reconciliation: drop the assignment of a user that never came to exist. */
  forgetUser: {
    input: z.object({ organizationId: id, userId: id }),
    output: z.object({ forgotten: z.boolean() }),
    callers: ['org-users', 'identity'],
  },
  /** The reconciliation job: assignments of users org-users does not know are forgotten. */
  /** `relayedAuditEvents`: audit events moved from licensing's outboxes to org-users' log. */
  reconcile: {
    input: reconcileInput,
    output: z.object({ forgottenAssignments: z.number().int(), relayedAuditEvents: z.number().int() }),
    callers: ['cli'],
  },
  /** `usergraph repair`: recounts group members and seats from the assignments; reports each count it changed. */
  repair: {
    input: z.object({}),
    output: z.object({
      groups: z.array(countFix.extend({ name: z.string() })),
      seats: z.array(countFix.extend({ license: z.enum(LICENSE_TYPES) })),
      /** Counts that moved while being checked (a live change): left to the next run. */
      skipped: z.number().int(),
      checked: z.object({ groups: z.number().int(), organizations: z.number().int() }),
    }),
    callers: ['cli'],
  },
  getUserLicenses: { input: z.object({ organizationId: id, userId: id }), output: userLicensesSchema, callers: ['identity', 'org-users'] },
});
