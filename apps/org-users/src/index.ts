export { orgUsersTypeDefs } from './schema.js';
export { startOrgUsers } from './app.js';
export { orgUsersEnvSchema, type OrgUsersEnv } from './env.js';
export type { ProfileDto } from './modules/users/user-service.js';
export type { OrganizationDto } from './modules/organizations/organization-service.js';
