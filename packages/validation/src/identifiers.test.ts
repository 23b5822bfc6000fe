import { describe, expect, it } from 'vitest';
import { jobTitleSchema, organisationNameSchema } from './organisation.js';
import { taxNumberSchema } from './tax-number.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';
import { visitorIdSchema } from './visitor-id.js';

describe('visitorIdSchema', () => {
  it.each(['v', '0f8fad5b-d9cb-469f-a165-70867728950e', 'GA1.2.1234567890.1234567890', 'a b~!', 'x'.repeat(128)])('accepts %s', (id) => {
    expect(valueOf(visitorIdSchema, id)).toBe(id);
  });

  it('rejects non-ASCII, control characters and bad lengths', () => {
    expect(messageOf(visitorIdSchema, 'visitör')).toBe('must contain only printable ASCII characters');
    expect(messageOf(visitorIdSchema, 'a\u0000b')).toBe('must not contain control characters');
    expect(messageOf(visitorIdSchema, '')).toBe('must not be empty');
    expect(messageOf(visitorIdSchema, 'x'.repeat(129))).toBe('must be at most 128 characters');
    expectRejectsNonStrings(visitorIdSchema);
  });
});

describe('taxNumberSchema', () => {
  it.each(['GB123456789', 'DE 123/456/78901', '12.345.678/0001-90', 'X', '1'.repeat(32)])('accepts %s', (n) => {
    expect(valueOf(taxNumberSchema, n)).toBe(n);
  });

  it('rejects other characters and bad lengths', () => {
    const message = 'must contain only letters, digits, spaces, dashes, dots and slashes';
    expect(messageOf(taxNumberSchema, 'GB#123')).toBe(message);
    expect(messageOf(taxNumberSchema, 'GB_123')).toBe(message);
    expect(messageOf(taxNumberSchema, 'ÄB123')).toBe(message);
    expect(messageOf(taxNumberSchema, ' ')).toBe('must not be empty');
    expect(messageOf(taxNumberSchema, '1'.repeat(33))).toBe('must be at most 32 characters');
    expectRejectsNonStrings(taxNumberSchema);
  });
});

describe('organisationNameSchema', () => {
  it.each(['Acme', 'Société Générale', 'AT&T', '株式会社トヨタ', 'Ben & Jerry’s 🍦', 'o'.repeat(200)])('accepts %s', (n) => {
    expect(valueOf(organisationNameSchema, n)).toBe(n);
  });

  it('trims and rejects bad lengths and control characters', () => {
    expect(valueOf(organisationNameSchema, '  Acme  ')).toBe('Acme');
    expect(messageOf(organisationNameSchema, '')).toBe('must not be empty');
    expect(messageOf(organisationNameSchema, 'o'.repeat(201))).toBe('must be at most 200 characters');
    expect(messageOf(organisationNameSchema, 'Ac\nme')).toBe('must not contain control characters');
    expectRejectsNonStrings(organisationNameSchema);
  });
});

describe('jobTitleSchema', () => {
  it.each(['CTO', 'Head of R&D', 'Ingénieure logiciel', 'j'.repeat(100)])('accepts %s', (t) => {
    expect(valueOf(jobTitleSchema, t)).toBe(t);
  });

  it('rejects bad lengths and control characters', () => {
    expect(messageOf(jobTitleSchema, '  ')).toBe('must not be empty');
    expect(messageOf(jobTitleSchema, 'j'.repeat(101))).toBe('must be at most 100 characters');
    expect(messageOf(jobTitleSchema, 'C\u0007TO')).toBe('must not contain control characters');
    expectRejectsNonStrings(jobTitleSchema);
  });
});
