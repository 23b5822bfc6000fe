import { LRUCache } from 'lru-cache';
import { identityCommands, type CommandOutput } from '@usergraph/contracts';
import type { InternalClient } from './internal-commands.js';

/** What a liveness verdict is about: the session behind a user token, or the application behind an application token. */
export type LivenessSubject =
  | { kind: 'user'; organizationId: string; userId: string; sessionId: string }
  | { kind: 'application'; organizationId: string; clientId: string };

/** Whether the session or application still stands; for an application, also the permissions it holds now (identity's callerStatus). */
export type LivenessVerdict = CommandOutput<typeof identityCommands.callerStatus>;

/** Answers whether the session or application behind a valid token still stands. */
export type CallerLivenessLookup = (subject: LivenessSubject) => Promise<LivenessVerdict>;

/**
 * A signed token proves who the caller was when it was issued, not that its
 * session or application still stands. This remembers each verdict for
 * `ttlMs`, so a token in steady use costs one lookup per period, and
 * concurrent requests with one token share one lookup (lru-cache's fetch). A
 * revoked session therefore stops working within `ttlMs`, not when its access
 * token expires. A failed lookup is not remembered: the request fails closed
 * and the next one asks again.
 */
export function createCallerLivenessCheck(lookup: CallerLivenessLookup, opts: { ttlMs: number; max?: number }) {
  const verdicts = new LRUCache<string, LivenessVerdict, { subject: LivenessSubject }>({
    max: opts.max ?? 50_000,
    ttl: Math.max(opts.ttlMs, 1),
    fetchMethod: (_key, _stale, { context }) => lookup(context.subject),
  });
  return async (subject: LivenessSubject): Promise<LivenessVerdict> => {
    if (opts.ttlMs <= 0) return lookup(subject);
    const key =
      subject.kind === 'user'
        ? `user:${subject.organizationId}:${subject.userId}:${subject.sessionId}`
        : `application:${subject.organizationId}:${subject.clientId}`;
    return (await verdicts.fetch(key, { context: { subject } })) ?? { live: false };
  };
}

export type CallerLivenessCheck = ReturnType<typeof createCallerLivenessCheck>;

/** The lookup of a subgraph other than identity: identity's internal command `callerStatus`. */
export function identityCallerLiveness(identity: InternalClient<'identity'>): CallerLivenessLookup {
  return async (subject) => {
    const input =
      subject.kind === 'user'
        ? { kind: subject.kind, organizationId: subject.organizationId, userId: subject.userId, sessionId: subject.sessionId }
        : { kind: subject.kind, organizationId: subject.organizationId, clientId: subject.clientId };
    return identity.call(identityCommands.callerStatus, input);
  };
}
