// Test helpers, exported as "@usergraph/service-kit/testing" (kept out of the
// main entry so services do not load them at runtime).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { request } from 'undici';
import { serviceKeyFor, signServiceToken, type CredentialHolder } from './service-token.js';

export interface SignOptions {
  sub?: string;
  org?: string;
  typ?: 'user' | 'application';
  sid?: string;
  scope?: string;
  issuer?: string;
  audience?: string;
  /** Absolute expiry (seconds since the epoch); default: in 5 minutes. */
  exp?: number;
  iat?: number;
  kid?: string;
  /** Sign with this key instead of the published one. */
  key?: CryptoKey;
  /** Leave these claims out. */
  omit?: string[];
}

export interface TestIssuer {
  /** Base URL of the JWKS server, e.g. http://127.0.0.1:1234 */
  url: string;
  jwksUrl: string;
  kid: string;
  /** How many JWKS requests the server answered. */
  readonly requests: number;
  /** From now on, identity's `callerStatus` answers "not live" for this session id or application client id. */
  revoke(sessionOrClientId: string): void;
  sign(opts?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

/**
 * A stand-in for the identity service's token issuing, for one subgraph tested
 * alone: an Ed25519 key pair, a tiny HTTP server publishing its public key as
 * a JWKS (on every path), and identity's `callerStatus` command, which says
 * every session and application is live until `revoke` names it.
 */
export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  let requests = 0;
  const revoked = new Set<string>();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.method === 'POST' && req.url === '/internal/commands/callerStatus') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const subject = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sessionId?: string; clientId?: string };
        res.end(JSON.stringify({ ok: true, result: { live: !revoked.has(subject.sessionId ?? subject.clientId ?? '') } }));
      });
      return;
    }
    requests++;
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    kid,
    get requests() {
      return requests;
    },
    revoke: (id) => void revoked.add(id),
    async sign(o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        sub: o.sub ?? 'user-1',
        org: o.org ?? 'org-1',
        typ: o.typ ?? 'user',
        iss: o.issuer ?? 'usergraph',
        aud: o.audience ?? 'usergraph',
        iat: o.iat ?? now,
        exp: o.exp ?? now + 300,
      };
      if ((o.typ ?? 'user') === 'user') claims.sid = o.sid ?? 'session-1';
      if (o.scope !== undefined) claims.scope = o.scope;
      for (const name of o.omit ?? []) delete claims[name];
      return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: o.kid ?? kid, typ: 'JWT' }).sign(o.key ?? privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface GraphQLResult {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

async function postJson<T>(url: string, body: unknown, headers: Record<string, string>): Promise<HttpResult<T>> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** POST <baseUrl>/graphql with an optional bearer token and extra headers. */
export function postGraphQL(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<GraphQLResult>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return postJson(`${baseUrl}/graphql`, { query, variables }, headers);
}

/**
 * POST <baseUrl>/internal/commands/<name> with a service credential for
 * `service` from `from` (default `cli`: each command accepts only the
 * services it names), or `authorization: null` for none, or a header of your own.
 */
export async function postCommand(
  baseUrl: string,
  name: string,
  input: unknown,
  opts: { secret: string; service: string; from?: string; authorization?: string | null },
): Promise<HttpResult> {
  // Signed with the named caller's own key, as that service would (serviceKeyFor refuses a name that holds none).
  const from = (opts.from ?? 'cli') as CredentialHolder;
  const authorization =
    opts.authorization === undefined
      ? `Bearer ${await signServiceToken(serviceKeyFor(opts.secret, from), from, opts.service)}`
      : opts.authorization;
  return postJson(`${baseUrl}/internal/commands/${name}`, input, authorization === null ? {} : { authorization });
}

/** postCommand that expects success and returns the result. */
export async function runCommand<R = any>(
  baseUrl: string,
  name: string,
  input: unknown,
  opts: { secret: string; service: string; from?: string },
): Promise<R> {
  const res = await postCommand(baseUrl, name, input, opts);
  if (res.status !== 200 || !res.body?.ok) {
    throw new Error(`command ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body.result as R;
}

/**
 * Issue 12, finding 1: fragments A_i and B_i each spread A_{i+1} and B_{i+1}.
 * Under 2 KB at 22 levels; a rule that walks a fragment again at every spread
 * does 2^levels walks.
 */
export function fragmentPairChain(levels: number, typeName: string, root: string, leaf: string): string {
  let doc = `query ${root}\n`;
  for (let i = 0; i < levels; i++) {
    const next = i + 1 < levels ? `...A${i + 1} ...B${i + 1}` : leaf;
    doc += `fragment A${i} on ${typeName} { ${next} }\nfragment B${i} on ${typeName} { ${next} }\n`;
  }
  return doc;
}
