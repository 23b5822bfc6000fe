export { startGateway, loadSupergraphSdl } from './app.js';
export { composeSupergraph } from './compose-supergraph.js';
export { gatewayEnvSchema, type GatewayEnv } from './env.js';
