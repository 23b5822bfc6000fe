/**
 * The benchmark's one window on process.env (the lint rule keeps it here): the store it runs
 * against, and what its child processes inherit.
 */

/** A real MongoDB (the index path) instead of the embedded store, as for npm start and npm test. */
const mongodbUri = process.env.MONGODB_URI;
/** Unset or empty: the embedded store. */
export const MONGODB_URI = mongodbUri === '' ? undefined : mongodbUri;

/** libuv's thread pool size, which bounds parallel password hashes; Node's default is 4. */
export const UV_THREADPOOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/** The environment a child inherits as it is: a measurement runs under the caller's settings. */
export const inheritedEnv = (): NodeJS.ProcessEnv => process.env;

/** PATH and HOME, for a child started with a clean environment of its own. */
export const PATH = process.env.PATH ?? '';
export const HOME: string | undefined = process.env.HOME;

/** cpu-profile-hook.ts, inside a service: where to write CPU profiles (unset: the hook does nothing), and whether to count promises instead. */
export const CPU_PROFILE_DIR: string | undefined = process.env.USERGRAPH_CPU_PROFILE_DIR;
export const COUNT_PROMISES = process.env.USERGRAPH_COUNT_PROMISES === '1';
