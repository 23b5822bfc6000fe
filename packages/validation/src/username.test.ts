import { describe, expect, it } from 'vitest';
import { normalizeUsername, usernameSchema } from './username.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

describe('usernameSchema', () => {
  it.each(['abc', 'Jane_Doe', 'jane.doe', 'jane-doe', '007bond', 'a1_', 'x'.repeat(32)])('accepts %s', (name) => {
    expect(valueOf(usernameSchema, name)).toBe(name);
  });

  it('trims and keeps case', () => {
    expect(valueOf(usernameSchema, '  JaneDoe ')).toBe('JaneDoe');
  });

  it('enforces 3..32 characters', () => {
    expect(messageOf(usernameSchema, 'ab')).toBe('must be at least 3 characters');
    expect(messageOf(usernameSchema, 'x'.repeat(33))).toBe('must be at most 32 characters');
    expect(messageOf(usernameSchema, '')).toBe('must be at least 3 characters');
  });

  it.each(['_jane', '.jane', '-jane'])('requires %s to start with a letter or digit', (name) => {
    expect(messageOf(usernameSchema, name)).toBe('must start with a letter or digit');
  });

  it.each(['jane doe', 'jane@doe', 'jané', 'раul', 'jane/doe', 'jane😀'])('rejects the characters of %s', (name) => {
    expect(messageOf(usernameSchema, name)).toBe('must contain only letters, digits, underscores, dots and dashes');
  });

  it('rejects control characters', () => {
    expect(messageOf(usernameSchema, 'ja\u0000ne')).toBe('must not contain control characters');
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(usernameSchema);
  });
});

describe('normalizeUsername', () => {
  it('lower-cases and trims', () => {
    expect(normalizeUsername(' Jane_Doe ')).toBe('jane_doe');
  });
});
