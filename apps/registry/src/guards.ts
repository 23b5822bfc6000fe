import { Kind, parse } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Problem } from './compose.js';
import type { RegistryEnv } from './env.js';

/**
 * Why a candidate SDL is too large to compose, or undefined. Composition's cost
 * grows much faster than the SDL (1,000 keyed types block the event loop for
 * seconds; 3,000 overflow the stack), so it is bounded before composing.
 */
export function sdlTooLarge(sdl: string, env: RegistryEnv): Problem | undefined {
  const tooLarge = (message: string): Problem => ({ code: 'SDL_TOO_LARGE', message });
  if (sdl.length > env.REGISTRY_MAX_SDL_CHARS)
    return tooLarge(`sdl: ${sdl.length} characters, at most ${env.REGISTRY_MAX_SDL_CHARS} (REGISTRY_MAX_SDL_CHARS)`);
  let doc;
  try {
    doc = parse(sdl, { noLocation: true });
  } catch {
    return undefined; // composition reports the syntax error, naming the subgraph
  }
  let types = 0;
  let fields = 0;
  for (const def of doc.definitions) {
    if (!('name' in def) || def.kind === Kind.DIRECTIVE_DEFINITION) continue;
    types += 1;
    if ('fields' in def) fields += def.fields?.length ?? 0;
    if ('values' in def) fields += def.values?.length ?? 0;
  }
  if (types > env.REGISTRY_MAX_SDL_TYPES)
    return tooLarge(`sdl: ${types} types, at most ${env.REGISTRY_MAX_SDL_TYPES} (REGISTRY_MAX_SDL_TYPES)`);
  if (fields > env.REGISTRY_MAX_SDL_FIELDS)
    return tooLarge(`sdl: ${fields} fields and enum values, at most ${env.REGISTRY_MAX_SDL_FIELDS} (REGISTRY_MAX_SDL_FIELDS)`);
  return undefined;
}

/**
 * Checks, publishes and rollbacks per principal (each composes the whole
 * supergraph). In memory: the registry is one process, and a second one would
 * only double a budget that is there against a runaway CI loop or a leaked key.
 */
export function createCompositionLimiter(env: RegistryEnv) {
  const limiter = new RateLimiterMemory({ points: env.REGISTRY_RATE_LIMIT, duration: 60 });
  /** Seconds to wait before trying again, or undefined when the call may go ahead. */
  return async (principal: string): Promise<number | undefined> => {
    try {
      await limiter.consume(principal);
      return undefined;
    } catch (res) {
      if (res instanceof RateLimiterRes) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
      throw res;
    }
  };
}
