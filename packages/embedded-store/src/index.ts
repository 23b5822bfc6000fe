// The embedded store's build (Go) and child-process launcher, for the CLI's
// `npm start`, the tests and the root scripts. Services never import it: they
// only connect to MONGODB_URI through @usergraph/mongo.
export { repoRoot, ensureEmbeddedStoreBinary, ensureEmbeddedStoreBinaryDetailed } from './embedded-store-binary.js';
export type { EnsureBinaryOptions, EnsureBinaryResult } from './embedded-store-binary.js';
export { startEmbeddedStore, pingDatabase, findFreePort } from './embedded-store.js';
export type { EmbeddedStore, StartEmbeddedStoreOptions } from './embedded-store.js';
export { ensureJaegerBinary, startJaeger } from './jaeger.js';
export type { RunningJaeger } from './jaeger.js';
