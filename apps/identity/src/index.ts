export { identityTypeDefs } from './schema.js';
export { startIdentity } from './app.js';
export { identityEnvSchema, type IdentityEnv } from './env.js';
