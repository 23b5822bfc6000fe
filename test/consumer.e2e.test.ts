/**
 * Issue 4, part A: registerOrganizationUser with the full consumer profile,
 * organization-scoped authorization, national IDs encrypted at rest,
 * connections and tradelines as Relay connections, and account state, all
 * through the gateway against a whole stack.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { BootstrapResult, RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
  type GraphQLResponse,
} from './support/stack.js';

const SSN = '536-22-8841';
const SSN_DIGITS = '536228841';

const PROFILE_FIELDS = `id email phoneNumber status
  legalName { first middle last }
  address { addressLine1 city stateCode postCode alpha2 }
  addresses { city }
  dateOfBirth nationalIdLast4 visitorId
  notificationPreferences { email sms push }
  legalAgreementVersions { version acceptedAt }
  createdAt updatedAt syncedAt closedAt`;

const REGISTER = `mutation Register($input: RegisterOrganizationUserInput!) {
  registerOrganizationUser(input: $input) { user { ${PROFILE_FIELDS} } }
}`;

const CONNECTION_FIELDS = 'id institutionName status createdAt updatedAt lastSyncedAt';
const TRADELINE_FIELDS = 'id connectionId accountType creditorName balance { amount currency } openedOn status updatedAt';

const CONNECTIONS = `query Connections($id: ID!, $input: ConnectionsInput!) {
  organizationUser(id: $id) {
    connections(input: $input) { totalCount edges { cursor node { ${CONNECTION_FIELDS} } } pageInfo { hasNextPage endCursor } }
  }
}`;

const TRADELINES = `query Tradelines($id: ID!, $input: TradelinesInput!) {
  organizationUser(id: $id) {
    tradelines(input: $input) { totalCount edges { cursor node { ${TRADELINE_FIELDS} } } pageInfo { hasNextPage endCursor } }
  }
}`;

const RECORD_CONNECTION = `mutation($input: RecordConnectionInput!) { recordConnection(input: $input) { ${CONNECTION_FIELDS} } }`;
const RECORD_TRADELINE = `mutation($input: RecordTradelineInput!) { recordTradeline(input: $input) { ${TRADELINE_FIELDS} } }`;

let phoneCounter = 100;
/** Valid (libphonenumber "max"), distinct US numbers. */
const nextPhone = () => `+1415555${String(phoneCounter++).padStart(4, '0')}`;

function consumerInput(organizationSlug: string, overrides: Record<string, unknown> = {}) {
  return {
    organizationSlug,
    email: uniqueEmail('maria'),
    phoneNumber: nextPhone(),
    name: { first: 'María', middle: 'Elena', last: 'García' },
    address: {
      addressLine1: '500 Howard Street',
      addressLine2: 'Apt 4B',
      streetNumber: '500',
      city: 'San Francisco',
      state: 'California',
      stateCode: 'CA',
      postCode: '94105',
      country: 'United States',
      alpha2: 'US',
      type: 'home',
    },
    dateOfBirth: { year: 1988, month: 4, day: 17 },
    nationalId: SSN,
    visitorID: 'b1c2d3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d',
    ...overrides,
  };
}

const codeOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.code;
const fieldPaths = (res: GraphQLResponse) => ((res.errors?.[0]?.extensions?.fields ?? []) as Array<{ path: string }>).map((f) => f.path);

