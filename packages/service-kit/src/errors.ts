import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { errSummary } from './error-summary.js';

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

/** Reasons that refine a code, for code to switch on. The English message is for people only. */
export const REFINED_REASONS = [
  /** CONFLICT: the organization would lose its last company admin (ADMIN license). */
  'LAST_COMPANY_ADMIN',
  /** CONFLICT or FORBIDDEN: a support admin's account is managed only by the platform operator. */
  'SUPPORT_ADMIN',
  /** FORBIDDEN: acting on a company admin needs an organization admin or organization-users:admin. */
  'COMPANY_ADMIN',
  /** CONFLICT: no seat of a requested license is free. */
  'NO_FREE_SEAT',
  /** CONFLICT: a unique value (email, phone, username, group name) is taken. */
  'ALREADY_IN_USE',
  /** CONFLICT: the object is being changed concurrently; retry. */
  'CONCURRENT_CHANGE',
  /** NOT_FOUND: the internal command does not exist (a version skew), not a missing object. */
  'UNKNOWN_COMMAND',
  /** SERVICE_UNAVAILABLE: this service's database is unreachable. */
  'STORE_UNAVAILABLE',
  /** SERVICE_UNAVAILABLE: another service gave no answer to an internal command (or JWKS fetch). */
  'SERVICE_UNREACHABLE',
  /** SERVICE_UNAVAILABLE: the gateway got no answer from a subgraph. */
  'SUBGRAPH_UNREACHABLE',
  /** SERVICE_UNAVAILABLE: a query ran out of its time limit (maxTimeMS) in this service's database; narrow it or retry. */
  'QUERY_TIMEOUT',
  /** INTERNAL_SERVER_ERROR: another service answered an internal command with a shape its contract does not allow (a version skew). */
  'BAD_COMMAND_OUTPUT',
] as const;

/**
 * Why a failure happened. A code's own name is its default reason; the
 * refined reasons tell apart failures that share a code.
 */
export type ErrorReason = ErrorCode | (typeof REFINED_REASONS)[number];

const ERROR_CODES: readonly ErrorCode[] = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
];
const REASONS = new Set<string>([...ERROR_CODES, ...REFINED_REASONS]);
export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
export const isErrorReason = (value: unknown): value is ErrorReason => typeof value === 'string' && REASONS.has(value);

export interface FieldIssue {
  path: string[];
  message: string;
}

export interface DomainErrorOptions {
  /** Why, when it refines the code (defaults to the code). */
  reason?: ErrorReason;
  /** A dialect-specific code, such as C's AUTH-0027. */
  dialectCode?: string;
  /** More machine-readable detail for `extensions`, such as `retryAfterSeconds`. */
  extensions?: Record<string, unknown>;
}

/**
 * The one typed domain error. Services throw or return it; each dialect maps
 * it to its own style (GraphQL error, C's payload code, D's payload errors).
 * Callers switch on `reason` (or `code`), never on `message`.
 */
export class DomainError extends Error {
  readonly reason: ErrorReason;
  readonly dialectCode?: string;
  readonly extensions: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldIssue[] = [],
    opts: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.reason = opts.reason ?? code;
    this.dialectCode = opts.dialectCode;
    this.extensions = opts.extensions ?? {};
  }
}

/**
 * `httpStatus` is for errors raised before execution (a bad token: 401).
 * Resolver errors keep HTTP 200, as the gateway expects from a subgraph.
 */
export function toGraphQLError(err: DomainError, httpStatus?: number): GraphQLError {
  const extensions: Record<string, unknown> = { ...err.extensions, code: err.code };
  // Only a reason that refines the code is shown (README "Errors"); `code` stays what clients already switch on.
  if (err.reason !== err.code) extensions.reason = err.reason;
  if (err.fields.length > 0) {
    extensions.fields = err.fields.map((f) => ({ path: f.path.join('.'), message: f.message }));
  }
  if (httpStatus) extensions.http = { status: httpStatus };
  return new GraphQLError(err.message, { extensions });
}

export const unauthenticated = (message = 'Authentication required') => new DomainError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You are not allowed to do this') => new DomainError('FORBIDDEN', message);
/** Too many requests: `retryAfterSeconds` (at least 1) says when to try again. */
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new DomainError('RATE_LIMITED', message, [], { extensions: { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) } });
export const serviceUnavailable = (
  message = 'Service temporarily unavailable, please retry',
  reason: ErrorReason = 'SERVICE_UNAVAILABLE',
) => new DomainError('SERVICE_UNAVAILABLE', message, [], { reason });

