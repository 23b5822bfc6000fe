// What a log may say of an unexpected error. No imports: telemetry.ts uses it before the
// instrumentations patch anything, and it must not load an instrumented module early.

/** Longest message kept: a log line is not the place for a whole payload an error quoted. */
const MAX_MESSAGE = 2_000;

/**
 * `scheme://user:password@host` → `scheme://REDACTED@host`, also when the password holds `@`. Linear
 * in the text's length (each character belongs to one run).
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]{0,31}:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;

export const withoutUrlCredentials = (text: string): string =>
  (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text).replace(URL_CREDENTIALS, '$1REDACTED@');

/**
 * What we log of an unexpected error: its name and message, never its input, its stack (it names our
 * files and dependencies to whoever reads the logs) or the credentials of a URL its message quotes.
 */
export function errSummary(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: withoutUrlCredentials(err.message) };
  const message = (err as { message?: unknown } | null)?.message;
  return { name: 'NonError', message: withoutUrlCredentials(typeof message === 'string' ? message : String(err)) };
}
