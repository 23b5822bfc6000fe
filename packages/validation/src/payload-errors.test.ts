import { describe, expect, it } from 'vitest';
import { humanizeFieldName, toPayloadErrors } from './payload-errors.js';

describe('humanizeFieldName', () => {
  it.each([
    ['firstName', 'First name'],
    ['requestedOriginGroup', 'Requested origin group'],
    ['email', 'Email'],
    ['addressLine1', 'Address line 1'],
    ['postCode', 'Post code'],
    ['_id', 'ID'],
    ['userId', 'User ID'],
    ['HTMLParser', 'HTML parser'],
    ['first_name', 'First name'],
    ['job-title', 'Job title'],
    ['SSN', 'SSN'],
    ['', ''],
  ])('%s → %s', (name, expected) => {
    expect(humanizeFieldName(name)).toBe(expected);
  });
});

describe('toPayloadErrors', () => {
  it('adds a full sentence named after the last field', () => {
    expect(
      toPayloadErrors([
        { path: ['user', 'firstName'], message: 'must be at most 100 characters' },
        { path: ['requestedOriginGroup'], message: 'must be UPPERCASE' },
        { path: ['input', 'licenses', '0'], message: 'must be one of A, B' },
        { path: [], message: 'has an unknown field "x"' },
      ]),
    ).toEqual([
      { path: ['user', 'firstName'], message: 'must be at most 100 characters', fullMessage: 'First name must be at most 100 characters' },
      { path: ['requestedOriginGroup'], message: 'must be UPPERCASE', fullMessage: 'Requested origin group must be UPPERCASE' },
      { path: ['input', 'licenses', '0'], message: 'must be one of A, B', fullMessage: 'Licenses must be one of A, B' },
      { path: [], message: 'has an unknown field "x"', fullMessage: 'Input has an unknown field "x"' },
    ]);
  });

  it('copies paths rather than sharing them', () => {
    const path = ['a'];
    const [out] = toPayloadErrors([{ path, message: 'x' }]);
    expect(out?.path).toEqual(['a']);
    expect(out?.path).not.toBe(path);
  });
});
