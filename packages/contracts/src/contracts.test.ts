import { describe, expect, it } from 'vitest';
import { validate } from '@usergraph/validation';
import { identityCommands, licensingCommands, orgUsersCommands, profileSchema, type CommandContract } from './index.js';

const all: Array<[string, Record<string, CommandContract>]> = [
  ['identity', identityCommands],
  ['org-users', orgUsersCommands],
  ['licensing', licensingCommands],
];

describe('the command contracts', () => {
  it('name each command by its key and its serving service, and accept callers other than that service', () => {
    for (const [service, commands] of all) {
      for (const [key, contract] of Object.entries(commands)) {
        expect([contract.name, contract.service], key).toEqual([key, service]);
        expect(contract.callers.length, key).toBeGreaterThan(0);
        expect(contract.callers, key).not.toContain(service);
      }
    }
  });

  it('refuse an input that breaks the contract, naming every broken field', () => {
    const profile = validate(orgUsersCommands.createProfile.input, {
      userId: 'u1',
      organizationId: 'o1',
      email: 'ada@example.com',
      firstName: 'Ada',
      status: 'RETIRED',
      dateOfBirth: '1815-12-1',
    });
    expect(profile.ok ? [] : profile.errors.map((e) => e.path.join('.'))).toEqual(['lastName', 'status', 'dateOfBirth']);
    // The owner's own rules, not only the shape: a weak password and a malformed username are refused at the door.
    const credentials = validate(identityCommands.createCredentials.input, {
      organizationId: 'o1',
      userId: 'u1',
      username: '.x',
      password: 'password',
    });
    expect(credentials.ok ? [] : credentials.errors.map((e) => e.path.join('.'))).toEqual(['username', 'password']);
    const license = validate(licensingCommands.revokeLicenses.input, { organizationId: 'o1', userId: 'u1', licenses: ['SUPERUSER'] });
    expect(license.ok ? [] : license.errors.map((e) => e.path.join('.'))).toEqual(['licenses.0']);
  });

  it('take an address field sent as null (B\'s "no value"), and refuse a key the owner does not declare', () => {
    const parsed = validate(orgUsersCommands.createProfile.input, {
      userId: 'u1',
      organizationId: 'o1',
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      status: 'ACTIVE',
      addresses: [{ city: 'London', description: null }],
    });
    expect(parsed.ok && parsed.value.addresses).toEqual([{ city: 'London', description: null }]);
    const unknownKey = validate(orgUsersCommands.createProfile.input, {
      userId: 'u1',
      organizationId: 'o1',
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      status: 'ACTIVE',
      addresses: [{ city: 'London', planet: 'Earth' }],
    });
    expect(unknownKey.ok ? [] : unknownKey.errors.map((e) => e.path.join('.'))).toEqual(['addresses.0']);
  });

  it('refuse an output that breaks the contract: a profile without its status, or with a date as a number', () => {
    const profile = {
      id: 'u1',
      organizationId: 'o1',
      email: 'ada@example.com',
      phoneNumber: null,
      firstName: 'Ada',
      lastName: 'Lovelace',
      name: 'Ada Lovelace',
      status: 'ACTIVE',
      organisation: null,
      taxNumber: null,
      dateOfBirth: null,
      isSubscribed: false,
      addresses: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      syncedAt: null,
      closedAt: null,
      emailVerified: true,
      jobTitle: null,
      legalName: { first: 'Ada', middle: null, last: 'Lovelace' },
      nationalIdLast4: null,
      visitorId: null,
      notificationPreferences: { email: false, sms: false, push: false },
      legalAgreementVersions: [],
      pending: null,
    };
    expect(validate(profileSchema, profile).ok).toBe(true);
    const { status: _status, ...withoutStatus } = profile;
    const broken = validate(profileSchema, { ...withoutStatus, createdAt: 1767225600000 });
    expect(broken.ok ? [] : broken.errors.map((e) => e.path.join('.'))).toEqual(['status', 'createdAt']);
  });
});
