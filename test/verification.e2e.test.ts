/** B's withVerificationCode: a pending account, a 6-digit code in the outbox, and verifyEmail. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { cli, gql, removeDir, startTestStack, uniqueEmail, waitForOutbox, type OutboxMessage } from './support/stack.js';

const VERIFY = `mutation($o: String!, $e: String!, $c: String!) { verifyEmail(organizationSlug: $o, email: $e, code: $c) { success message } }`;
const RESEND = `mutation($o: String!, $e: String!) { resendVerificationCode(organizationSlug: $o, email: $e) { success message } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(organizationSlug: "public", identifier: $e, password: $p) { jwt } }`;

describe('email verification', () => {
  let stack: RunningStack;
  let dataDir: string;

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack());
  });
  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)?.[1];

  async function statusOf(email: string, password: string) {
    const login = await gql(stack.gatewayUrl, LOGIN, { e: email, p: password });
    const me = await gql(stack.gatewayUrl, '{ me { status } }', {}, { authorization: `Bearer ${login.data!.login.jwt}` });
    return me.data!.me.status as string;
  }

  it('keeps the account pending until the emailed code is entered', async () => {
    const email = uniqueEmail('verify');
    const vars = { ...realisticRegisterVariables(email), telephone: null, withVerificationCode: true };
    const res = await gql(stack.gatewayUrl, B_REGISTER, vars);
    expect(res.errors).toBeUndefined();
    expect(res.data!.register.message).toMatch(/verification code was sent/);
    expect(await statusOf(email, vars.password)).toBe('PENDING_VERIFICATION');

    // Codes are issued after the answer. Then read as a developer does: `usergraph outbox --to <email> --json`.
    await waitForOutbox(dataDir, email, 1);
    const [mail] = JSON.parse(await cli(dataDir, 'outbox', '--to', email, '--json')) as OutboxMessage[];
    const code = codeIn(mail!.text);
    expect(code).toMatch(/^\d{6}$/);

    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: wrongCode });
    expect(wrong.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'code', message: expect.any(String) }] });

    const ok = await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: code });
    expect(ok.data!.verifyEmail.success).toBe(true);
    expect(await statusOf(email, vars.password)).toBe('ACTIVE');
    // A code works once.
    const again = await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: code });
    expect(again.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('allows at most 5 attempts, and a resent code replaces the old one', async () => {
    const email = uniqueEmail('attempts');
    const vars = { ...realisticRegisterVariables(email), telephone: null, withVerificationCode: true };
    await gql(stack.gatewayUrl, B_REGISTER, vars);
    const first = codeIn((await waitForOutbox(dataDir, email, 1))[0]!.text)!;
    const wrongCode = first === '999999' ? '999998' : '999999';
    for (let i = 0; i < 5; i++) await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: wrongCode });
    const exhausted = await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: first });
    expect(exhausted.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');

    const resent = await gql(stack.gatewayUrl, RESEND, { o: 'public', e: email });
    expect(resent.data!.resendVerificationCode.success).toBe(true);
    const mails = await waitForOutbox(dataDir, email, 2);
    expect(mails).toHaveLength(2);
    const second = codeIn(mails[0]!.text)!;
    const ok = await gql(stack.gatewayUrl, VERIFY, { o: 'public', e: email, c: second });
    expect(ok.data!.verifyEmail.success).toBe(true);
  });

  it('answers a resend for an unknown email exactly as for a known one', async () => {
    const res = await gql(stack.gatewayUrl, RESEND, { o: 'public', e: uniqueEmail('ghost') });
    expect(res.data!.resendVerificationCode).toEqual({
      success: true,
      message: 'If a pending account exists for this email, a new code was sent.',
    });
  });
});
