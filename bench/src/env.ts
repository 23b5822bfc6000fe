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
