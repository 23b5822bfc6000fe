import { describe, expect, it } from 'vitest';
import { EMAIL_MAX_LENGTH, emailSchema, normalizeEmail } from './email.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

describe('emailSchema', () => {
  it.each(['user@example.com', 'first.last+tag@sub.example.co.uk', "o'brien@example.ie", 'a@b.io', 'USER@EXAMPLE.COM'])(
    'accepts %s',
    (email) => {
      expect(valueOf(emailSchema, email)).toBe(email);
    },
  );

  it('trims but keeps case', () => {
    expect(valueOf(emailSchema, '  Jane.Doe@Example.COM \n')).toBe('Jane.Doe@Example.COM');
  });

  it.each([
    'plainaddress',
    '@example.com',
    'user@',
    'user@example',
    'user@@example.com',
    'user name@example.com',
    'user@exa mple.com',
    'user@.example.com',
    'zoë@example.com',
    'a..b@example.com',
  ])('rejects %s', (email) => {
    expect(messageOf(emailSchema, email)).toBe('is not a valid email address');
  });

  it('rejects a local part over 64 characters', () => {
    expect(valueOf(emailSchema, `${'a'.repeat(64)}@example.com`)).toBe(`${'a'.repeat(64)}@example.com`);
    expect(messageOf(emailSchema, `${'a'.repeat(65)}@example.com`)).toBe('is not a valid email address');
  });

  it('accepts exactly 254 characters and rejects 255', () => {
    const domain = (n: number) => `${'d'.repeat(n - 4)}.com`;
    const at254 = `${'a'.repeat(64)}@${domain(254 - 65)}`;
    expect(at254).toHaveLength(EMAIL_MAX_LENGTH);
    expect(valueOf(emailSchema, at254)).toBe(at254);
    expect(messageOf(emailSchema, `${'a'.repeat(64)}@${domain(255 - 65)}`)).toBe('must be at most 254 characters');
  });

  it('rejects empty, control characters and huge input', () => {
    expect(messageOf(emailSchema, '   ')).toBe('must not be empty');
    expect(messageOf(emailSchema, 'user\u0000@example.com')).toBe('must not contain control characters');
    expect(messageOf(emailSchema, `${'a'.repeat(5_000_000)}@example.com`)).toBe('must be at most 254 characters');
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(emailSchema);
  });
});

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
  });
});
