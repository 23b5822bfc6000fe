export { licensingTypeDefs } from './schema.js';
export { startLicensing } from './app.js';
export { licensingEnvSchema, type LicensingEnv } from './env.js';
