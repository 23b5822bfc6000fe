export {
  startStack,
  waitUntilReady,
  writeStackState,
  SERVICE_NAMES,
  type RunningStack,
  type ServiceName,
  type StackOptions,
} from './stack.js';
export { connectToStack, reconcileStack, type StackClient } from './stack-client.js';
export { bootstrap, parseBootstrapArgs, type BootstrapResult } from './bootstrap.js';
export { composeLocalSupergraph, LOCAL_SUBGRAPHS } from './local-subgraphs.js';
export { schemaCommand, registryConnection, callRegistry } from './schema-commands.js';