describe('A: registerOrganizationUser and the consumer profile', () => {
  let stack: RunningStack;
  let dataDir: string;
  let db: Connection;
  let acme: BootstrapResult;
  let globex: BootstrapResult;
  let acmeApp: string;
  let globexApp: string;
  let acmeAdmin: string;
  let acmeMember: { id: string; jwt: string };

  const url = () => stack.gatewayUrl;
  const users = () => db.collection<{ _id: string; status?: string; nationalIdSealed?: string; closedAt?: Date }>('users');
  const register = (input: unknown, token?: string, headers: Record<string, string> = {}) =>
    gql(url(), REGISTER, { input }, { ...(token ? bearer(token) : {}), ...headers });
  const asApp = (query: string, variables: Record<string, unknown> = {}) => gql(url(), query, variables, bearer(acmeApp));

  async function registerConsumer(overrides: Record<string, unknown> = {}) {
    const res = await register(consumerInput('acme', overrides), acmeApp);
    expect(res.errors).toBeUndefined();
    return res.data!.registerOrganizationUser.user as Record<string, any>;
  }

  beforeAll(async () => {
    const started = await startTestStack();
    ({ stack, dataDir } = started);
    db = await openDatabase(stack, started.options.databasePrefix ?? '', 'orgusers');
    acme = await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    globex = await bootstrapOrganization(dataDir, 'globex');
    acmeApp = await applicationToken(url(), acme.application.clientId, acme.application.clientSecret);
    globexApp = await applicationToken(url(), globex.application.clientId, globex.application.clientSecret);
    acmeAdmin = (await login(url(), 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    // A member without the ADMIN license, signed up with B's register.
    const member = await gql(
      url(),
      B_REGISTER,
      { ...realisticRegisterVariables(uniqueEmail('member')), telephone: null },
      { 'x-organization-slug': 'acme' },
    );
    expect(member.errors).toBeUndefined();
    acmeMember = { id: member.data!.register.user.id, jwt: member.data!.register.session.jwt };
  });

  afterAll(async () => {
    await db?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('registration', () => {
    it("runs A's example operation (placeholders filled in) and returns exactly the fields A shows", async () => {
      const email = uniqueEmail('a-example');
      const phone = nextPhone();
      // A's operation text, with values in place of its type annotations.
      const operation = `mutation RegisterOrganizationUser  {
  registerOrganizationUser(
    input: {
      organizationSlug: "acme"
      email: "${email}"
      phoneNumber: "${phone}"
      name: { first: "Maria", middle: "Elena", last: "Garcia" }
      address: {
        addressLine1: "500 Howard Street", city: "San Francisco", state: "California", stateCode: "CA", postCode: "94105",
        country: "United States", alpha2: "US"
      }
      dateOfBirth: { year: 1988, month: 4, day: 17 }
      nationalId: "${SSN}"
      visitorID: "b1c2d3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d"
    }
  ){
    user {
            id
            email
            phoneNumber
            status
            createdAt
            updatedAt
            syncedAt
            closedAt
      
      			connection(input: {first: 10}) { totalCount edges { cursor node { id institutionName status } } pageInfo { hasNextPage endCursor } }
      			tradelines(input: {first: 10}) { totalCount edges { cursor node { id accountType balance { amount currency } } }
      				pageInfo { hasNextPage endCursor } }
        }
  }
}`;
      const res = await gql(url(), operation, {}, bearer(acmeApp));
      expect(res.errors).toBeUndefined();
      const user = res.data!.registerOrganizationUser.user;
      expect(Object.keys(user)).toEqual([
        'id',
        'email',
        'phoneNumber',
        'status',
        'createdAt',
        'updatedAt',
        'syncedAt',
        'closedAt',
        'connection',
        'tradelines',
      ]);
      expect(user).toMatchObject({
        id: expect.stringMatching(/^[a-f0-9]{24}$/),
        email,
        phoneNumber: phone,
        status: 'ACTIVE',
        syncedAt: null,
        closedAt: null,
      });
      expect(Date.parse(user.createdAt)).toBeGreaterThan(Date.now() - 60_000);
      const empty = { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
      expect(user.connection).toEqual(empty);
      expect(user.tradelines).toEqual(empty);
    });

    it('registers with an application token and returns the whole consumer profile', async () => {
      const input = consumerInput('acme', { phoneNumber: '(415) 555-0199' }); // national to address.alpha2 (US)
      const res = await register(input, acmeApp);
      expect(res.errors).toBeUndefined();
      const user = res.data!.registerOrganizationUser.user;
      expect(user).toEqual({
        id: expect.stringMatching(/^[a-f0-9]{24}$/),
        email: input.email,
        phoneNumber: '+14155550199',
        status: 'ACTIVE',
        legalName: { first: 'María', middle: 'Elena', last: 'García' },
        address: { addressLine1: '500 Howard Street', city: 'San Francisco', stateCode: 'CA', postCode: '94105', alpha2: 'US' },
        addresses: [{ city: 'San Francisco' }],
        dateOfBirth: '1988-04-17',
        nationalIdLast4: '8841',
        visitorId: 'b1c2d3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d',
        notificationPreferences: { email: false, sms: false, push: false },
        legalAgreementVersions: [],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        syncedAt: null,
        closedAt: null,
      });
      expect(await users().countDocuments({ emailNormalized: input.email.toLowerCase() })).toBe(1);
    });

    it('registers with an organization admin (ADMIN license) user token', async () => {
      const input = consumerInput('acme', { nationalId: null, visitorID: null, name: { first: 'Sam', last: 'Lee' } });
      const res = await register(input, acmeAdmin);
      expect(res.errors).toBeUndefined();
      expect(res.data!.registerOrganizationUser.user).toMatchObject({
        email: input.email,
        legalName: { first: 'Sam', middle: null, last: 'Lee' },
        nationalIdLast4: null,
        visitorId: null,
      });
    });

    it('stores the national ID encrypted: the raw document and the logs never hold its digits', async () => {
      const user = await registerConsumer();
      expect(user.nationalIdLast4).toBe('8841');
      const raw = await users().findOne({ _id: user.id as string });
      expect(raw).not.toBeNull();
      const text = JSON.stringify(raw);
      expect(text).not.toContain(SSN_DIGITS);
      expect(text).not.toContain(SSN);
      expect(raw!.nationalIdSealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      for (const file of readdirSync(stack.logDir)) {
        const log = readFileSync(join(stack.logDir, file), 'utf8');
        expect(log).not.toContain(SSN_DIGITS);
        expect(log).not.toContain(SSN);
      }
    });

    it('refuses without a token: UNAUTHENTICATED, nothing stored', async () => {
      const input = consumerInput('acme');
      const res = await register(input);
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
      expect(res.data ?? null).toBeNull();
      expect(await users().countDocuments({ emailNormalized: input.email.toLowerCase() })).toBe(0);
    });

    it("refuses another organization's token, a non-admin user and an application without organization-users:write: FORBIDDEN", async () => {
      const readOnlyApp = await applicationToken(
        url(),
        acme.application.clientId,
        acme.application.clientSecret,
        'organization-users:read',
      );
      const attempts: Array<[unknown, string]> = [
        [consumerInput('acme'), globexApp], // a token of globex naming acme
        [consumerInput('globex'), acmeApp], // acme's token naming globex
        [consumerInput('acme'), acmeMember.jwt],
        [consumerInput('acme'), readOnlyApp],
      ];
      for (const [input, token] of attempts) {
        const res = await register(input, token);
        expect(codeOf(res)).toBe('FORBIDDEN');
        expect(res.data ?? null).toBeNull();
        const email = (input as { email: string }).email.toLowerCase();
        expect(await users().countDocuments({ emailNormalized: email })).toBe(0);
      }
    });

    it('names every bad field with BAD_USER_INPUT and stores nothing', async () => {
      const before = await users().countDocuments();
      const res = await register(
        consumerInput('acme', {
          email: 'not-an-email',
          phoneNumber: '555-123-4567',
          dateOfBirth: { year: 1990, month: 2, day: 30 },
          nationalId: '000-12-3456',
          name: { first: 'Maria', last: '' },
        }),
        acmeApp,
      );
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(res.data ?? null).toBeNull();
      expect(fieldPaths(res).sort()).toEqual([
        'input.dateOfBirth.day',
        'input.email',
        'input.name.last',
        'input.nationalId',
        'input.phoneNumber',
      ]);
      const body = JSON.stringify(res);
      expect(body).not.toContain('000-12-3456');
      expect(body).not.toContain('000123456');

      const future = await register(
        consumerInput('acme', { dateOfBirth: { year: new Date().getUTCFullYear() + 1, month: 1, day: 1 } }),
        acmeApp,
      );
      expect(codeOf(future)).toBe('BAD_USER_INPUT');
      expect(future.errors![0]!.extensions?.fields).toEqual([{ path: 'input.dateOfBirth', message: 'must not be in the future' }]);

      const badAlpha2 = await register(consumerInput('acme', { address: { city: 'Nowhere', alpha2: 'XX' } }), acmeApp);
      expect(fieldPaths(badAlpha2)).toEqual(['input.address.alpha2']);

      // An unknown address key is refused by GraphQL itself, before any resolver runs.
      const unknownKey = await register(consumerInput('acme', { address: { city: 'San Francisco', zipCode: '94105' } }), acmeApp);
      expect(codeOf(unknownKey)).toBe('BAD_USER_INPUT');
      expect(unknownKey.errors![0]!.message).toContain('zipCode');
      // Named in A/B's style, and the submitted address values are not echoed back.
      expect(fieldPaths(unknownKey)).toEqual(['input.address']);
      expect(unknownKey.errors![0]!.message).not.toContain('San Francisco');

      expect(await users().countDocuments()).toBe(before);
    });

    it('keeps email and phone unique in the organization: CONFLICT naming the field', async () => {
      const first = await registerConsumer();
      const sameEmail = await register(consumerInput('acme', { email: first.email.toUpperCase() }), acmeApp);
      expect(codeOf(sameEmail)).toBe('CONFLICT');
      expect(sameEmail.errors![0]!.extensions?.fields).toEqual([{ path: 'input.email', message: 'is already in use' }]);
      const samePhone = await register(consumerInput('acme', { phoneNumber: first.phoneNumber }), acmeApp);
      expect(codeOf(samePhone)).toBe('CONFLICT');
      expect(samePhone.errors![0]!.extensions?.fields).toEqual([{ path: 'input.phoneNumber', message: 'is already in use' }]);
      // Another organization may hold the same values.
      const elsewhere = await register(consumerInput('globex', { email: first.email, phoneNumber: first.phoneNumber }), globexApp);
      expect(elsewhere.errors).toBeUndefined();
    });

    it('returns the same user for a retry with the same Idempotency-Key', async () => {
      const input = consumerInput('acme');
      const key = `retry-${Date.now()}`;
      const a = await register(input, acmeApp, { 'idempotency-key': key });
      const b = await register(input, acmeApp, { 'idempotency-key': key });
      expect(a.errors).toBeUndefined();
      expect(b.data!.registerOrganizationUser.user.id).toBe(a.data!.registerOrganizationUser.user.id);
      expect(await users().countDocuments({ emailNormalized: input.email.toLowerCase() })).toBe(1);
      const other = await register({ ...input, email: uniqueEmail('other') }, acmeApp, { 'idempotency-key': key });
      expect(codeOf(other)).toBe('CONFLICT');
    });
  });

  describe('connections and tradelines', () => {
    let user: Record<string, any>;
    const connectionIds: string[] = [];

    beforeAll(async () => {
      user = await registerConsumer();
      const institutions: Array<[string, string]> = [
        ['Chase Bank', 'ACTIVE'],
        ['Wells Fargo', 'ERROR'],
        ['chase bank', 'ACTIVE'],
        ['Capital One', 'PENDING'],
        ['Ally Bank', 'ERROR'],
      ];
      for (const [institutionName, status] of institutions) {
        const res = await asApp(RECORD_CONNECTION, { input: { userId: user.id, institutionName, status } });
        expect(res.errors).toBeUndefined();
        expect(res.data!.recordConnection).toMatchObject({ institutionName, status, lastSyncedAt: null });
        connectionIds.push(res.data!.recordConnection.id);
      }
      const tradelines: Array<[number, string, string, string]> = [
        [0, 'credit card', 'Chase Sapphire', '1520.35'],
        [0, 'MORTGAGE', 'Chase Home Lending', '325000'],
        [0, 'Credit-Card', 'Chase Freedom', '0.00'],
        [1, 'AUTO_LOAN', 'Wells Fargo Auto', '-12.5'],
        [1, 'credit_card', 'Wells Fargo Active Cash', '00042.10'],
      ];
      for (const [c, accountType, creditorName, balanceAmount] of tradelines) {
        const res = await asApp(RECORD_TRADELINE, {
          input: {
            userId: user.id,
            connectionId: connectionIds[c],
            accountType,
            creditorName,
            balanceAmount,
            currency: 'usd',
            openedOn: { year: 2019, month: 6, day: 1 },
          },
        });
        expect(res.errors).toBeUndefined();
      }
    });

    it('pages connections with stable cursors, totalCount and pageInfo', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      const pages: number[] = [];
      for (;;) {
        const res: GraphQLResponse = await asApp(CONNECTIONS, { id: user.id, input: { first: 2, after } });
        expect(res.errors).toBeUndefined();
        const page = res.data!.organizationUser.connections;
        expect(page.totalCount).toBe(5);
        pages.push(page.edges.length);
        seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
        expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(pages).toEqual([2, 2, 1]);
      expect(seen).toEqual(connectionIds);

      const all = await asApp(CONNECTIONS, { id: user.id, input: {} });
      expect(all.data!.organizationUser.connections.edges).toHaveLength(5); // default page size 20
    });

    it('filters connections by status and institution name (case-insensitive)', async () => {
      const errors = await asApp(CONNECTIONS, { id: user.id, input: { first: 10, status: ['ERROR'] } });
      expect(errors.data!.organizationUser.connections.totalCount).toBe(2);
      expect(errors.data!.organizationUser.connections.edges.map((e: any) => e.node.institutionName)).toEqual(['Wells Fargo', 'Ally Bank']);
      const chase = await asApp(CONNECTIONS, { id: user.id, input: { first: 1, institutionName: 'CHASE BANK' } });
      expect(chase.data!.organizationUser.connections).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
      const both = await asApp(CONNECTIONS, { id: user.id, input: { status: ['ACTIVE', 'PENDING'], institutionName: 'capital one' } });
      expect(both.data!.organizationUser.connections.totalCount).toBe(1);
    });

    it('pages and filters tradelines; amounts are decimal strings', async () => {
      const first = await asApp(TRADELINES, { id: user.id, input: { first: 2 } });
      expect(first.errors).toBeUndefined();
      const page1 = first.data!.organizationUser.tradelines;
      expect(page1).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: true } });
      expect(page1.edges[0].node).toMatchObject({
        connectionId: connectionIds[0],
        accountType: 'CREDIT_CARD',
        creditorName: 'Chase Sapphire',
        balance: { amount: '1520.35', currency: 'USD' },
        openedOn: '2019-06-01',
        status: 'OPEN',
      });
      const rest = await asApp(TRADELINES, { id: user.id, input: { first: 10, after: page1.pageInfo.endCursor } });
      const page2 = rest.data!.organizationUser.tradelines;
      expect(page2.edges.map((e: any) => e.node.creditorName)).toEqual(['Chase Freedom', 'Wells Fargo Auto', 'Wells Fargo Active Cash']);
      expect(page2.pageInfo.hasNextPage).toBe(false);
      expect(page2.edges.map((e: any) => e.node.balance.amount)).toEqual(['0.00', '-12.5', '42.10']);

      const byConnection = await asApp(TRADELINES, { id: user.id, input: { connectionId: connectionIds[1] } });
      expect(byConnection.data!.organizationUser.tradelines.totalCount).toBe(2);
      const cards = await asApp(TRADELINES, { id: user.id, input: { accountType: ['Credit Card'] } });
      expect(cards.data!.organizationUser.tradelines.totalCount).toBe(3);
      const cardsOnOne = await asApp(TRADELINES, {
        id: user.id,
        input: { connectionId: connectionIds[1], accountType: ['CREDIT_CARD', 'MORTGAGE'] },
      });
      expect(cardsOnOne.data!.organizationUser.tradelines.edges.map((e: any) => e.node.creditorName)).toEqual(['Wells Fargo Active Cash']);
    });

    it('refuses a bad page size, a forged cursor and bad tradeline input with BAD_USER_INPUT', async () => {
      const big = await asApp(CONNECTIONS, { id: user.id, input: { first: 101 } });
      expect(codeOf(big)).toBe('BAD_USER_INPUT');
      expect(fieldPaths(big)).toEqual(['input.first']);
      const forged = await asApp(CONNECTIONS, { id: user.id, input: { after: 'bm90LWEtY3Vyc29y' } });
      expect(fieldPaths(forged)).toEqual(['input.after']);
      const before = await db.collection('tradelines').countDocuments();
      const bad = await asApp(RECORD_TRADELINE, {
        input: {
          userId: user.id,
          connectionId: connectionIds[0],
          accountType: '!!',
          creditorName: 'X',
          balanceAmount: '12,50',
          currency: 'XYZ',
        },
      });
      expect(fieldPaths(bad).sort()).toEqual(['input.accountType', 'input.balanceAmount', 'input.currency']);
      expect(await db.collection('tradelines').countDocuments()).toBe(before);
    });

    it("shows a user's financial data only to the user, an admin or an application", async () => {
      const asAdmin = await gql(url(), CONNECTIONS, { id: user.id, input: { first: 1 } }, bearer(acmeAdmin));
      expect(asAdmin.data!.organizationUser.connections.totalCount).toBe(5);
      const asMember = await gql(url(), CONNECTIONS, { id: user.id, input: { first: 1 } }, bearer(acmeMember.jwt));
      expect(codeOf(asMember)).toBe('FORBIDDEN');
      expect(JSON.stringify(asMember)).not.toContain('Chase');
    });

    it("markUserSynced sets syncedAt and every connection's lastSyncedAt", async () => {
      const res = await asApp(
        `mutation($id: ID!) { markUserSynced(userId: $id) { id syncedAt connections(input: { first: 10 }) { edges { node { lastSyncedAt } } } } }`,
        { id: user.id },
      );
      expect(res.errors).toBeUndefined();
      const synced = res.data!.markUserSynced;
      expect(Date.parse(synced.syncedAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(synced.connections.edges.map((e: any) => e.node.lastSyncedAt)).toEqual(Array(5).fill(synced.syncedAt));
    });

    it("cross-tenant: another organization's application cannot write to this user (NOT_FOUND, nothing written)", async () => {
      const connectionsBefore = await db.collection('connections').countDocuments({ userId: user.id });
      const recorded = await gql(url(), RECORD_CONNECTION, { input: { userId: user.id, institutionName: 'Evil Bank' } }, bearer(globexApp));
      expect(codeOf(recorded)).toBe('NOT_FOUND');
      expect(fieldPaths(recorded)).toEqual(['input.userId']);
      const tradeline = await gql(
        url(),
        RECORD_TRADELINE,
        {
          input: {
            userId: user.id,
            connectionId: connectionIds[0],
            accountType: 'MORTGAGE',
            creditorName: 'Evil',
            balanceAmount: '1',
            currency: 'USD',
          },
        },
        bearer(globexApp),
      );
      expect(codeOf(tradeline)).toBe('NOT_FOUND');
      const synced = await gql(url(), 'mutation($id: ID!) { markUserSynced(userId: $id) { id } }', { id: user.id }, bearer(globexApp));
      expect(codeOf(synced)).toBe('NOT_FOUND');
      const closed = await gql(url(), 'mutation($id: ID!) { closeAccount(userId: $id) { id } }', { id: user.id }, bearer(globexApp));
      expect(codeOf(closed)).toBe('NOT_FOUND');
      const read = await gql(url(), CONNECTIONS, { id: user.id, input: {} }, bearer(globexApp));
      expect(read.errors).toBeUndefined();
      expect(read.data!.organizationUser).toBeNull();

      expect(await db.collection('connections').countDocuments({ userId: user.id })).toBe(connectionsBefore);
      expect(await db.collection('connections').countDocuments({ institutionName: 'Evil Bank' })).toBe(0);
      expect(await db.collection('tradelines').countDocuments({ creditorName: 'Evil' })).toBe(0);
      const raw = await users().findOne({ _id: user.id as string });
      expect(raw!.status).toBe('ACTIVE');
      expect(raw!.closedAt).toBeUndefined();
      // A connection of another user in the same organization is not this user's either.
      const other = await registerConsumer();
      const foreignConnection = await asApp(RECORD_TRADELINE, {
        input: {
          userId: other.id,
          connectionId: connectionIds[0],
          accountType: 'MORTGAGE',
          creditorName: 'Mixup',
          balanceAmount: '1',
          currency: 'USD',
        },
      });
      expect(fieldPaths(foreignConnection)).toEqual(['input.connectionId']);
    });
  });

  describe('account state', () => {
    const ACCEPT =
      `mutation($version: String!, $userId: ID) { acceptLegalAgreement(version: $version, userId: $userId) ` +
      `{ id legalAgreementVersions { version acceptedAt } } }`;
    const PREFS =
      `mutation($input: NotificationPreferencesInput!, $userId: ID) { updateNotificationPreferences(input: ` +
      `$input, userId: $userId) { notificationPreferences { email sms push } } }`;
    const CLOSE = `mutation($userId: ID) { closeAccount(userId: $userId) { id status closedAt } }`;

    it('acceptLegalAgreement appends each version once', async () => {
      const user = await registerConsumer();
      const first = await asApp(ACCEPT, { version: '2024-06', userId: user.id });
      expect(first.errors).toBeUndefined();
      const again = await asApp(ACCEPT, { version: '2024-06', userId: user.id });
      expect(again.data!.acceptLegalAgreement.legalAgreementVersions).toEqual(first.data!.acceptLegalAgreement.legalAgreementVersions);
      const next = await asApp(ACCEPT, { version: 'v3.1', userId: user.id });
      expect(next.data!.acceptLegalAgreement.legalAgreementVersions.map((v: any) => v.version)).toEqual(['2024-06', 'v3.1']);
      const bad = await asApp(ACCEPT, { version: 'has space', userId: user.id });
      expect(fieldPaths(bad)).toEqual(['version']);
    });

    it('acts on the signed-in user without userId; an application must name the user', async () => {
      const self = await gql(url(), ACCEPT, { version: '2024-06' }, bearer(acmeMember.jwt));
      expect(self.errors).toBeUndefined();
      expect(self.data!.acceptLegalAgreement.id).toBe(acmeMember.id);
      const noUser = await asApp(ACCEPT, { version: '2024-06' });
      expect(codeOf(noUser)).toBe('BAD_USER_INPUT');
      expect(fieldPaths(noUser)).toEqual(['userId']);
      const other = await registerConsumer();
      const memberOnOther = await gql(url(), ACCEPT, { version: '2024-06', userId: other.id }, bearer(acmeMember.jwt));
      expect(codeOf(memberOnOther)).toBe('FORBIDDEN');
      const adminOnOther = await gql(url(), ACCEPT, { version: '2024-06', userId: other.id }, bearer(acmeAdmin));
      expect(adminOnOther.data!.acceptLegalAgreement.id).toBe(other.id);
      const anonymous = await gql(url(), ACCEPT, { version: '2024-06' });
      expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    });

    it('updateNotificationPreferences changes only the channels given', async () => {
      const user = await registerConsumer();
      const sms = await asApp(PREFS, { input: { sms: true }, userId: user.id });
      expect(sms.data!.updateNotificationPreferences.notificationPreferences).toEqual({ email: false, sms: true, push: false });
      const email = await asApp(PREFS, { input: { email: true, push: null }, userId: user.id });
      expect(email.data!.updateNotificationPreferences.notificationPreferences).toEqual({ email: true, sms: true, push: false });
    });

    it('closeAccount sets CLOSED and closedAt, keeps the record, and is idempotent', async () => {
      const user = await registerConsumer();
      const first = await asApp(CLOSE, { userId: user.id });
      expect(first.errors).toBeUndefined();
      expect(first.data!.closeAccount).toMatchObject({ id: user.id, status: 'CLOSED', closedAt: expect.any(String) });
      const second = await asApp(CLOSE, { userId: user.id });
      expect(second.data!.closeAccount).toEqual(first.data!.closeAccount);
      expect(await users().countDocuments({ _id: user.id as string })).toBe(1);
    });
  });
});
