import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressOf, compileTrustedProxies, rateLimitKeyForIp } from './client-ip.js';

/** A request as a socket would deliver it: the peer address and the headers. */
const req = (peer: string, xff?: string) =>
  ({
    socket: { remoteAddress: peer },
    connection: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  }) as unknown as IncomingMessage;

describe('finding 8b: client address and per-IP keys', () => {
  it('with no trusted proxy (the default), X-Forwarded-For is never read', () => {
    const trust = compileTrustedProxies('');
    expect(clientAddressOf(req('198.51.100.1', '203.0.113.9'), trust)).toBe('198.51.100.1');
  });

  it('behind trusted proxies, walks X-Forwarded-For from the right to the first untrusted hop', () => {
    const trust = compileTrustedProxies('10.0.0.0/8, 127.0.0.1');
    expect(clientAddressOf(req('127.0.0.1', '203.0.113.9'), trust)).toBe('203.0.113.9');
    expect(clientAddressOf(req('127.0.0.1', '203.0.113.9, 10.1.2.3'), trust)).toBe('203.0.113.9');
    // The client's own claims left of its real address are not believed.
    expect(clientAddressOf(req('127.0.0.1', '1.1.1.1, 203.0.113.9, 10.1.2.3'), trust)).toBe('203.0.113.9');
    // An untrusted peer's header is ignored whatever it says.
    expect(clientAddressOf(req('198.51.100.1', '203.0.113.9'), trust)).toBe('198.51.100.1');
  });

  it('refuses an invalid TRUSTED_PROXIES entry instead of trusting something else', () => {
    expect(() => compileTrustedProxies('10.0.0.0/33')).toThrow();
    expect(() => compileTrustedProxies('not-an-address')).toThrow();
  });

  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4, and IPv6 by /64', () => {
    expect(rateLimitKeyForIp('203.0.113.9')).toBe('203.0.113.9');
    expect(rateLimitKeyForIp('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(rateLimitKeyForIp('2001:db8:aa:bb::1')).toBe('2001:db8:aa:bb::/64');
    expect(rateLimitKeyForIp('2001:DB8:AA:BB:ffff:1234:5678:9abc')).toBe('2001:db8:aa:bb::/64');
    expect(rateLimitKeyForIp('2001:db8:aa:bc::1')).toBe('2001:db8:aa:bc::/64');
    expect(rateLimitKeyForIp('fe80::1%eth0')).toBe('fe80::/64');
    expect(rateLimitKeyForIp('::1')).toBe('::/64');
  });

  it('is idempotent, and junk is one shared key (never a fresh one per string)', () => {
    for (const ip of ['203.0.113.9', '2001:db8:aa:bb::1', '::ffff:10.0.0.1'])
      expect(rateLimitKeyForIp(rateLimitKeyForIp(ip))).toBe(rateLimitKeyForIp(ip));
    for (const junk of ['not-an-ip', '', '1', '0x7f.1', '203.0.113.9/64', 'unknown']) expect(rateLimitKeyForIp(junk)).toBe('invalid');
  });
});
