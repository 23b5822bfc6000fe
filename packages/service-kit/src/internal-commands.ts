import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { CommandContract, CommandInput, CommandOutput, ServiceName, ServingService } from '@usergraph/contracts';
import { validate } from '@usergraph/validation';
import { DomainError, errSummary, isErrorCode, isErrorReason, type ErrorCode, type ErrorReason, type FieldIssue } from './errors.js';
import { isNoAnswer } from './no-answer.js';
import { createServiceTokenCache, serviceKeyFor, verifyServiceCredential } from './service-token.js';
import { injectTraceContext } from './trace-context.js';

/**
 * Internal commands: how one subgraph asks another to write its own data.
 * They are served under /internal/commands/<name>, need a service credential,
 * and are never routed by the gateway (it only proxies GraphQL).
 * Every command is idempotent by its own input (writes are keyed by the ids
 * it names), so the client retries a call that got no answer.
 */
export interface CommandMeta {
  from: string;
  requestId: string;
}

export type { ServiceName };

/** A command a service serves: its contract and the handler behind it. */
export interface ServedCommand {
  contract: CommandContract;
  handler: (input: unknown, meta: CommandMeta) => Promise<unknown>;
}

/**
 * Serves `contract`: the input is parsed with its input schema before the
 * handler runs, and the handler must return what its output schema accepts
 * (checked by the compiler; clients parse it). Callers come from the contract.
 */
export function serve<C extends CommandContract>(
  contract: C,
  handler: (input: z.output<C['input']>, meta: CommandMeta) => Promise<z.input<C['output']>>,
): ServedCommand {
  return { contract, handler: handler as ServedCommand['handler'] };
}

export type CommandResponse =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: ErrorCode; reason: ErrorReason; message: string; fields: FieldIssue[]; dialectCode?: string } };

export interface CommandHttpResult {
  status: number;
  body: CommandResponse;
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 422,
  CONFLICT: 409,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  SERVICE_UNAVAILABLE: 503,
};

export function createInternalCommandHandler(opts: {
  service: string;
  /** The root INTERNAL_SERVICE_SECRET: each caller's key is derived from it to verify that caller's token. */
  secret: string;
  logger: Logger;
  commands: readonly ServedCommand[];
  isUnavailable: (err: unknown) => boolean;
}) {
  const commands = new Map<string, ServedCommand>();
  for (const command of opts.commands) {
    // A wiring mistake, caught at start-up: serving another service's contract, or one name twice.
    const { service, name } = command.contract;
    if (service !== opts.service) throw new Error(`The ${opts.service} service cannot serve ${service}'s command "${name}"`);
    if (commands.has(name)) throw new Error(`Internal command "${name}" is served twice`);
    commands.set(name, command);
  }
  const fail = (
    status: number,
    code: ErrorCode,
    message: string,
    fields: FieldIssue[] = [],
    reason: ErrorReason = code,
  ): CommandHttpResult => ({
    status,
    body: { ok: false, error: { code, reason, message, fields } },
  });

  return async (name: string, authorization: string | undefined, body: unknown, requestId: string): Promise<CommandHttpResult> => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    // Signed with the key of the caller it names, or refused: holding one service's key is no way to speak as another.
    const claims = token ? await verifyServiceCredential(opts.secret, opts.service, token) : undefined;
    if (!claims) return fail(401, 'UNAUTHENTICATED', 'A service credential is required');
    const command = commands.get(name);
    if (!command) return fail(404, 'NOT_FOUND', `Unknown internal command "${name}"`, [], 'UNKNOWN_COMMAND');
    if (!(command.contract.callers as readonly string[]).includes(claims.from)) {
      return fail(403, 'FORBIDDEN', `The ${claims.from} service may not call internal command "${name}"`);
    }
    // One line per service-to-service hop (LOG_LEVEL=debug): test/hops.e2e.test.ts counts them.
    opts.logger.debug({ requestId, command: name, from: claims.from }, 'internal command');
    const parsed = validate(command.contract.input, body);
    if (!parsed.ok) return fail(422, 'BAD_USER_INPUT', `Invalid input for internal command "${name}"`, parsed.errors);
    try {
      const result = await command.handler(parsed.value, { from: claims.from, requestId });
      return { status: 200, body: { ok: true, result: result ?? null } };
    } catch (err) {
      if (err instanceof DomainError) {
        const error = {
          code: err.code,
          reason: err.reason,
          message: err.message,
          fields: err.fields,
          ...(err.dialectCode ? { dialectCode: err.dialectCode } : {}),
        };
        return { status: STATUS_OF[err.code] ?? 400, body: { ok: false, error } };
      }
      if (opts.isUnavailable(err)) {
        return fail(503, 'SERVICE_UNAVAILABLE', 'Database unavailable, please retry', [], 'STORE_UNAVAILABLE');
      }
      opts.logger.error({ err: errSummary(err), command: name }, 'internal command failed');
      return fail(500, 'INTERNAL_SERVER_ERROR', 'Internal command failed');
    }
  };
}

