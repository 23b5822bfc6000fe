export { READER, registryKeyFor, registryTokenFrom, subgraphPrincipal } from './credentials.js';
export { compose, type Composition, type SubgraphInput } from './compose.js';
export { startRegistry } from './app.js';
