/** The build tooling's one window on process.env (the lint rule keeps it here). */

/** Set when the project runs against a real MongoDB: then the embedded store is never built. */
export const externalMongodbUri = (): string | undefined => (process.env.MONGODB_URI === '' ? undefined : process.env.MONGODB_URI);

/** Go runs with the caller's environment (GOPATH, GOCACHE, proxy settings) plus these. */
export function goBuildEnv(): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=local: never download another toolchain behind the user's back.
  return { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
}
