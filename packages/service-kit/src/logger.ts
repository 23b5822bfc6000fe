import { pino, type Logger } from 'pino';

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

export function createLogger(opts: {
  service: string;
  level: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: opts.service,
      level: opts.level,
      base: { service: opts.service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination,
  );
}
