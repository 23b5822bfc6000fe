import { describe, expect, it } from 'vitest';
import { slugSchema } from './slug.js';
import { expectRejectsNonStrings, messageOf, valueOf } from './test-support/helpers.js';

const FORMAT = 'must contain only lowercase letters, digits and single dashes, and not start or end with a dash';

describe('slugSchema', () => {
  it.each(['ab', 'acme', 'acme-corp', 'a1-b2-c3', '42', 'x'.repeat(63)])('accepts %s', (slug) => {
    expect(valueOf(slugSchema, slug)).toBe(slug);
  });

  it('trims', () => {
    expect(valueOf(slugSchema, ' acme ')).toBe('acme');
  });

  it('enforces 2..63 characters', () => {
    expect(messageOf(slugSchema, 'a')).toBe('must be at least 2 characters');
    expect(messageOf(slugSchema, 'x'.repeat(64))).toBe('must be at most 63 characters');
  });

  it.each(['Acme', 'acme--corp', '-acme', 'acme-', 'acme corp', 'acme_corp', 'acmé', 'acme.io', 'a/b'])('rejects %s', (slug) => {
    expect(messageOf(slugSchema, slug)).toBe(FORMAT);
  });

  it('rejects control characters and non-strings', () => {
    expect(messageOf(slugSchema, 'ac\u0000me')).toBe('must not contain control characters');
    expectRejectsNonStrings(slugSchema);
  });
});
