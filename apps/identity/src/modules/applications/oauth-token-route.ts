import type { ServerResponse } from 'node:http';
import { DomainError, sendJson, type RequestInfo } from '@usergraph/service-kit';
import type { SigningKeys } from '../keys/signing-keys.js';
import type { ApplicationService } from './application-service.js';
import type { AccountLimits } from '../limits/account-limits.js';

/** RFC 6749 §5.2 error response; invalid_client over Basic also gets a challenge (§5.2). */
function oauthError(res: ServerResponse, status: number, error: string, description: string, basic = false) {
  sendJson(
    res,
    status,
    { error, error_description: description },
    {
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...(basic ? { 'www-authenticate': 'Basic realm="usergraph"' } : {}),
    },
  );
}

/** The body as a flat string map, from a form or a JSON body. */
function readParams(info: RequestInfo): Record<string, string> | undefined {
  const type = (info.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const text = info.body.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  if (type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
      return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** HTTP Basic client authentication (RFC 6749 §2.3.1): form-encoded id and secret. */
function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/**
 * POST /oauth/token: the client-credentials grant (RFC 6749 §4.4). Returns an
 * organization-scoped access token whose `scope` is the application's
 * permissions, or the requested subset of them.
 */
export function createOAuthTokenRoute(deps: {
  applications: ApplicationService;
  keys: SigningKeys;
  accessTtlSeconds: number;
  limits: AccountLimits;
  /** The caller's address, as GraphQL requests get it (the gateway's signed assertion, else the socket). */
  clientIpOf: (info: RequestInfo) => Promise<string>;
}) {
  /**
   * Every request counts per client IP; tokens issued count per client id. Failed
   * authentications count per IP only: client secrets are 256-bit, so guessing is
   * hopeless, and counting them per client would let anyone lock an application out.
   * Over a limit: 429 with Retry-After (RFC 6585), in RFC 6749's error shape.
   */
  async function limited(res: ServerResponse, check: () => Promise<void>): Promise<boolean> {
    try {
      await check();
      return false;
    } catch (err) {
      if (!(err instanceof DomainError) || err.code !== 'RATE_LIMITED') throw err;
      // rateLimited() always sets it, a whole number of seconds.
      const seconds = err.extensions.retryAfterSeconds;
      const retryAfter = String(typeof seconds === 'number' ? seconds : 1);
      sendJson(
        res,
        429,
        { error: 'temporarily_unavailable', error_description: `too many requests: retry after ${retryAfter} seconds` },
        {
          'cache-control': 'no-store',
          pragma: 'no-cache',
          'retry-after': retryAfter,
        },
      );
      return true;
    }
  }

  return async (info: RequestInfo, res: ServerResponse): Promise<void> => {
    const params = readParams(info);
    if (await limited(res, async () => deps.limits.perIp(await deps.clientIpOf(info)))) return;
    if (!params) return oauthError(res, 400, 'invalid_request', 'send a form (application/x-www-form-urlencoded) or JSON body');
    if (params.grant_type !== 'client_credentials') {
      return oauthError(res, 400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    const basic = basicCredentials(info.req.headers.authorization);
    const clientId = basic?.clientId ?? params.client_id;
    const clientSecret = basic?.clientSecret ?? params.client_secret;
    if (!clientId || !clientSecret) return oauthError(res, 401, 'invalid_client', 'client authentication is required', true);
    const app = await deps.applications.authenticateClient(clientId, clientSecret);
    if (!app) return oauthError(res, 401, 'invalid_client', 'unknown client or wrong secret', Boolean(basic));
    if (app.status !== 'ACTIVE') return oauthError(res, 401, 'invalid_client', 'the application is inactive', Boolean(basic));
    if (await limited(res, () => deps.limits.perAccount(`client:${app.clientId}`))) return;

    const requested = params.scope?.split(' ').filter(Boolean);
    const granted = requested ?? app.permissions;
    if (requested?.some((s) => !app.permissions.includes(s))) {
      return oauthError(res, 400, 'invalid_scope', `the application may request only: ${app.permissions.join(' ') || '(nothing)'}`);
    }
    const scope = granted.join(' ');
    const { token } = await deps.keys.sign(
      { sub: app.clientId, org: app.organizationId, typ: 'application', scope },
      deps.accessTtlSeconds,
    );
    sendJson(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: deps.accessTtlSeconds, scope },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  };
}
