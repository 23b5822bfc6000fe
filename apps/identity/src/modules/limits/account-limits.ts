import { normalizeEmail } from '@usergraph/validation';
import { DomainError } from '@usergraph/service-kit';
import type { RateLimiterFactory } from './rate-limits.js';

export interface AccountLimitSettings {
  perIp: number;
  perAccount: number;
  windowSeconds: number;
  loginFailuresPerAccount: number;
  loginFailuresPerIp: number;
  loginWindowSeconds: number;
  loginLockoutSeconds: number;
  codesPerAccountPerHour: number;
  codesPerIpPerHour: number;
  codeFailuresPerAccount: number;
  codeLockoutSeconds: number;
}

const TOO_MANY = 'Too many requests; try again later';
const LOGIN_LOCKED = 'Too many failed sign-in attempts; try again later';
const CODES_LOCKED = 'Too many wrong codes for this account; try again later';

/** The account an email names within an organization (or an organization slug), whether or not it exists. */
export const emailAccountKey = (organization: string, email: string) => `${organization}:email:${normalizeEmail(email)}`;

/** An existing account: every identifier of it (email, phone, username) shares this key. */
export const userAccountKey = (organizationId: string, userId: string) => `${organizationId}:user:${userId}`;

/**
 * Refreshes per user, per minute (issue 17): each one keeps a session document for
 * REFRESH_TOKEN_TTL_DAYS (the rotated one answers a reuse), so a refresh loop filled
 * the session store. A client refreshes about once per access token (15 minutes).
 */
export const REFRESH_LIMIT = { points: 30, windowSeconds: 60 };

/**
 * Password changes per user, per minute (issue 17): each costs two argon2id hashes, and a
 * signed-in user alternating two passwords held identity's hash slots, so everyone else's
 * sign-ins and registrations queued or were shed. Wrong current passwords are login's budget.
 */
export const PASSWORD_CHANGE_LIMIT = { points: 5, windowSeconds: 60 };

/**
 * How often identity's anonymous operations may be called (issue 12,
 * findings 4, 5 and 8). Each limit is per client IP and per account; an
 * account is its user id when the identifier names one, else the canonical
 * identifier, so unknown accounts are limited exactly like known ones and
 * the answers reveal nothing. Attempts (a password or a code checked) are
 * reserved before the check and given back on success, so a burst of
 * concurrent guesses gets no more checks than the limit.
 */
export function createAccountLimits(factory: RateLimiterFactory, s: AccountLimitSettings) {
  const ip = factory.limiter('ip', { points: s.perIp, windowSeconds: s.windowSeconds });
  const account = factory.limiter('account', { points: s.perAccount, windowSeconds: s.windowSeconds });
  const loginAccount = factory.limiter('login-account', {
    points: s.loginFailuresPerAccount,
    windowSeconds: s.loginWindowSeconds,
    blockSeconds: s.loginLockoutSeconds,
  });
  const loginIp = factory.limiter('login-ip', {
    points: s.loginFailuresPerIp,
    windowSeconds: s.loginWindowSeconds,
    blockSeconds: s.loginLockoutSeconds,
  });
  const codesAccount = factory.limiter('codes-account', { points: s.codesPerAccountPerHour, windowSeconds: 3600 });
  const codesIp = factory.limiter('codes-ip', { points: s.codesPerIpPerHour, windowSeconds: 3600 });
  // Keyed by the user, apart from `account`: failed logins typed by a stranger never hold a signed-in user's refreshes.
  const refreshes = factory.limiter('refresh', REFRESH_LIMIT);
  const passwordChanges = factory.limiter('password-change', PASSWORD_CHANGE_LIMIT);
  const codeFailures = factory.limiter('code-failures', {
    points: s.codeFailuresPerAccount,
    windowSeconds: s.codeLockoutSeconds,
    blockSeconds: s.codeLockoutSeconds,
  });

  return {
    /** Every anonymous operation counts once per client IP (checked first, before any lookup)... */
    perIp: (clientIp: string) => ip.consume(clientIp, TOO_MANY),
    /** ...and once per account it names. */
    perAccount: (accountKey: string) => account.consume(accountKey, TOO_MANY),
    /**
     * Reserves one password check for the IP and the account; RATE_LIMITED while either is locked.
     * The IP goes first, and gets its attempt back when the account refuses: a locked IP never
     * spends a victim account's budget on checks that do not run. `onAccountLocked` hears of every
     * refusal by a locked account, with the lockout's end (the limiter's own block: the same for
     * every refusal of one lockout, another for the next lockout).
     */
    async reserveLogin(clientIp: string, accountKey: string, onAccountLocked?: (lockout: { until: Date }) => Promise<void>): Promise<void> {
      await loginIp.consume(clientIp, LOGIN_LOCKED);
      try {
        await loginAccount.consume(accountKey, LOGIN_LOCKED);
      } catch (err) {
        await loginIp.reward(clientIp);
        // The account is locked out (not a store failure): the caller records it (audit).
        if (err instanceof DomainError && err.code === 'RATE_LIMITED' && onAccountLocked) {
          const until = await loginAccount.blockedUntil(accountKey);
          if (until) await onAccountLocked({ until });
        }
        throw err;
      }
    },
    /** The check never ran (the hash queue shed it): both get the attempt back. */
    async loginAborted(clientIp: string, accountKey: string): Promise<void> {
      await loginAccount.reward(accountKey);
      await loginIp.reward(clientIp);
    },
    /** The password was right: the account's failures are forgiven, the IP gets its attempt back. */
    async loginSucceeded(clientIp: string, accountKey: string): Promise<void> {
      await loginAccount.reset(accountKey);
      await loginIp.reward(clientIp);
    },
    /** A code is about to be sent: per account and per IP, per hour. */
    async issueCode(clientIp: string, accountKey: string): Promise<void> {
      await codesAccount.consume(accountKey, TOO_MANY);
      await codesIp.consume(clientIp, TOO_MANY);
    },
    /** Reserves one code check against the account's budget, which spans every code it is sent. */
    reserveCodeAttempt: (accountKey: string) => codeFailures.consume(accountKey, CODES_LOCKED),
    /** One refresh of a session of the user that would rotate: its token proven, not yet rotated (REFRESH_LIMIT). */
    perRefresh: (userKey: string) => refreshes.consume(userKey, TOO_MANY),
    /** Reserves one changePassword of the signed-in user (PASSWORD_CHANGE_LIMIT), before any hash... */
    reservePasswordChange: (userKey: string) => passwordChanges.consume(userKey, TOO_MANY),
    /** ...given back when the current password was wrong (login's budget counts guesses) or not checked. */
    passwordChangeNotMade: (userKey: string) => passwordChanges.reward(userKey),
    codeSucceeded: (accountKey: string) => codeFailures.reset(accountKey),
  };
}

export type AccountLimits = ReturnType<typeof createAccountLimits>;
