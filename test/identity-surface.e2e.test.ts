/**
 * Issue 12, the red team's second pass over identity's surface: aliases that
 * multiply anonymous operations, existence oracles, where reset codes are
 * mailed, and `_entities(User) { username }` called on identity directly.
 * Numbers are the second pass's findings (see the README's threat model).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { BootstrapResult, RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  LOGIN,
  login,
  readOutbox,
  removeDir,
  startTestStack,
  uniqueEmail,
  waitForOutbox,
} from './support/stack.js';

const PASSWORD = 'maple-Syrup-1867!';
const REQUEST_RESET = `mutation($o: String!, $e: String!) { requestPasswordReset(organizationSlug: $o, email: $e) { success message } }`;
const VERIFY = `mutation($o: String!, $e: String!, $c: String!) { verifyEmail(organizationSlug: $o, email: $e, code: $c) { success message } }`;
const RESET =
  `mutation($o: String!, $e: String!, $c: String!, $n: String!) { resetPassword(organizationSlug: $o, ` +
  `email: $e, code: $c, newPassword: $n) { success } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`;
const CODES_PER_ACCOUNT = 5; // CODE_ISSUE_MAX_PER_ACCOUNT's default

const codeOf = (res: { errors?: Array<{ extensions?: Record<string, any> }> }) => res.errors?.[0]?.extensions?.code as string | undefined;
/** `count` aliased copies of one root field in one document. */
const aliased = (count: number, field: string) => `mutation { ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

async function register(stack: RunningStack, vars: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const email = (vars.email as string | undefined) ?? uniqueEmail('victim');
  const res = await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null, ...vars, email }, headers);
  expect(res.errors).toBeUndefined();
  return { email, id: res.data!.register.user.id as string };
}

describe("identity's anonymous surface, second pass", () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let identityGraphql: string;

  /**
   * Codes are issued after the answer, by one background queue, one task at a time, in order: once a reset code
   * asked for now reaches a fresh control account, every code asked for before it was issued (or never will be).
   */
  async function settle() {
    const control = await register(stack);
    expect((await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: control.email })).data?.requestPasswordReset.success).toBe(true);
    await waitForOutbox(dataDir, control.email, 1);
  }

  beforeAll(async () => {
    const started = await startTestStack({ serviceEnv: { gateway: { MAX_BATCH_SIZE: '10' } } });
    ({ stack, dataDir } = started);
    identityGraphql = `${stack.urls.identity}/graphql`;
    acme = await bootstrapOrganization(dataDir, `acme-${Date.now().toString(36)}`, ['--self-signup']);
  });
  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('finding 1 (aliases): one document runs at most one password, code or session operation', () => {
    it('20 aliased requestPasswordReset are refused before any runs: no code reaches the outbox', async () => {
      const { email } = await register(stack);
      const res = await gql(
        stack.gatewayUrl,
        aliased(20, `requestPasswordReset(organizationSlug: "public", email: "${email}") { success }`),
      );
      expect(res.status).toBe(400);
      expect(codeOf(res)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.errors![0]!.extensions!.limit).toBe('sensitive-mutations');
      expect(res.data ?? null).toBeNull();
      await settle();
      expect(await readOutbox(dataDir, email)).toHaveLength(0);
    });

    it('identity refuses the same document called directly (no gateway in front)', async () => {
      const { email } = await register(stack);
      const res = await gql(
        identityGraphql,
        aliased(20, `requestPasswordReset(organizationSlug: "public", email: "${email}") { success }`),
      );
      expect(codeOf(res)).toBe('GRAPHQL_VALIDATION_FAILED');
      await settle();
      expect(await readOutbox(dataDir, email)).toHaveLength(0);
    });

    it('two aliased registers (two argon2 hashes) are refused, and neither account exists', async () => {
      const [a, b] = [uniqueEmail('alias-a'), uniqueEmail('alias-b')];
      const field = (email: string) =>
        `register(email: "${email}", password: "${PASSWORD}", firstName: "Jeanne", lastName: "Tremblay") { user { id } }`;
      const res = await gql(stack.gatewayUrl, `mutation { a: ${field(a)} b: ${field(b)} }`);
      expect(codeOf(res)).toBe('GRAPHQL_VALIDATION_FAILED');
      for (const email of [a, b]) {
        expect(codeOf(await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: PASSWORD }))).toBe(
          'UNAUTHENTICATED',
        );
      }
    });

    it('mixed kinds, and copies hidden in fragments, count together', async () => {
      const { email } = await register(stack);
      const mixed = `mutation { r: requestPasswordReset(organizationSlug: "public", email: "${email}") { success }
        l: login(organizationSlug: "public", identifier: "${email}", password: "wrong-Password-1") { jwt } }`;
      expect(codeOf(await gql(stack.gatewayUrl, mixed))).toBe('GRAPHQL_VALIDATION_FAILED');
      const fragments = `mutation { ...A ... on Mutation { ...B } }
        fragment A on Mutation { a: verifyEmail(organizationSlug: "public", email: "${email}", code: "000000") { success } }
        fragment B on Mutation { b: verifyEmail(organizationSlug: "public", email: "${email}", code: "111111") { success } }`;
      expect(codeOf(await gql(stack.gatewayUrl, fragments))).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(codeOf(await gql(identityGraphql, fragments))).toBe('GRAPHQL_VALIDATION_FAILED');
      // One of them alone still works.
      expect((await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email })).data?.requestPasswordReset.success).toBe(true);
    });

    it('every call counts against the limits: a batch of 8 requestPasswordReset delivers at most the per-account limit of codes', async () => {
      const { email } = await register(stack);
      const res = await request(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 8 }, () => ({ query: REQUEST_RESET, variables: { o: 'public', e: email } }))),
      });
      const answers = (await res.body.json()) as Array<{ errors?: Array<{ extensions?: Record<string, any> }> }>;
      expect(answers).toHaveLength(8);
      expect(answers.filter((a) => codeOf(a) === 'RATE_LIMITED')).toHaveLength(8 - CODES_PER_ACCOUNT);
      await waitForOutbox(dataDir, email, CODES_PER_ACCOUNT);
      await settle();
      expect(await readOutbox(dataDir, email)).toHaveLength(CODES_PER_ACCOUNT);
    });
  });

  describe('finding 2 (existence oracles): the same answer whether or not it exists', () => {
    it('register: an unknown organization and one without self-signup get one and the same error, naming the header', async () => {
      const closed = await bootstrapOrganization(dataDir, `closed-${Date.now().toString(36)}`);
      const vars = { ...realisticRegisterVariables(uniqueEmail('probe')), telephone: null };
      const unknown = await gql(stack.gatewayUrl, B_REGISTER, vars, { 'x-organization-slug': 'no-such-org-4f2a' });
      const existing = await gql(stack.gatewayUrl, B_REGISTER, vars, { 'x-organization-slug': closed.organization.slug });
      expect(codeOf(existing)).toBe('BAD_USER_INPUT');
      expect(existing.errors![0]!.message).toContain('x-organization-slug');
      expect(existing.errors![0]!.extensions!.fields ?? null).toEqual(unknown.errors![0]!.extensions!.fields ?? null);
      expect(existing.errors![0]!.message).toBe(unknown.errors![0]!.message);
      expect(codeOf(existing)).toBe(codeOf(unknown));
      expect(JSON.stringify(existing.errors)).not.toContain(closed.organization.slug);
    });

    it('login, requestPasswordReset, resetPassword and verifyEmail answer an unknown organization as they answer a known one', async () => {
      const email = uniqueEmail('nobody');
      for (const [query, vars] of [
        [LOGIN, (o: string) => ({ organizationSlug: o, identifier: email, password: 'wrong-Password-1' })],
        [REQUEST_RESET, (o: string) => ({ o, e: email })],
        [RESET, (o: string) => ({ o, e: email, c: '123456', n: 'Rogue-Squadron-22' })],
        [VERIFY, (o: string) => ({ o, e: email, c: '123456' })],
      ] as const) {
        const known = await gql(stack.gatewayUrl, query, vars(acme.organization.slug));
        const unknown = await gql(stack.gatewayUrl, query, vars('no-such-org-4f2a'));
        expect({ errors: unknown.errors, data: unknown.data }).toEqual({ errors: known.errors, data: known.data });
      }
    });

    it('verifyEmail: a wrong code for a pending account, an active account and an unknown email get one answer', async () => {
      const pending = await register(stack, { withVerificationCode: true });
      const active = await register(stack);
      const answers = await Promise.all(
        [pending.email, active.email, uniqueEmail('nobody')].map((e) => gql(stack.gatewayUrl, VERIFY, { o: 'public', e, c: '000001' })),
      );
      for (const a of answers) expect({ errors: a.errors, data: a.data }).toEqual({ errors: answers[2]!.errors, data: answers[2]!.data });
      expect(codeOf(answers[0]!)).toBe('BAD_USER_INPUT');
    });
  });

  it('finding 3: a reset code goes to the stored address, never to the address as typed', async () => {
    const stored = `Jeanne.Tremblay.${Date.now().toString(36)}@Example.ca`;
    await register(stack, { email: stored });
    const typed = `  ${stored.toUpperCase()}  `;
    expect((await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: typed })).data?.requestPasswordReset.success).toBe(true);
    const [mail] = await waitForOutbox(dataDir, stored, 1);
    expect(mail!.to).toBe(stored);
    expect(mail!.subject).toMatch(/reset/i);
    await settle();
    for (const other of [typed, typed.trim(), stored.toLowerCase()]) expect(await readOutbox(dataDir, other)).toHaveLength(0);
  });

  describe('finding 6: weird input on the anonymous operations never crashes and reveals nothing', () => {
    // 'ghost' names no one: these guesses must not lock out an account another test signs in to.
    const weird = [
      'ghost\u0000',
      '\ud800ghost',
      'gh\u202eost',
      ' ＧＨＯＳＴ ',
      `+${'1'.repeat(250)}`,
      'ghost@acme.test\u0000@evil.test',
      '%00',
      '$where',
    ];

    it('login answers every weird identifier and slug with UNAUTHENTICATED or BAD_USER_INPUT, never INTERNAL_SERVER_ERROR', async () => {
      for (const value of weird) {
        for (const vars of [
          { organizationSlug: acme.organization.slug, identifier: value, password: 'wrong-Password-1' },
          { organizationSlug: value.slice(0, 63), identifier: 'ghost', password: 'wrong-Password-1' },
        ]) {
          const res = await gql(stack.gatewayUrl, LOGIN, vars);
          expect(['UNAUTHENTICATED', 'BAD_USER_INPUT'], JSON.stringify(vars)).toContain(codeOf(res));
          expect(JSON.stringify(res)).not.toContain('\\u0000');
        }
      }
    });

    it('resetPassword, verifyEmail, requestPasswordReset and refreshSession refuse weird input as bad input', async () => {
      for (const value of weird) {
        for (const [query, vars] of [
          [RESET, { o: 'public', e: value, c: '123456', n: 'Rogue-Squadron-22' }],
          [RESET, { o: value, e: 'a@example.ca', c: value, n: 'Rogue-Squadron-22' }],
          [VERIFY, { o: 'public', e: value, c: value }],
          [REQUEST_RESET, { o: value, e: value }],
          [`mutation($t: String!) { refreshSession(refreshToken: $t) { jwt } }`, { t: value }],
        ] as const) {
          const res = await gql(stack.gatewayUrl, query, vars);
          expect(['BAD_USER_INPUT', 'UNAUTHENTICATED'], `${query} ${JSON.stringify(vars)}`).toContain(codeOf(res));
        }
      }
    });
  });

  describe("finding 5: identity's _entities(User) { username } follows org-users' access policy, called directly", () => {
    let target: { id: string; email: string };
    let customer: { id: string; email: string; jwt: string };

    beforeAll(async () => {
      const slug = { 'x-organization-slug': acme.organization.slug };
      target = await register(stack, {}, slug);
      const c = await register(stack, {}, slug);
      customer = { ...c, jwt: (await login(stack.gatewayUrl, acme.organization.slug, c.email, PASSWORD)).jwt };
    });
    const usernameOf = (id: string, token: string) => gql(identityGraphql, ENTITIES, { r: [{ __typename: 'User', id }] }, bearer(token));

    it("a self-only user (no license) reads its own username, not a colleague's", async () => {
      const own = await usernameOf(customer.id, customer.jwt);
      expect(own.errors).toBeUndefined();
      expect(own.data!._entities).toEqual([{ id: customer.id, username: null }]);
      const other = await usernameOf(acme.admin.id, customer.jwt);
      expect(other.data?._entities).toEqual([null]);
      expect(codeOf(other)).toBe('FORBIDDEN');
      expect(JSON.stringify(other)).not.toContain('"admin"');
    });

    it('an application without organization-users:read is refused; with it, and an admin, read the directory', async () => {
      const admin = await login(stack.gatewayUrl, acme.organization.slug, 'admin', ADMIN_PASSWORD);
      const created = await gql(
        stack.gatewayUrl,
        `mutation { createApplication(name: "registrar", permissions: ["users:register"]) { application { clientId } clientSecret } }`,
        {},
        bearer(admin.jwt),
      );
      expect(created.errors).toBeUndefined();
      const { application, clientSecret } = created.data!.createApplication;
      const registrar = await applicationToken(stack.gatewayUrl, application.clientId, clientSecret);
      const refused = await usernameOf(acme.admin.id, registrar);
      expect(refused.data?._entities).toEqual([null]);
      expect(codeOf(refused)).toBe('FORBIDDEN');

      const reader = await applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret);
      expect((await usernameOf(acme.admin.id, reader)).data!._entities).toEqual([{ id: acme.admin.id, username: 'admin' }]);
      expect((await usernameOf(target.id, admin.jwt)).data!._entities).toEqual([{ id: target.id, username: null }]);
    });
  });
});
