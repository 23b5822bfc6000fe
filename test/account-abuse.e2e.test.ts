/**
 * Issue 12, attacks on accounts through identity's anonymous operations:
 * findings 4 (code brute force), 5 (login lockout walk-around), 6 (CLOSED
 * accounts), 7 (reset codes to a changed, unverified email) and 8 (rate
 * limits, answer before delivery).
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { SMTPServer } from 'smtp-server';
import type { BootstrapResult, RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  LOGIN,
  login,
  openDatabase,
  readOutbox,
  removeDir,
  startTestStack,
  uniqueEmail,
  waitForOutbox,
} from './support/stack.js';

const PASSWORD = 'maple-Syrup-1867!';
const REQUEST_RESET = `mutation($o: String!, $e: String!) { requestPasswordReset(organizationSlug: $o, email: $e) { success message } }`;
const RESET =
  `mutation($o: String!, $e: String!, $c: String!, $n: String!) { resetPassword(organizationSlug: $o, ` +
  `email: $e, code: $c, newPassword: $n) { success } }`;
const VERIFY = `mutation($o: String!, $e: String!, $c: String!) { verifyEmail(organizationSlug: $o, email: $e, code: $c) { success message } }`;
const RESEND = `mutation($o: String!, $e: String!) { resendVerificationCode(organizationSlug: $o, email: $e) { success message } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { _id jwt refreshToken } }`;

const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;
const wrongFor = (code: string) => (code === '000000' ? '111111' : '000000');
const codeOf = (res: { errors?: Array<{ extensions?: Record<string, any> }> }) => res.errors?.[0]?.extensions?.code as string | undefined;
/** A US number in the fictional 555-01xx range, written two ways. */
const phonePair = () => {
  const last = String(100 + randomInt(0, 100)).padStart(4, '0');
  return { e164: `+1415555${last}`, spaced: `+1 415 555 ${last}`, punctuated: `+1 (415) 555-${last}` };
};

async function register(stack: RunningStack, vars: Record<string, unknown> = {}) {
  const email = uniqueEmail('victim');
  const res = await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null, ...vars });
  expect(res.errors).toBeUndefined();
  return { email, id: res.data!.register.user.id as string };
}

