import { describe, expect, it } from 'vitest';
import { addressInputSchema, countryCodeSchema, objectIdSchema } from './address.js';
import { validate } from './field-errors.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

const FULL = {
  _id: '65A1B2C3D4E5F60718293A4B',
  description: 'Head office',
  firstName: 'Zoë',
  lastName: "O'Brien",
  addressLine1: '10 Downing Street',
  addressLine2: '',
  streetNumber: '10',
  city: 'London',
  state: 'Greater London',
  stateCode: 'LND',
  postCode: 'SW1A 2AA',
  country: 'United Kingdom',
  alpha2: 'gb',
  type: 'billing',
};

describe('addressInputSchema', () => {
  it('accepts every field, trimming and normalising codes', () => {
    expect(valueOf(addressInputSchema, { ...FULL, city: '  London  ' })).toEqual({
      ...FULL,
      _id: '65a1b2c3d4e5f60718293a4b',
      alpha2: 'GB',
    });
  });

  it('accepts an empty object and null fields', () => {
    expect(valueOf(addressInputSchema, {})).toEqual({});
    expect(valueOf(addressInputSchema, { city: null, alpha2: null, _id: null })).toEqual({ city: null, alpha2: null, _id: null });
  });

  it('rejects unknown keys (strict)', () => {
    expect(messageOf(addressInputSchema, { city: 'Paris', zip: '75001' })).toBe('has an unknown field "zip"');
  });

  it('limits free-text fields to 200 characters and type to 50', () => {
    expect(valueOf(addressInputSchema, { addressLine1: 'a'.repeat(200) })).toEqual({ addressLine1: 'a'.repeat(200) });
    expect(messageOf(addressInputSchema, { addressLine1: 'a'.repeat(201) })).toBe('must be at most 200 characters');
    expect(valueOf(addressInputSchema, { type: 't'.repeat(50) })).toEqual({ type: 't'.repeat(50) });
    expect(messageOf(addressInputSchema, { type: 't'.repeat(51) })).toBe('must be at most 50 characters');
  });

  it('reports the path of each bad field', () => {
    const result = validate(addressInputSchema, { city: 'Lon\u0000don', postCode: '!', alpha2: 'ZZ', stateCode: 'ABCD' }, [
      'input',
      'address',
    ]);
    expect(result).toEqual({
      ok: false,
      errors: [
        { path: ['input', 'address', 'city'], message: 'must not contain control characters' },
        { path: ['input', 'address', 'stateCode'], message: 'must be at most 3 characters' },
        { path: ['input', 'address', 'postCode'], message: 'must be at least 2 characters' },
        { path: ['input', 'address', 'alpha2'], message: 'is not an ISO 3166-1 alpha-2 country code' },
      ],
    });
  });

  it('validates stateCode and postCode', () => {
    expect(valueOf(addressInputSchema, { stateCode: 'CA', postCode: '94103-1234' })).toEqual({ stateCode: 'CA', postCode: '94103-1234' });
    expect(valueOf(addressInputSchema, { stateCode: '1' })).toEqual({ stateCode: '1' });
    expect(messageOf(addressInputSchema, { stateCode: 'C-A' })).toBe('must be 1 to 3 letters or digits');
    expect(messageOf(addressInputSchema, { stateCode: '' })).toBe('must not be empty');
    expect(messageOf(addressInputSchema, { postCode: 'SW1A_2AA' })).toBe('must contain only letters, digits, spaces and dashes');
    expect(messageOf(addressInputSchema, { postCode: '1234567890123' })).toBe('must be at most 12 characters');
  });

  it('rejects non-string fields, naming the type', () => {
    expect(messageOf(addressInputSchema, { city: { $gt: '' } })).toBe('must be a string, not an object');
    expect(messageOf(addressInputSchema, { postCode: 75001 })).toBe('must be a string, not a number');
  });

  it('rejects non-objects', () => {
    expect(messageOf(addressInputSchema, 'London')).toBe('must be an object, not a string');
    expect(messageOf(addressInputSchema, [])).toBe('must be an object, not an array');
  });
});

describe('objectIdSchema', () => {
  it('accepts 24 hex characters, lower-cased', () => {
    expect(valueOf(objectIdSchema, '65A1B2C3D4E5F60718293A4B')).toBe('65a1b2c3d4e5f60718293a4b');
  });

  it('rejects other lengths and characters', () => {
    expect(messageOf(objectIdSchema, '65a1b2c3d4e5f60718293a4')).toBe('must be at least 24 characters');
    expect(messageOf(objectIdSchema, '65a1b2c3d4e5f60718293a4bc')).toBe('must be at most 24 characters');
    expect(messageOf(objectIdSchema, '65a1b2c3d4e5f60718293a4g')).toBe('must be 24 hexadecimal characters');
    expectRejectsNonStrings(objectIdSchema);
  });
});

describe('countryCodeSchema', () => {
  it.each([
    ['GB', 'GB'],
    ['us', 'US'],
    [' de ', 'DE'],
    ['aq', 'AQ'],
  ])('accepts %s as %s', (input, output) => {
    expect(valueOf(countryCodeSchema, input)).toBe(output);
  });

  it.each(['UK', 'XK', 'EU', 'ZZ', '12'])('rejects %s', (code) => {
    expect(messageOf(countryCodeSchema, code)).toBe('is not an ISO 3166-1 alpha-2 country code');
  });

  it('rejects other lengths and non-strings', () => {
    expect(messageOf(countryCodeSchema, 'USA')).toBe('must be at most 2 characters');
    expect(messageOf(countryCodeSchema, 'U')).toBe('must be at least 2 characters');
    expectRejectsNonStrings(countryCodeSchema);
  });
});
