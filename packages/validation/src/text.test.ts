import { describe, expect, it } from 'vitest';
import { codePointLength, CONTROL_CHARACTERS, singleLineText } from './text.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

describe('codePointLength', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('Zoë')).toBe(3);
    expect(codePointLength('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
  });
});

describe('CONTROL_CHARACTERS', () => {
  it('matches C0, DEL and C1 controls only', () => {
    for (const c of ['\u0000', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f']) {
      expect(CONTROL_CHARACTERS.test(`a${c}b`), JSON.stringify(c)).toBe(true);
    }
    for (const c of [' ', '~', '\u00a0', 'é', '’', '😀']) {
      expect(CONTROL_CHARACTERS.test(`a${c}b`), JSON.stringify(c)).toBe(false);
    }
  });
});

describe('singleLineText', () => {
  const schema = singleLineText({ min: 2, max: 5 });

  it('trims and NFC-normalises', () => {
    expect(valueOf(schema, '  abc \n')).toBe('abc');
    expect(valueOf(schema, 'Zoe\u0308')).toBe('Zo\u00eb');
  });

  it('enforces boundaries in code points after trimming', () => {
    expect(valueOf(schema, 'ab')).toBe('ab');
    expect(valueOf(schema, 'abcde')).toBe('abcde');
    expect(valueOf(schema, '😀😀😀😀😀')).toBe('😀😀😀😀😀');
    expect(messageOf(schema, 'a')).toBe('must be at least 2 characters');
    expect(messageOf(schema, '   a   ')).toBe('must be at least 2 characters');
    expect(messageOf(schema, 'abcdef')).toBe('must be at most 5 characters');
    expect(messageOf(schema, '😀😀😀😀😀😀')).toBe('must be at most 5 characters');
  });

  it('says "must not be empty" when the minimum is one', () => {
    expect(messageOf(singleLineText({ max: 5 }), '   ')).toBe('must not be empty');
  });

  it('allows empty text when min is 0', () => {
    expect(valueOf(singleLineText({ min: 0, max: 5 }), '  ')).toBe('');
  });

  it('rejects inner control characters', () => {
    expect(messageOf(schema, 'a\u0000b')).toBe('must not contain control characters');
    expect(messageOf(schema, 'a\nb')).toBe('must not contain control characters');
    expect(messageOf(schema, 'a\u007fb')).toBe('must not contain control characters');
  });

  it('keeps surrounding whitespace when trim is off', () => {
    expect(valueOf(singleLineText({ max: 5, trim: false }), ' a ')).toBe(' a ');
  });

  it('reports a single length error for a huge string', () => {
    expect(messageOf(schema, 'x'.repeat(1_000_000))).toBe('must be at most 5 characters');
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(schema);
  });
});
