import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';

/** The generic GraphQL error codes of CONTRACTS.md. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export interface FieldIssue {
  path: string[];
  message: string;
}

/**
 * The one typed domain error. Services throw or return it; each dialect maps
 * it to its own style (GraphQL error, C's payload code, D's payload errors).
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldIssue[] = [],
    /** A dialect-specific code, such as C's AUTH-0027. */
    readonly dialectCode?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * `httpStatus` is for errors raised before execution (a bad token: 401).
 * Resolver errors keep HTTP 200, as the gateway expects from a subgraph.
 */
export function toGraphQLError(err: DomainError, httpStatus?: number): GraphQLError {
  const extensions: Record<string, unknown> = { code: err.code };
  if (err.fields.length > 0) {
    extensions.fields = err.fields.map((f) => ({ path: f.path.join('.'), message: f.message }));
  }
  if (httpStatus) extensions.http = { status: httpStatus };
  return new GraphQLError(err.message, { extensions });
}

export const unauthenticated = (message = 'Authentication required') =>
  new DomainError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You are not allowed to do this') =>
  new DomainError('FORBIDDEN', message);
export const serviceUnavailable = (message = 'Service temporarily unavailable, please retry') =>
  new DomainError('SERVICE_UNAVAILABLE', message);

/** Codes a client may see as they are; anything else becomes INTERNAL_SERVER_ERROR. */
const PASS_THROUGH_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

/**
 * Apollo `formatError`: never a stack, never internal text. Unknown errors are
 * logged (without variables) and answered with a generic message.
 */
export function createErrorFormatter(opts: {
  logger: Logger;
  isUnavailable: (err: unknown) => boolean;
}) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof DomainError) {
      const gql = toGraphQLError(original);
      return { message: gql.message, path: formatted.path, extensions: stripHttp(gql.extensions) };
    }
    if (opts.isUnavailable(original)) {
      opts.logger.warn({ err: errSummary(original) }, 'database unavailable');
      return {
        message: 'Service temporarily unavailable, please retry',
        path: formatted.path,
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && PASS_THROUGH_CODES.has(code)) {
      const { stacktrace: _drop, exception: _drop2, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    opts.logger.error({ err: errSummary(original), path: formatted.path }, 'unexpected error');
    return {
      message: 'Internal server error',
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

function stripHttp(extensions: Record<string, unknown>): Record<string, unknown> {
  const { http: _http, ...rest } = extensions;
  return rest;
}

/** What we log of an unexpected error: its name, message and stack, never its input. */
export function errSummary(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  const message = (err as { message?: unknown } | null)?.message;
  return { name: 'NonError', message: typeof message === 'string' ? message : String(err) };
}
