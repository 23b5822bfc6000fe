// One mongoose connection per service, with settings that fail fast instead
// of queueing when the database is down (services answer SERVICE_UNAVAILABLE).
import mongoose from 'mongoose';

// strictQuery is read from the global options when a Schema is created, so it
// must be global: filter paths not in the schema are dropped. Operator
// injection ({ email: { $ne: null } }) is stopped before any query, by the
// zod schemas every input passes (a string field never accepts an object);
// sanitizeFilter is not used because it also neutralises our own $in/$lt.
mongoose.set('strictQuery', true);

export interface ConnectDatabaseOptions {
  uri: string;
  dbName: string;
  appName: string;
}

export async function connectDatabase(opts: ConnectDatabaseOptions): Promise<mongoose.Connection> {
  const conn = mongoose.createConnection(opts.uri, {
    dbName: opts.dbName,
    appName: opts.appName,
    serverSelectionTimeoutMS: 5000,
    // No buffering: an operation while disconnected errors at once.
    bufferCommands: false,
    autoIndex: true,
    maxPoolSize: 20,
  });
  await conn.asPromise();
  return conn;
}

/** Connected, and the server answers an admin ping within ~1 s. */
export async function isDatabaseReady(conn: mongoose.Connection): Promise<boolean> {
  if (conn.readyState !== mongoose.ConnectionStates.connected || !conn.db) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ping = conn.db
      .admin()
      .command({ ping: 1 })
      .then((r) => r.ok === 1);
    const timeout = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), 1000);
    });
    return await Promise.race([ping, timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
  'MongoPoolClosedError',
  'MongoClientClosedError',
  'DisconnectedError',
]);

// Labels the driver puts on errors caused by a lost connection.
const UNAVAILABLE_LABELS = new Set(['ResetPool', 'RetryableWriteError', 'HandshakeError', 'PoolRequstedRetry']);

// Raw socket errors: the driver (6.x) lets e.g. EPIPE escape unwrapped when it
// writes to a pooled connection the killed server had closed.
const SOCKET_ERROR_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'ERR_SOCKET_CLOSED',
]);

const UNAVAILABLE_MESSAGES = [
  /buffering timed out/i,
  /before initial connection is complete/i,
  /connection was force closed/i,
  /client must be connected/i,
  /topology is closed/i,
  /connection .* closed/i,
];

/** Whether err means "the database is unreachable" (vs. a bad request). */
export function isDatabaseUnavailableError(err: unknown): boolean {
  const seen = new Set<unknown>();
  // Walk the cause chain: mongoose and the driver wrap the network error.
  for (let e = err; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const m = mongoose.mongo;
    if (
      e instanceof m.MongoNetworkError ||
      e instanceof m.MongoServerSelectionError ||
      e instanceof m.MongoNotConnectedError ||
      e instanceof m.MongoTopologyClosedError ||
      e instanceof m.MongoServerClosedError
    ) {
      return true;
    }
    const { name, message, errorLabels, code } = e as {
      name?: unknown;
      message?: unknown;
      errorLabels?: unknown;
      code?: unknown;
    };
    if (typeof name === 'string' && UNAVAILABLE_ERROR_NAMES.has(name)) return true;
    if (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) return true;
    // Driver errors expose labels as a Set (errorLabelSet) and an array getter.
    const labels = errorLabels instanceof Set ? [...errorLabels] : Array.isArray(errorLabels) ? errorLabels : [];
    if (labels.some((l) => typeof l === 'string' && UNAVAILABLE_LABELS.has(l))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) {
      // Only trust message matching for mongoose/driver errors.
      if (e instanceof mongoose.Error || e instanceof m.MongoError) return true;
    }
  }
  return false;
}
