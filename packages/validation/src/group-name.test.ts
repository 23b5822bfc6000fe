import { describe, expect, it } from 'vitest';
import { groupNameSchema } from './group-name.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

describe('groupNameSchema', () => {
  it.each(['A', 'ADMINS', 'SALES_EMEA', 'TEAM-42', '2024', 'X'.repeat(64)])('accepts %s', (name) => {
    expect(valueOf(groupNameSchema, name)).toBe(name);
  });

  it('trims', () => {
    expect(valueOf(groupNameSchema, ' ADMINS ')).toBe('ADMINS');
  });

  it.each(['admins', 'Admins', 'SALES_emea', 'ÉQUIPE'.toLowerCase()])('says %s must be UPPERCASE', (name) => {
    expect(messageOf(groupNameSchema, name)).toBe('must be UPPERCASE');
  });

  it.each(['SALES EMEA', 'SALES.EMEA', 'ÉQUIPE', 'A/B'])('rejects the characters of %s', (name) => {
    expect(messageOf(groupNameSchema, name)).toBe('must contain only uppercase letters, digits, underscores and dashes');
  });

  it('enforces 1..64 characters', () => {
    expect(messageOf(groupNameSchema, '')).toBe('must not be empty');
    expect(messageOf(groupNameSchema, 'X'.repeat(65))).toBe('must be at most 64 characters');
  });

  it('rejects control characters and non-strings', () => {
    expect(messageOf(groupNameSchema, 'A\u0000B')).toBe('must not contain control characters');
    expectRejectsNonStrings(groupNameSchema);
  });
});
