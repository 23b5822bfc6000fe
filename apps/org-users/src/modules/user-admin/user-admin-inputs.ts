import { z } from 'zod';
import {
  emailSchema,
  jobTitleSchema,
  objectIdSchema,
  passwordSchema,
  personNameSchema,
  phoneSchema,
  usernameSchema,
} from '@usergraph/validation';

/** D's createUser `input.user`; error paths are D's (user.firstName, user.credentials.password...). */
export const createUserProfileSchema = z.object({
  firstName: personNameSchema,
  lastName: personNameSchema,
  email: emailSchema,
  credentials: z.object({ username: usernameSchema, password: passwordSchema }),
  phone: phoneSchema().nullish(),
  jobTitle: jobTitleSchema.nullish(),
});

/** D's updateUser `input.user`: every field optional; null clears phone and jobTitle. */
export const updateUserProfileSchema = z.object({
  email: emailSchema.nullish(),
  firstName: personNameSchema.nullish(),
  lastName: personNameSchema.nullish(),
  phone: phoneSchema().nullish(),
  jobTitle: jobTitleSchema.nullish(),
});

export const userIdSchema = objectIdSchema;

/** D's fullText: trimmed, lower-cased, bounded; empty means "everyone". */
export const fullTextSchema = z
  .string()
  .trim()
  .max(100)
  .nullish()
  .transform((s) => (s ?? '').toLowerCase());
