import { pino, type Logger } from 'pino';
import { errSummary, withoutUrlCredentials } from './error-summary.js';

export type { Logger };

/**
 * Paths that must never reach a log line. pino replaces them with "[redacted]".
 * Services also never log request bodies or variables, which is the first line
 * of defence; this list is the second.
 */
export const REDACTED_PATHS = [
  'authorization',
  'password',
  'newPassword',
  'currentPassword',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'jwt',
  'nationalId',
  'code',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.password',
  '*.newPassword',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.jwt',
  '*.nationalId',
  '*.variables',
];

export function createLogger(opts: { service: string; level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: opts.service,
      level: opts.level,
      base: { service: opts.service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // An Error logged as such (`{ err }`, or as the first argument) keeps its name and message only: no
      // stack, no URL credentials (errSummary). Summaries already made pass through.
      serializers: { err: (err: unknown) => (err instanceof Error ? errSummary(err) : err) },
      hooks: {
        // `logger.error(err)` (how Apollo reports some failures) would make the raw message the line's msg.
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          if (first instanceof Error) {
            const err = errSummary(first);
            return method.call(this, { err }, typeof rest[0] === 'string' ? withoutUrlCredentials(rest[0]) : err.message);
          }
          if (typeof first === 'string') return method.apply(this, [withoutUrlCredentials(first), ...rest] as Parameters<typeof method>);
          return method.apply(this, args);
        },
      },
    },
    opts.destination,
  );
}

/**
 * An undo (compensation) step failed. It is logged, with what it left behind,
 * and not rethrown: the caller reports the error that made it undo, and
 * `usergraph reconcile` repairs the leftovers (`context.repair` says so when
 * something else does). `context` names the saga (user, organization, command
 * or request id); never values such as emails.
 */
export function logUndoFailure(logger: Pick<Logger, 'error'>, err: unknown, undo: string, context: Record<string, unknown>): void {
  logger.error(
    { err: errSummary(err), undo, repair: 'usergraph reconcile', ...context },
    'undo step failed; what it left behind waits for its repair',
  );
}
