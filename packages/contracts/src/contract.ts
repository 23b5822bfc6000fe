import type { z } from 'zod';

/** The services that call internal commands: each command names those it accepts. */
export type ServiceName = 'gateway' | 'identity' | 'org-users' | 'licensing' | 'cli';

/** The services that serve internal commands. */
export type ServingService = 'identity' | 'org-users' | 'licensing';

/**
 * One internal command, shared by its server and its clients: the server
 * parses the input with `input`, a client parses the answer with `output`.
 * Both schemas describe JSON (dates are ISO strings).
 */
export interface CommandContract<
  I extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
  S extends ServingService = ServingService,
> {
  /** The service that serves it. */
  readonly service: S;
  readonly name: string;
  readonly input: I;
  readonly output: O;
  /** The only services whose credential this command accepts (the `from` of the token). */
  readonly callers: readonly ServiceName[];
}

/** What a client sends. */
export type CommandInput<C extends CommandContract> = z.input<C['input']>;
/** What a client gets back, parsed. */
export type CommandOutput<C extends CommandContract> = z.output<C['output']>;

/** One service's contracts, each knowing its service and its name. */
export type ServiceCommands<S extends ServingService, T> = {
  readonly [K in keyof T & string]: T[K] & { readonly service: S; readonly name: K };
};

/**
 * Declares the commands one service serves; each key is the command's name.
 * `commandsOf('org-users', { getProfile: { input, output, callers } })`.
 */
export function commandsOf<S extends ServingService, T extends Record<string, Omit<CommandContract, 'service' | 'name'>>>(
  service: S,
  commands: T,
): ServiceCommands<S, T> {
  // Object.fromEntries loses the keys' types; each entry is built as the mapped type says.
  return Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, { ...c, service, name }])) as ServiceCommands<S, T>;
}
