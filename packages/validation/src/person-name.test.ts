import { describe, expect, it } from 'vitest';
import { nameInputSchema, personNameSchema } from './person-name.js';
import { expectRejectsNonStrings, messageOf, messagesOf, valueOf } from './test-support/helpers.js';

describe('personNameSchema', () => {
  it.each([
    'Zoë',
    'José',
    "O'Brien",
    'O’Brien',
    'Mary-Jane',
    'J. R. R.',
    'van der Berg',
    'Nguyễn',
    'Ødegård',
    'Łukasz',
    'Владимир',
    '李',
    'محمد',
    'देवनागरी',
    'X',
  ])('accepts %s', (name) => {
    expect(valueOf(personNameSchema, name)).toBe(name);
  });

  it('trims and composes decomposed accents', () => {
    expect(valueOf(personNameSchema, '  Zoe\u0308  ')).toBe('Zo\u00eb');
  });

  it('enforces 1..100 characters after trimming', () => {
    expect(messageOf(personNameSchema, '')).toBe('must not be empty');
    expect(messageOf(personNameSchema, '   ')).toBe('must not be empty');
    expect(valueOf(personNameSchema, 'a'.repeat(100))).toBe('a'.repeat(100));
    expect(valueOf(personNameSchema, 'ë'.repeat(100))).toBe('ë'.repeat(100));
    expect(messageOf(personNameSchema, 'a'.repeat(101))).toBe('must be at most 100 characters');
    expect(messageOf(personNameSchema, 'a'.repeat(1_000_000))).toBe('must be at most 100 characters');
  });

  it.each(['R2D2', 'Jane_Doe', 'Jane<script>', 'Jane@home', 'Jane😀', 'Jane "JJ"'])('rejects the characters of %s', (name) => {
    expect(messageOf(personNameSchema, name)).toBe('must contain only letters, spaces, apostrophes, hyphens and periods');
  });

  it('requires at least one letter', () => {
    expect(messageOf(personNameSchema, "'.-")).toBe('must contain a letter');
  });

  it('rejects control characters', () => {
    expect(messageOf(personNameSchema, 'Zo\u0000ë')).toBe('must not contain control characters');
    expect(messageOf(personNameSchema, 'Zo\në')).toBe('must not contain control characters');
    expect(messageOf(personNameSchema, 'Zo\u009bë')).toBe('must not contain control characters');
  });

  it('rejects non-strings, naming the type', () => {
    expectRejectsNonStrings(personNameSchema);
  });
});

describe('nameInputSchema', () => {
  it('accepts first and last, middle optional or null', () => {
    expect(valueOf(nameInputSchema, { first: ' Zoë ', last: "O'Brien" })).toEqual({ first: 'Zoë', last: "O'Brien" });
    expect(valueOf(nameInputSchema, { first: 'José', middle: 'María', last: 'García' })).toEqual({
      first: 'José',
      middle: 'María',
      last: 'García',
    });
    expect(valueOf(nameInputSchema, { first: 'A', middle: null, last: 'B' })).toEqual({ first: 'A', middle: null, last: 'B' });
  });

  it('reports each bad field at its path', () => {
    const result = messagesOf(nameInputSchema, { first: '', middle: 5 });
    expect(result).toEqual(['must not be empty', 'must be a string, not a number', 'is required']);
  });

  it('rejects unknown keys and non-objects', () => {
    expect(messageOf(nameInputSchema, { first: 'A', last: 'B', admin: true })).toBe('has an unknown field "admin"');
    expect(messageOf(nameInputSchema, 'Jane Doe')).toBe('must be an object, not a string');
    expect(messageOf(nameInputSchema, null)).toBe('must be an object, not null');
  });
});
