import { z } from 'zod';
import { baseServiceEnv, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';

export const orgUsersEnvSchema = baseServiceEnv.extend(tokenVerificationEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4002),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' }),
  MONGODB_DB: z.string().min(1).default('orgusers'),
  LICENSING_URL: z.url(),
});

export type OrgUsersEnv = z.output<typeof orgUsersEnvSchema>;

export const loadOrgUsersEnv = (): OrgUsersEnv => loadEnv(orgUsersEnvSchema, 'org-users');
