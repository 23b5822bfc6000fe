export { compose, type Composition, type SubgraphInput } from './compose.js';
export { startRegistry } from './app.js';
