import { describe, expect, it } from 'vitest';
import { licenseSetSchema, licenseTypeSchema } from './license.js';
import { validate } from './field-errors.js';
import { messageOf, valueOf } from './test-support/helpers.js';

describe('licenseTypeSchema', () => {
  it.each(['VIEWER', 'AUTHOR', 'ANALYST', 'ADMIN'])('accepts %s', (type) => {
    expect(valueOf(licenseTypeSchema, type)).toBe(type);
  });

  it.each(['viewer', 'OWNER', '', ' ADMIN'])('rejects %s', (type) => {
    expect(messageOf(licenseTypeSchema, type)).toBe('must be one of VIEWER, AUTHOR, ANALYST, ADMIN');
  });

  it('rejects non-strings', () => {
    expect(messageOf(licenseTypeSchema, 1)).toBe('must be one of VIEWER, AUTHOR, ANALYST, ADMIN');
    expect(messageOf(licenseTypeSchema, undefined)).toBe('must be one of VIEWER, AUTHOR, ANALYST, ADMIN');
  });
});

describe('licenseSetSchema', () => {
  it.each([[[]], [['VIEWER']], [['AUTHOR']], [['ANALYST', 'VIEWER']], [['ANALYST', 'AUTHOR', 'ADMIN']], [['ADMIN', 'VIEWER', 'ANALYST']]])(
    'accepts %j',
    (set) => {
      expect(valueOf(licenseSetSchema, set)).toEqual(set);
    },
  );

  it('rejects AUTHOR with VIEWER', () => {
    expect(messageOf(licenseSetSchema, ['AUTHOR', 'VIEWER'])).toBe('cannot combine AUTHOR and VIEWER');
    expect(messageOf(licenseSetSchema, ['VIEWER', 'ANALYST', 'AUTHOR'])).toBe('cannot combine AUTHOR and VIEWER');
  });

  it('rejects duplicates', () => {
    expect(messageOf(licenseSetSchema, ['ADMIN', 'ADMIN'])).toBe('must not contain the same license twice');
  });

  it('rejects more than four entries', () => {
    expect(messageOf(licenseSetSchema, ['ADMIN', 'ANALYST', 'AUTHOR', 'ADMIN', 'VIEWER'])).toBe('must be at most 4 items');
    expect(
      messageOf(
        licenseSetSchema,
        Array.from({ length: 100_000 }, () => 'NOPE'),
      ),
    ).toBe('must be at most 4 items');
  });

  it('reports every broken rule of the set: a repeat and AUTHOR with VIEWER', () => {
    expect(validate(licenseSetSchema, ['AUTHOR', 'VIEWER', 'AUTHOR'], ['requestedLicenses'])).toEqual({
      ok: false,
      errors: [
        { path: ['requestedLicenses'], message: 'must not contain the same license twice' },
        { path: ['requestedLicenses'], message: 'cannot combine AUTHOR and VIEWER' },
      ],
    });
  });

  it('reports a bad entry at its index', () => {
    expect(validate(licenseSetSchema, ['ADMIN', 'OWNER'], ['input', 'licenses'])).toEqual({
      ok: false,
      errors: [{ path: ['input', 'licenses', '1'], message: 'must be one of VIEWER, AUTHOR, ANALYST, ADMIN' }],
    });
  });

  it('rejects non-arrays, naming the type', () => {
    expect(messageOf(licenseSetSchema, 'ADMIN')).toBe('must be an array, not a string');
    expect(messageOf(licenseSetSchema, { 0: 'ADMIN' })).toBe('must be an array, not an object');
    expect(messageOf(licenseSetSchema, null)).toBe('must be an array, not null');
  });
});
