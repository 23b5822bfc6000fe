import { describe, expect, it } from 'vitest';
import { createSecretBox, generateEncryptionKey, isEncryptionKey } from './secret-box.js';

describe('createSecretBox', () => {
  const box = createSecretBox(generateEncryptionKey());

  it('round-trips, including empty and non-ASCII text', () => {
    for (const text of ['', 'hello', '85061512345', 'żółć 🔑 ключ', 'x'.repeat(10_000)]) {
      expect(box.decrypt(box.encrypt(text))).toBe(text);
    }
  });

  it('uses a fresh IV: the same text seals differently and not in the clear', () => {
    const a = box.encrypt('85061512345');
    const b = box.encrypt('85061512345');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/);
    expect(a).not.toContain('85061512345');
  });

  it('detects tampering with the ciphertext, tag or IV', () => {
    const sealed = box.encrypt('the national id');
    const parts = sealed.split('.');
    const flip = (s: string) => {
      const buf = Buffer.from(s, 'base64url');
      buf[0] = buf[0]! ^ 0x01;
      return buf.toString('base64url');
    };
    for (const index of [1, 2, 3]) {
      const tampered = parts.map((p, i) => (i === index ? flip(p) : p)).join('.');
      expect(() => box.decrypt(tampered), `part ${index}`).toThrow();
    }
  });

  it('refuses a value sealed with another key', () => {
    const other = createSecretBox(generateEncryptionKey());
    expect(() => other.decrypt(box.encrypt('secret'))).toThrow();
  });

  it('refuses unknown formats', () => {
    const [, iv, tag, ct] = box.encrypt('x').split('.');
    expect(() => box.decrypt(`v2.${iv}.${tag}.${ct}`)).toThrow('unrecognised sealed value');
    expect(() => box.decrypt('garbage')).toThrow('unrecognised sealed value');
  });

  it('requires a 32-byte key', () => {
    expect(() => createSecretBox(Buffer.alloc(16).toString('base64'))).toThrow('32 bytes');
    expect(isEncryptionKey(generateEncryptionKey())).toBe(true);
    expect(isEncryptionKey(Buffer.alloc(31).toString('base64'))).toBe(false);
  });
});