/**
 * A client of one service's internal commands (`To`): `call` takes that
 * service's contracts only, is typed by them, and parses the answer with the
 * contract's output schema.
 */
export interface InternalClient<To extends ServingService = ServingService> {
  call<C extends CommandContract<z.ZodType, z.ZodType, To>>(
    contract: C,
    input: CommandInput<C>,
    opts?: { requestId?: string },
  ): Promise<CommandOutput<C>>;
}

const RETRY_DELAYS_MS = [50, 200, 500];

/**
 * Calls another service's internal commands over keep-alive HTTP. A domain
 * failure comes back as the same DomainError it was on the other side; only a
 * network failure (no answer at all) is retried, since commands are
 * idempotent, and then becomes SERVICE_UNAVAILABLE.
 */
export function createInternalClient<To extends ServingService>(
  opts: {
    from: ServiceName;
    to: To;
    baseUrl: string;
    timeoutMs?: number;
    /** Adds the trace context to each call: for a process without undici's instrumentation (the gateway, see telemetry.ts). */
    injectTraceContext?: boolean;
  } & (
    | /** The root INTERNAL_SERVICE_SECRET (identity, org-users, licensing, the CLI): `from`'s key is derived from it. */
      { secret: string } /** `from`'s own key, for a service that never holds the root (the gateway's GATEWAY_SERVICE_KEY). */
    | { key: string }
  ),
): InternalClient<To> & { close(): Promise<void> } {
  const tokenFor = createServiceTokenCache('key' in opts ? opts.key : serviceKeyFor(opts.secret, opts.from), opts.from);
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const timeout = opts.timeoutMs ?? 10_000;

  async function once(name: string, input: unknown, requestId: string): Promise<CommandResponse> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: `Bearer ${await tokenFor(opts.to)}`,
      'x-request-id': requestId,
    };
    if (opts.injectTraceContext) injectTraceContext(headers);
    const res = await request(`${opts.baseUrl}/internal/commands/${name}`, {
      method: 'POST',
      dispatcher,
      headers,
      body: JSON.stringify(input),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    return (await res.body.json()) as CommandResponse;
  }

  return {
    async call<C extends CommandContract<z.ZodType, z.ZodType, To>>(
      contract: C,
      input: CommandInput<C>,
      callOpts: { requestId?: string } = {},
    ): Promise<CommandOutput<C>> {
      const { name } = contract;
      const requestId = callOpts.requestId ?? randomUUID();
      for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
        try {
          const response = await once(name, input, requestId);
          if (response.ok) {
            // A service of another version may answer another shape: a clear failure here, not a wrong value further on.
            const parsed = validate<C['output']>(contract.output, response.result);
            if (parsed.ok) return parsed.value;
            // Not `fields`: those name the caller's input, and this is the other service's fault (logged where it surfaces).
            const at = parsed.errors.map((e) => e.path.join('.') || '(root)').join(', ');
            throw new DomainError(
              'INTERNAL_SERVER_ERROR',
              `The ${opts.to} service answered "${name}" with an unexpected shape (at ${at})`,
              [],
              {
                reason: 'BAD_COMMAND_OUTPUT',
              },
            );
          }
          // An answer is final, SERVICE_UNAVAILABLE included: the service that
          // gave it has already waited for its database, and retrying it would
          // multiply that wait.
          const { code, reason, message, fields, dialectCode } = response.error;
          // An answer from a service of another version may lack a reason, or hold one this side does not know: the code stands in.
          throw new DomainError(isErrorCode(code) ? code : 'INTERNAL_SERVER_ERROR', message, fields, {
            reason: isErrorCode(code) && isErrorReason(reason) ? reason : undefined,
            dialectCode,
          });
        } catch (err) {
          if (err instanceof DomainError) throw err;
          // An answer that is no command response (not JSON, no error in it: a proxy's page, a size refusal) is a
          // failure of the other side, not an outage: never retried, never SERVICE_UNAVAILABLE.
          if (!isNoAnswer(err)) throw new DomainError('INTERNAL_SERVER_ERROR', `The ${opts.to} service gave no command response`);
          // No answer: retried below (commands are idempotent); the error's text may hold internal addresses.
        }
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
      }
      throw new DomainError('SERVICE_UNAVAILABLE', `The ${opts.to} service is unavailable, please retry`, [], {
        reason: 'SERVICE_UNREACHABLE',
      });
    },
    close: () => dispatcher.close(),
  };
}