/**
 * For `.catch`: a missing object becomes undefined; anything else (an outage,
 * an unknown internal command) is rethrown, never read as "not found".
 */
export function undefinedIfNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}

/** The object asked for does not exist (not: the store is down, nor: the command is unknown). */
export const isNotFound = (err: unknown): err is DomainError => err instanceof DomainError && err.reason === 'NOT_FOUND';

/** Codes a client may see as they are; anything else becomes INTERNAL_SERVER_ERROR. */
const PASS_THROUGH_CODES = new Set<string>([
  ...ERROR_CODES.filter((code) => code !== 'INTERNAL_SERVER_ERROR'),
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
  /** What an `isUnavailable` error is: a subgraph's store, or (at the gateway) a subgraph. */
  unavailableReason?: ErrorReason;
}) {
  const unavailableReason = opts.unavailableReason ?? 'STORE_UNAVAILABLE';
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof DomainError) {
      // A failure on this side or another service's (an answer of the wrong shape): someone must see it.
      if (original.code === 'INTERNAL_SERVER_ERROR')
        opts.logger.error({ err: errSummary(original), reason: original.reason, path: formatted.path }, 'internal failure');
      const gql = toGraphQLError(original);
      return { message: gql.message, path: formatted.path, extensions: stripHttp(gql.extensions) };
    }
    if (opts.isUnavailable(original)) {
      opts.logger.warn({ err: errSummary(original), reason: unavailableReason }, 'unavailable');
      return {
        message: 'Service temporarily unavailable, please retry',
        path: formatted.path,
        extensions: { code: 'SERVICE_UNAVAILABLE', reason: unavailableReason },
      };
    }
    const code = formatted.extensions?.code;
    const coercion = code === 'BAD_USER_INPUT' ? describeCoercionError(formatted.message) : undefined;
    if (coercion)
      return {
        message: coercion.message,
        extensions: { code: 'BAD_USER_INPUT', fields: [{ path: coercion.path, message: coercion.fieldMessage }] },
      };
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

/**
 * graphql-js reports a variable of the wrong type as
 * `Variable "$input" got invalid value <the value>; at "input.email"; <reason: the value again>`.
 * The value may be a password or a national ID, so it is dropped; the field
 * path is kept, in A/B's `extensions.fields` style.
 */
export function describeCoercionError(message: string): { message: string; path: string; fieldMessage: string } | undefined {
  const variable = /^Variable "\$([A-Za-z_][A-Za-z0-9_]*)"/.exec(message)?.[1];
  if (!variable) return undefined;
  // The path graphql-js appends after the value (` at "input.ids[1]"; `), as a dotted path like ours.
  const at = / at "([^"]{1,200})"; /.exec(message)?.[1]?.replace(/\[(\d+)\]/g, '.$1');
  // A missing required field is reported at its parent object: name the field itself.
  const missing = /Field "([^"]{1,100})" of required type "[^"]{1,100}" was not provided/.exec(message)?.[1];
  const path = missing ? `${at ?? variable}.${missing}` : (at ?? variable);
  const expected =
    /Expected type "([^"]{1,100})"|of required type "([^"]{1,100})"|cannot represent[^:]*|Field "([^"]{1,100})" is not defined by type|Field "([^"]{1,100})" of required type "([^"]{1,100})" was not provided/.exec(
      message,
    );
  let fieldMessage = 'has an invalid value';
  if (message.includes('was not provided')) fieldMessage = 'is required';
  else if (message.includes('is not defined by type')) fieldMessage = `has an unknown field "${expected?.[3] ?? ''}"`.replace(' ""', '');
  else if (expected?.[1] || expected?.[2]) fieldMessage = `must be of type ${expected[1] ?? expected[2]}`;
  else if (message.includes('non string value')) fieldMessage = 'must be a string';
  else if (/non-integer|non integer|Int cannot/.test(message)) fieldMessage = 'must be an integer';
  else if (message.includes('Boolean cannot')) fieldMessage = 'must be a boolean';
  else if (/does not exist in "([^"]+)" enum/.test(message))
    fieldMessage = `must be one of the ${/does not exist in "([^"]+)" enum/.exec(message)![1]} values`;
  else if (/must not be null|not to be null/.test(message)) fieldMessage = 'must not be null';
  return { message: `Invalid input: ${path} ${fieldMessage}`, path, fieldMessage };
}

function stripHttp(extensions: Record<string, unknown>): Record<string, unknown> {
  const { http: _http, ...rest } = extensions;
  return rest;
}

export { errSummary };
