import { describe, expect, it } from 'vitest';
import { COMMON_PASSWORDS } from './common-passwords.js';
import { isCommonPassword, passwordSchema } from './password.js';
import { expectRejectsNonStrings, messageOf, messagesOf, valueOf } from './test-support/helpers.js';

describe('COMMON_PASSWORDS', () => {
  it('holds 10,000 distinct lower-case entries of at least 8 characters', () => {
    expect(COMMON_PASSWORDS).toHaveLength(10_000);
    expect(new Set(COMMON_PASSWORDS).size).toBe(10_000);
    for (const p of COMMON_PASSWORDS) {
      expect(p).toBe(p.toLowerCase());
      // eslint-disable-next-line @typescript-eslint/no-misused-spread -- counting code points is the point
      expect([...p].length).toBeGreaterThanOrEqual(8);
    }
  });

  it('starts with the most common one', () => {
    expect(COMMON_PASSWORDS[0]).toBe('password');
  });
});

describe('isCommonPassword', () => {
  it('is case-insensitive and ignores surrounding spaces', () => {
    expect(isCommonPassword('password')).toBe(true);
    expect(isCommonPassword('PassWord')).toBe(true);
    expect(isCommonPassword(' password ')).toBe(true);
    expect(isCommonPassword('womprats!1977')).toBe(false);
  });
});

describe('passwordSchema', () => {
  it('accepts an uncommon password unchanged', () => {
    expect(COMMON_PASSWORDS).not.toContain('womprats!1977');
    expect(valueOf(passwordSchema, 'womprats!1977')).toBe('womprats!1977');
  });

  it('does not trim: spaces are part of the password', () => {
    expect(valueOf(passwordSchema, '  correct horse battery staple  ')).toBe('  correct horse battery staple  ');
  });

  it.each(['password', 'PASSWORD', 'Password', 'qwertyuiop', '12345678', 'iloveyou1'])('rejects the common %s', (pw) => {
    expect(messageOf(passwordSchema, pw)).toBe('is too common');
  });

  it('counts code points for the boundaries', () => {
    expect(messageOf(passwordSchema, 'zQ7!xk2')).toBe('must be at least 8 characters');
    expect(valueOf(passwordSchema, 'zQ7!xk2#')).toBe('zQ7!xk2#');
    // Four emoji are 8 UTF-16 units but only 4 characters.
    expect(messageOf(passwordSchema, '🔑🔑🔑🔑')).toBe('must be at least 8 characters');
    expect(valueOf(passwordSchema, '🔑🔑🔑🔑🔑🔑🔑🔑')).toBe('🔑🔑🔑🔑🔑🔑🔑🔑');
    const max = 'a1b2c3d4'.repeat(16);
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- counting code points is the point
    expect([...max]).toHaveLength(128);
    expect(valueOf(passwordSchema, max)).toBe(max);
    expect(messageOf(passwordSchema, `${max}x`)).toBe('must be at most 128 characters');
    expect(valueOf(passwordSchema, '🔑'.repeat(128))).toBe('🔑'.repeat(128));
    expect(messageOf(passwordSchema, '🔑'.repeat(129))).toBe('must be at most 128 characters');
  });

  it('accepts unicode passphrases', () => {
    expect(valueOf(passwordSchema, 'Zoë mañana 東京 ünïcödé')).toBe('Zoë mañana 東京 ünïcödé');
  });

  it('rejects control characters', () => {
    expect(messageOf(passwordSchema, 'womprats\u0000!1977')).toBe('must not contain control characters');
    expect(messageOf(passwordSchema, 'womprats!1977\n')).toBe('must not contain control characters');
  });

  it('gives one error for a huge string', () => {
    expect(messageOf(passwordSchema, 'x'.repeat(2_000_000))).toBe('must be at most 128 characters');
  });

  it('never echoes the password in messages', () => {
    for (const pw of ['short', 'password', 'womprats\u0000!1977', 'p'.repeat(200)]) {
      for (const m of messagesOf(passwordSchema, pw)) expect(m).not.toContain(pw);
    }
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(passwordSchema);
  });
});