describe('account attacks (generous per-IP limits, default per-account limits)', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;

  beforeAll(async () => {
    const started = await startTestStack({ serviceEnv: { identity: { CODE_ISSUE_MAX_PER_ACCOUNT: '100' } } });
    ({ stack, dataDir } = started);
    prefix = started.options.databasePrefix ?? '';
  });
  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('finding 4: 15 wrong reset codes over three codes exhaust the account budget: the correct fourth code does not reset', async () => {
    const { email } = await register(stack);
    for (let round = 1; round <= 3; round++) {
      await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
      const code = codeIn((await waitForOutbox(dataDir, email, round))[0]!.text);
      for (let i = 0; i < 5; i++) {
        const guess = await gql(stack.gatewayUrl, RESET, { o: 'public', e: email, c: wrongFor(code), n: 'Rogue-Squadron-22' });
        expect(['BAD_USER_INPUT', 'RATE_LIMITED']).toContain(codeOf(guess));
      }
    }
    await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
    const fourth = codeIn((await waitForOutbox(dataDir, email, 4))[0]!.text);
    const reset = await gql(stack.gatewayUrl, RESET, { o: 'public', e: email, c: fourth, n: 'Rogue-Squadron-22' });
    expect(codeOf(reset)).toBe('RATE_LIMITED');
    expect(reset.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // The password is unchanged: the old one still signs in, the attacker's does not.
    await login(stack.gatewayUrl, 'public', email, PASSWORD);
    expect(
      codeOf(await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: 'Rogue-Squadron-22' })),
    ).toBe('UNAUTHENTICATED');
  });

  it('finding 4: 15 wrong verification codes over three resends exhaust the budget: the correct fourth code does not verify', async () => {
    const { email } = await register(stack, { withVerificationCode: true });
    for (let round = 1; round <= 3; round++) {
      if (round > 1) await gql(stack.gatewayUrl, RESEND, { o: 'public', e: email });
      const code = codeIn((await waitForOutbox(dataDir, email, round))[0]!.text);
      for (let i = 0; i < 5; i++) await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: wrongFor(code) });
    }
    await gql(stack.gatewayUrl, RESEND, { o: 'public', e: email });
    const fourth = codeIn((await waitForOutbox(dataDir, email, 4))[0]!.text);
    const verified = await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: fourth });
    expect(codeOf(verified)).toBe('RATE_LIMITED');
    const s = await login(stack.gatewayUrl, 'public', email, PASSWORD);
    expect((await gql(stack.gatewayUrl, '{ me { status } }', {}, bearer(s.jwt))).data!.me.status).toBe('PENDING_VERIFICATION');
  });

  it('finding 5: "+1 415 555 0142", "+1 (415) 555-0142" and the email are one counter; unknown phones are counted in E.164', async () => {
    const phone = phonePair();
    const { email } = await register(stack, { telephone: phone.e164 });
    const attempt = (identifier: string, password: string) =>
      gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier, password });
    for (let i = 0; i < 5; i++) expect(codeOf(await attempt(phone.spaced, 'wrong-password-1'))).toBe('UNAUTHENTICATED');
    // Locked: the other spelling, and the email, with the right password, are refused too.
    expect(codeOf(await attempt(phone.punctuated, PASSWORD))).toBe('RATE_LIMITED');
    const byEmail = await attempt(email, PASSWORD);
    expect(codeOf(byEmail)).toBe('RATE_LIMITED');
    expect(byEmail.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);

    const ghost = phonePair();
    for (let i = 0; i < 5; i++) await attempt(ghost.spaced, 'wrong-password-1');
    expect(codeOf(await attempt(ghost.punctuated, 'wrong-password-1'))).toBe('RATE_LIMITED');
  });

  it('finding 5: of 12 concurrent wrong passwords against a limit of 5, at most 5 are checked', async () => {
    const { email } = await register(stack);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: 'wrong-password-1' }),
      ),
    );
    const codes = results.map(codeOf);
    const checked = codes.filter((c) => c === 'UNAUTHENTICATED').length;
    const limited = codes.filter((c) => c === 'RATE_LIMITED').length;
    process.stdout.write(`finding 5 burst: ${checked} checked, ${limited} rate limited\n`);
    expect(checked).toBeLessThanOrEqual(5);
    expect(checked + limited).toBe(12);
  });

  it('beyond the list: changePassword guesses the current password under the same per-account budget as login', async () => {
    // A stolen access token (15 minutes) must not become an unlimited password oracle.
    const { email } = await register(stack);
    const s = await login(stack.gatewayUrl, 'public', email, PASSWORD);
    const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { success } }';
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await gql(stack.gatewayUrl, CHANGE, { c: `wrong-password-${i}`, n: 'Rogue-Squadron-22' }, bearer(s.jwt)))).toBe(
        'BAD_USER_INPUT',
      );
    }
    const right = await gql(stack.gatewayUrl, CHANGE, { c: PASSWORD, n: 'Rogue-Squadron-22' }, bearer(s.jwt));
    expect(codeOf(right)).toBe('RATE_LIMITED');
    // One counter: login is locked too.
    expect(codeOf(await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: PASSWORD }))).toBe(
      'RATE_LIMITED',
    );
  });

  it('finding 6: after closeAccount: no login, no refresh, no reset, and every session revoked', async () => {
    const { email, id } = await register(stack);
    const first = await login(stack.gatewayUrl, 'public', email, PASSWORD);
    const second = await login(stack.gatewayUrl, 'public', email, PASSWORD);
    // A reset code requested before closing...
    await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
    const early = codeIn((await waitForOutbox(dataDir, email, 1))[0]!.text);

    const closed = await gql(stack.gatewayUrl, 'mutation { closeAccount { id status } }', {}, bearer(first.jwt));
    expect(closed.errors).toBeUndefined();
    expect(closed.data!.closeAccount.status).toBe('CLOSED');

    expect(codeOf(await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: PASSWORD }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(codeOf(await gql(stack.gatewayUrl, REFRESH, { t: second.refreshToken }))).toBe('UNAUTHENTICATED');
    // ...does not work after it.
    expect(codeOf(await gql(stack.gatewayUrl, RESET, { o: 'public', e: email, c: early, n: 'Rogue-Squadron-22' }))).toBe('BAD_USER_INPUT');
    // A new request sends nothing (a control request sent after it arrives first: delivery is in order).
    await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
    const control = await register(stack);
    await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: control.email });
    await waitForOutbox(dataDir, control.email, 1);
    expect(await readOutbox(dataDir, email)).toHaveLength(1);

    const db = await openDatabase(stack, prefix, 'identity');
    try {
      const sessions = await db.collection('sessions').find({ userId: id }).toArray();
      expect(sessions.length).toBeGreaterThanOrEqual(3);
      expect(sessions.filter((s) => !s.revokedAt)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  describe('finding 7: a changed email gets no reset code until the user verifies it', () => {
    let acme: BootstrapResult;
    let adminJwt: string;
    const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
    const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id email } } }`;
    const createUser = async (username: string) => {
      const email = uniqueEmail(username);
      const res = await gql(
        stack.gatewayUrl,
        CREATE,
        {
          input: {
            user: { firstName: 'Vic', lastName: 'Tim', email, credentials: { username, password: PASSWORD } },
            requestedLicenses: ['VIEWER'],
          },
        },
        bearer(adminJwt),
      );
      expect(res.data!.createUser.errors).toEqual([]);
      return { email, id: res.data!.createUser.user.id as string };
    };

    beforeAll(async () => {
      acme = await bootstrapOrganization(dataDir, 'acme-f7');
      adminJwt = (await login(stack.gatewayUrl, 'acme-f7', 'admin', ADMIN_PASSWORD)).jwt;
    });

    it("an admin sets the victim's email to the attacker's and requests a reset: no code reaches the new address", async () => {
      expect(acme.organization.slug).toBe('acme-f7');
      const victim = await createUser('victim7');
      const control = await createUser('control7');
      const attackerEmail = uniqueEmail('attacker');
      const updated = await gql(stack.gatewayUrl, UPDATE, { input: { id: victim.id, user: { email: attackerEmail } } }, bearer(adminJwt));
      expect(updated.data!.updateUser.errors).toEqual([]);

      const asked = await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'acme-f7', e: attackerEmail });
      expect(asked.data!.requestPasswordReset.success).toBe(true);
      await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'acme-f7', e: control.email });
      await waitForOutbox(dataDir, control.email, 1);
      expect(await readOutbox(dataDir, attackerEmail)).toEqual([]);

      // The user, signed in, verifies the new address; then resets go to it.
      const own = await login(stack.gatewayUrl, 'acme-f7', 'victim7', PASSWORD);
      expect(codeOf(await gql(stack.gatewayUrl, RESEND, { o: 'acme-f7', e: attackerEmail }, bearer(own.jwt)))).toBeUndefined();
      const verification = codeIn((await waitForOutbox(dataDir, attackerEmail, 1))[0]!.text);
      const verified = await gql(stack.gatewayUrl, VERIFY, { o: 'acme-f7', e: attackerEmail, c: verification }, bearer(own.jwt));
      expect(verified.errors).toBeUndefined();
      await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'acme-f7', e: attackerEmail });
      const reset = codeIn((await waitForOutbox(dataDir, attackerEmail, 2))[0]!.text);
      expect(
        (await gql(stack.gatewayUrl, RESET, { o: 'acme-f7', e: attackerEmail, c: reset, n: 'Rogue-Squadron-22' })).data!.resetPassword
          .success,
      ).toBe(true);
    });

    it('anonymously, verifyEmail cannot verify a changed address (only the signed-in user can)', async () => {
      const victim = await createUser('victim7b');
      const attackerEmail = uniqueEmail('attacker');
      await gql(stack.gatewayUrl, UPDATE, { input: { id: victim.id, user: { email: attackerEmail } } }, bearer(adminJwt));
      const control = await createUser('control7b');
      await gql(stack.gatewayUrl, RESEND, { o: 'acme-f7', e: attackerEmail });
      await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'acme-f7', e: control.email });
      await waitForOutbox(dataDir, control.email, 1);
      expect(await readOutbox(dataDir, attackerEmail)).toEqual([]);
    });
  });
});

describe('rate limits on anonymous operations (low limits)', () => {
  let stack: RunningStack;
  let dataDir: string;
  let app: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack({
      serviceEnv: { identity: { RATE_LIMIT_PER_IP: '40', RATE_LIMIT_PER_ACCOUNT: '6', CODE_ISSUE_MAX_PER_ACCOUNT: '2' } },
    }));
    const boot = await bootstrapOrganization(dataDir, 'limits');
    app = { clientId: boot.application.clientId, clientSecret: boot.application.clientSecret };
  });
  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const token = (clientSecret = app.clientSecret) =>
    request(stack.gatewayUrl.replace('/graphql', '/oauth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: clientSecret }).toString(),
    });

  it('finding 4: a third reset request for one account within the hour is RATE_LIMITED, whether or not the account exists', async () => {
    for (const email of [(await register(stack)).email, uniqueEmail('ghost')]) {
      for (let i = 0; i < 2; i++) expect(codeOf(await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email }))).toBeUndefined();
      const third = await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
      expect(codeOf(third)).toBe('RATE_LIMITED');
      expect(third.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    }
  });

  it('finding 8: POST /oauth/token is limited per client: 429 with Retry-After and an RFC 6749-style body', async () => {
    // Wrong secrets count per IP only (nobody can lock an application out by its id)...
    for (let i = 0; i < 8; i++) {
      const wrong = await token('secret_wrong-wrong-wrong-wrong');
      expect(wrong.statusCode).toBe(401);
      await wrong.body.dump();
    }
    // ...tokens issued count per client id.
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof token>> | undefined;
    for (let i = 0; i < 7; i++) {
      last = await token();
      statuses.push(last.statusCode);
      if (last.statusCode !== 429) await last.body.dump();
    }
    expect(statuses.slice(0, 6).every((s) => s === 200)).toBe(true);
    expect(statuses[6]).toBe(429);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(await last!.body.json()).toMatchObject({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  });

  it('finding 8: past the per-IP limit every anonymous operation is RATE_LIMITED with a Retry-After hint', async () => {
    let limited = false;
    for (let i = 0; i < 45 && !limited; i++) {
      limited = codeOf(await gql(stack.gatewayUrl, RESEND, { o: 'public', e: uniqueEmail(`spray${i}`) })) === 'RATE_LIMITED';
    }
    expect(limited).toBe(true);
    const email = uniqueEmail('late');
    const operations = {
      register: await gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: null }),
      login: await gql(stack.gatewayUrl, LOGIN, { organizationSlug: 'public', identifier: email, password: PASSWORD }),
      verifyEmail: await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: '123456' }),
      resendVerificationCode: await gql(stack.gatewayUrl, RESEND, { o: 'public', e: email }),
      requestPasswordReset: await gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email }),
      resetPassword: await gql(stack.gatewayUrl, RESET, { o: 'public', e: email, c: '123456', n: 'Rogue-Squadron-22' }),
    };
    for (const [name, res] of Object.entries(operations)) {
      expect(codeOf(res), name).toBe('RATE_LIMITED');
      expect(res.errors![0]!.extensions!.retryAfterSeconds, name).toBeGreaterThan(0);
    }
    const oauth = await token();
    expect(oauth.statusCode).toBe(429);
    expect(Number(oauth.headers['retry-after'])).toBeGreaterThan(0);
    await oauth.body.dump();
  });
});

describe('finding 8: with SMTP, requestPasswordReset answers before delivery', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  let smtp: SMTPServer;
  const delivered: Array<{ to: string; text: string }> = [];
  /** Each message's DATA is held until the test releases it. */
  const held: Array<() => void> = [];
  let heldNotify: (() => void) | undefined;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          held.push(() => {
            delivered.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), text: Buffer.concat(chunks).toString('utf8') });
            callback();
          });
          heldNotify?.();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as { port: number }).port;
    const started = await startTestStack({ serviceEnv: { identity: { NOTIFIER: 'smtp', SMTP_URL: `smtp://127.0.0.1:${port}` } } });
    ({ stack, dataDir } = started);
    prefix = started.options.databasePrefix ?? '';
  });
  afterAll(async () => {
    for (const release of held.splice(0)) release();
    await stack?.stop();
    await new Promise<void>((resolve) => smtp?.close(resolve));
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('answers while the SMTP server still holds the message, and the message arrives after', async () => {
    const { email } = await register(stack);
    const arrived = new Promise<void>((resolve) => (heldNotify = resolve));
    const answer = gql(stack.gatewayUrl, REQUEST_RESET, { o: 'public', e: email });
    // Whichever comes first: the answer, or the message reaching the server (which holds it).
    const first = await Promise.race([answer.then(() => 'answer'), arrived.then(() => 'message held')]);
    if (first === 'message held') {
      // Give the answer a bounded chance while the message is held: it must not wait for delivery.
      const settled = await Promise.race([answer.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 3000))]);
      expect(settled).toBe(true);
    }
    expect((await answer).data!.requestPasswordReset.success).toBe(true);
    await arrived;
    expect(delivered.filter((d) => d.to === email)).toEqual([]);
    held.shift()!();
    for (let i = 0; i < 100 && !delivered.some((d) => d.to === email); i++) await new Promise((r) => setTimeout(r, 20));
    const mail = delivered.find((d) => d.to === email)!;
    const code = codeIn(mail.text);
    const reset = await gql(stack.gatewayUrl, RESET, { o: 'public', e: email, c: code, n: 'Rogue-Squadron-22' });
    expect(reset.data!.resetPassword.success).toBe(true);
    // The stored outbox keeps no code once the message is sent.
    const db = await openDatabase(stack, prefix, 'identity');
    try {
      expect(await db.collection('outbox').countDocuments({ to: email })).toBe(0);
    } finally {
      await db.close();
    }
  });
});
