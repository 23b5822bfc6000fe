export { startGateway } from './app.js';
export { gatewayEnvSchema, type GatewayEnv } from './env.js';
export { subgraphsOf } from './supergraph-source.js';
