import { z } from 'zod';
import {
  emailSchema,
  passwordSchema,
  permissionSchema,
  personNameSchema,
  phoneSchema,
  singleLineText,
  usernameSchema,
} from '@usergraph/validation';
import { commandsOf } from './contract.js';
import { id, reconcileInput } from './common.js';
import { assignmentRequest } from './licensing.js';

/** Identity's internal commands (credentials, sessions, applications). */
export const identityCommands = commandsOf('identity', {
  /** Asked by the other subgraphs before they honour a token (identity's sessions/caller-liveness.ts). */
  callerStatus: {
    input: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('user'), organizationId: id, userId: id, sessionId: id }),
      z.object({ kind: z.literal('application'), organizationId: id, clientId: id }),
    ]),
    /** `permissions`: an application's current ones, so a removed permission stops at once. */
    output: z.object({ live: z.boolean(), permissions: z.array(z.string()).optional() }),
    callers: ['gateway', 'org-users', 'licensing'],
  },
  /** The bootstrap CLI's first admin: one creation saga (profile, ADMIN license, credentials, activate), undone on failure. */
  provisionUser: {
    input: z.object({
      organizationId: id,
      email: emailSchema,
      username: usernameSchema,
      password: passwordSchema,
      firstName: personNameSchema,
      lastName: personNameSchema,
      phoneNumber: phoneSchema().optional(),
      /** The saga's licenses step; licensing validates the request. */
      licenses: z.object({ ...assignmentRequest, supportAdmin: z.boolean().optional() }).optional(),
    }),
    output: z.object({ userId: id }),
    callers: ['cli'],
  },
  /** D's createUser: username and password for a profile org-users already wrote. Idempotent per user id. */
  createCredentials: {
    input: z.object({ organizationId: id, userId: id, username: usernameSchema, password: passwordSchema }),
    output: z.object({ userId: id }),
    callers: ['org-users'],
  },
  /** Read-only: who holds a username (D's createUser lists a taken one with its other errors). */
  usernameOwner: {
    input: z.object({ organizationId: id, username: z.string().max(254) }),
    output: z.object({ ownerId: id.nullable() }),
    callers: ['org-users'],
  },
  /** Also revokes every session of the user. Idempotent. */
  deleteCredentials: {
    input: z.object({ organizationId: id, userId: id }),
    output: z.object({ deleted: z.boolean() }),
    callers: ['org-users'],
  },
  /** org-users' closeAccount: every session of the user ends. Idempotent. */
  revokeSessions: {
    input: z.object({ organizationId: id, userId: id }),
    output: z.object({ revoked: z.number().int().min(0) }),
    callers: ['org-users'],
  },
  /** The reconciliation job: credentials of users org-users does not know are deleted. */
  reconcile: {
    input: reconcileInput,
    /** `relayedAuditEvents`: audit events moved from identity's outbox to org-users' log. */
    output: z.object({ removedCredentials: z.number().int(), releasedClaims: z.number().int(), relayedAuditEvents: z.number().int() }),
    callers: ['cli'],
  },
  /** The bootstrap CLI's application; the secret is shown once. */
  createApplication: {
    input: z.object({ organizationId: id, name: singleLineText({ max: 100 }), permissions: z.array(permissionSchema).max(10) }),
    output: z.object({
      clientId: z.string(),
      clientSecret: z.string(),
      organizationId: id,
      name: z.string(),
      status: z.enum(['ACTIVE', 'INACTIVE']),
      permissions: z.array(z.string()),
      createdAt: z.string(),
    }),
    callers: ['cli'],
  },
  /** Development only: what the outbox notifier "sent" (for `usergraph outbox`). */
  listOutbox: {
    input: z.object({ to: z.string().max(254).optional(), limit: z.number().int().min(1).max(100).default(20) }),
    output: z.object({
      /** False when mail goes by SMTP: there is no outbox. */
      enabled: z.boolean(),
      messages: z.array(z.object({ to: z.string(), subject: z.string(), text: z.string(), createdAt: z.string() })),
    }),
    callers: ['cli'],
  },
});
