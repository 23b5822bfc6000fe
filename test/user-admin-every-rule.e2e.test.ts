/**
 * Issue 13, "D reports every broken rule at once": createUser and updateUser
 * answer with the complete list of broken rules, Rails-validations style, each
 * at its own path: profile fields, licenses, groups, origin group, taken
 * email / phone / username and seats together, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message fullMessage } user { id } } }`;
const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message fullMessage } user { id } } }`;

describe('D: every broken rule at once', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let adminJwt: string;
  let identityDb: Connection;
  let orgUsersDb: Connection;
  let licensingDb: Connection;

  beforeAll(async () => {
    const started = await startTestStack();
    ({ stack, dataDir } = started);
    const prefix = started.options.databasePrefix ?? '';
    acme = await bootstrapOrganization(dataDir, 'acme');
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    identityDb = await openDatabase(stack, prefix, 'identity');
    orgUsersDb = await openDatabase(stack, prefix, 'orgusers');
    licensingDb = await openDatabase(stack, prefix, 'licensing');
    expect((await q('mutation { createGroup(name: "JEDI") { name } }')).errors).toBeUndefined();
  });

  afterAll(async () => {
    await identityDb?.close();
    await orgUsersDb?.close();
    await licensingDb?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const q = (query: string, variables: Record<string, unknown> = {}) => gql(stack.gatewayUrl, query, variables, bearer(adminJwt));
  const counts = async () => ({
    credentials: await identityDb.collection('credentials').countDocuments(),
    profiles: await orgUsersDb.collection('users').countDocuments(),
    assignments: await licensingDb.collection('assignments').countDocuments(),
    groups: await licensingDb
      .collection('groups')
      .find({}, { projection: { _id: 0, name: 1, memberCount: 1 } })
      .sort({ name: 1 })
      .toArray(),
    seats: await licensingDb
      .collection('licensestates')
      .find({}, { projection: { _id: 0 } })
      .toArray(),
  });
  const err = (path: string[], message: string, fullMessage: string) => ({ path, message, fullMessage });

  // The three rules the issue names, each at its own path.
  const LICENSE_AND_GROUP_ERRORS = [
    err(['requestedLicenses'], 'cannot combine AUTHOR and VIEWER', 'Requested licenses cannot combine AUTHOR and VIEWER'),
    err(['requestedGroups', '1'], 'names no group of your organization', 'Requested groups names no group of your organization'),
    err(['requestedOriginGroup'], 'must be one of the requested groups', 'Requested origin group must be one of the requested groups'),
  ];
  const BAD_ASSIGNMENT = { requestedLicenses: ['VIEWER', 'AUTHOR'], requestedGroups: ['DEFAULT', 'NOPE'], requestedOriginGroup: 'JEDI' };

  let existing: { id: string; email: string; username: string; phone: string };

  it('createUser: profile field errors, licenses, groups and origin group in one answer, nothing written', async () => {
    const before = await counts();
    const res = await q(CREATE, {
      input: {
        user: {
          firstName: '',
          lastName: 'Organa',
          email: 'nope',
          credentials: { username: 'a', password: 'password' },
          phone: '555-123-4567',
          jobTitle: 'x'.repeat(101),
        },
        ...BAD_ASSIGNMENT,
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.createUser).toEqual({
      user: null,
      errors: [
        err(['user', 'firstName'], 'must not be empty', 'First name must not be empty'),
        err(['user', 'email'], 'is not a valid email address', 'Email is not a valid email address'),
        err(['user', 'credentials', 'username'], 'must be at least 3 characters', 'Username must be at least 3 characters'),
        err(['user', 'credentials', 'password'], 'is too common', 'Password is too common'),
        err(['user', 'phone'], 'is not a valid phone number', 'Phone is not a valid phone number'),
        err(['user', 'jobTitle'], 'must be at most 100 characters', 'Job title must be at most 100 characters'),
        ...LICENSE_AND_GROUP_ERRORS,
      ],
    });
    expect(await counts()).toEqual(before);
  });

  it('createUser: a taken email, phone and username come with the rule errors (checked before writing), nothing written', async () => {
    const label = `taken_${Math.random().toString(36).slice(2, 8)}`;
    existing = { id: '', email: uniqueEmail(label), username: label, phone: '+14155552671' };
    const created = await q(CREATE, {
      input: {
        user: {
          firstName: 'Leia',
          lastName: 'Organa',
          email: existing.email,
          phone: existing.phone,
          credentials: { username: label, password: 'Alderaan-Forever-77' },
        },
        requestedLicenses: ['VIEWER'],
      },
    });
    expect(created.data!.createUser.errors).toEqual([]);
    existing.id = created.data!.createUser.user.id;

    const before = await counts();
    const res = await q(CREATE, {
      input: {
        // Same values in another spelling: uniqueness compares normalized forms.
        user: {
          firstName: 'Luke',
          lastName: 'Skywalker',
          email: existing.email.toUpperCase(),
          phone: '+1 (415) 555-2671',
          credentials: { username: label.toUpperCase(), password: 'Tatooine-Sunset-77' },
        },
        ...BAD_ASSIGNMENT,
      },
    });
    expect(res.data!.createUser).toEqual({
      user: null,
      errors: [
        err(['user', 'email'], 'is already in use', 'Email is already in use'),
        err(['user', 'credentials', 'username'], 'is already in use', 'Username is already in use'),
        err(['user', 'phone'], 'is already in use', 'Phone is already in use'),
        ...LICENSE_AND_GROUP_ERRORS,
      ],
    });
    expect(await counts()).toEqual(before);
  });

  it('createUser: a full seat is reported with a bad origin group and a taken email', async () => {
    expect((await q('mutation { setSeatCap(license: AUTHOR, cap: 0) { license } }')).errors).toBeUndefined();
    try {
      const before = await counts();
      const res = await q(CREATE, {
        input: {
          user: {
            firstName: 'Luke',
            lastName: 'Skywalker',
            email: existing.email,
            credentials: { username: `free_${Math.random().toString(36).slice(2, 8)}`, password: 'Tatooine-Sunset-77' },
          },
          requestedLicenses: ['AUTHOR'],
          requestedGroups: ['DEFAULT'],
          requestedOriginGroup: 'JEDI',
        },
      });
      expect(res.data!.createUser).toEqual({
        user: null,
        errors: [
          err(['user', 'email'], 'is already in use', 'Email is already in use'),
          err(['requestedLicenses'], 'has no free AUTHOR seat (cap 0)', 'Requested licenses has no free AUTHOR seat (cap 0)'),
          err(
            ['requestedOriginGroup'],
            'must be one of the requested groups',
            'Requested origin group must be one of the requested groups',
          ),
        ],
      });
      expect(await counts()).toEqual(before);
    } finally {
      await q('mutation { setSeatCap(license: AUTHOR, cap: null) { license } }');
    }
  });

  it('updateUser: profile field errors, a taken email, licenses, groups and origin group in one answer, nothing written', async () => {
    const other = await q(CREATE, {
      input: {
        user: {
          firstName: 'Han',
          lastName: 'Solo',
          email: uniqueEmail('han'),
          credentials: { username: `han_${Math.random().toString(36).slice(2, 8)}`, password: 'Kessel-Run-12-Parsecs' },
        },
        requestedLicenses: ['VIEWER'],
      },
    });
    expect(other.data!.createUser.errors).toEqual([]);
    const hanId: string = other.data!.createUser.user.id;

    const before = await counts();
    const shapes = await q(UPDATE, {
      input: { id: hanId, user: { firstName: '', email: 'bad', phone: '555-123-4567' }, ...BAD_ASSIGNMENT },
    });
    expect(shapes.data!.updateUser).toEqual({
      user: null,
      errors: [
        err(['user', 'email'], 'is not a valid email address', 'Email is not a valid email address'),
        err(['user', 'firstName'], 'must not be empty', 'First name must not be empty'),
        err(['user', 'phone'], 'is not a valid phone number', 'Phone is not a valid phone number'),
        ...LICENSE_AND_GROUP_ERRORS,
      ],
    });

    const taken = await q(UPDATE, {
      input: { id: hanId, user: { firstName: 'Han', email: existing.email, phone: existing.phone }, ...BAD_ASSIGNMENT },
    });
    expect(taken.data!.updateUser).toEqual({
      user: null,
      errors: [
        err(['user', 'email'], 'is already in use', 'Email is already in use'),
        err(['user', 'phone'], 'is already in use', 'Phone is already in use'),
        ...LICENSE_AND_GROUP_ERRORS,
      ],
    });
    expect(await counts()).toEqual(before);
    const han = await q(`{ users(fullText: "han", first: 5) { nodes { id firstName email licenses groups originGroup } } }`);
    expect(han.data!.users.nodes).toEqual([
      expect.objectContaining({ id: hanId, firstName: 'Han', licenses: ['VIEWER'], groups: ['DEFAULT'], originGroup: null }),
    ]);
  });

  it('updateUser: removing the last ADMIN is reported together with a bad group and a bad email', async () => {
    const before = await counts();
    const res = await q(UPDATE, {
      input: { id: acme.admin.id, requestedLicenses: ['VIEWER'], requestedGroups: ['NOPE'], user: { email: 'bad' } },
    });
    expect(res.data!.updateUser).toEqual({
      user: null,
      errors: [
        err(['user', 'email'], 'is not a valid email address', 'Email is not a valid email address'),
        err(
          ['requestedLicenses'],
          'would remove the last ADMIN of the organization',
          'Requested licenses would remove the last ADMIN of the organization',
        ),
        err(['requestedGroups', '0'], 'names no group of your organization', 'Requested groups names no group of your organization'),
      ],
    });
    expect(await counts()).toEqual(before);
  });
});
