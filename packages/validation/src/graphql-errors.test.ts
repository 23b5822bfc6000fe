import { describe, expect, it } from 'vitest';
import { badUserInputExtensions, badUserInputMessage, BAD_USER_INPUT } from './graphql-errors.js';

const ERRORS = [
  { path: ['input', 'telephone'], message: 'is not a valid phone number' },
  { path: ['input', 'password'], message: 'is too common' },
];

describe('badUserInputExtensions', () => {
  it('uses the BAD_USER_INPUT code and dotted paths', () => {
    expect(badUserInputExtensions(ERRORS)).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [
        { path: 'input.telephone', message: 'is not a valid phone number' },
        { path: 'input.password', message: 'is too common' },
      ],
    });
    expect(BAD_USER_INPUT).toBe('BAD_USER_INPUT');
  });

  it('keeps array indexes in the dotted path', () => {
    expect(badUserInputExtensions([{ path: ['input', 'licenses', '1'], message: 'x' }]).fields).toEqual([
      { path: 'input.licenses.1', message: 'x' },
    ]);
  });

  it('handles no errors and the root path', () => {
    expect(badUserInputExtensions([])).toEqual({ code: 'BAD_USER_INPUT', fields: [] });
    expect(badUserInputExtensions([{ path: [], message: 'is required' }]).fields).toEqual([{ path: '', message: 'is required' }]);
  });
});

describe('badUserInputMessage', () => {
  it('joins "<field> <message>" pairs', () => {
    expect(badUserInputMessage(ERRORS)).toBe('Invalid input: telephone is not a valid phone number; password is too common');
  });

  it('names the field of an array entry and falls back to "input"', () => {
    expect(badUserInputMessage([{ path: ['input', 'licenses', '1'], message: 'must be one of A, B' }])).toBe(
      'Invalid input: licenses must be one of A, B',
    );
    expect(badUserInputMessage([{ path: [], message: 'has an unknown field "x"' }])).toBe('Invalid input: input has an unknown field "x"');
  });

  it('is plain "Invalid input" without errors', () => {
    expect(badUserInputMessage([])).toBe('Invalid input');
  });
});
