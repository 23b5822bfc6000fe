// One POST of a signed payload to an endpoint: pinned to the checked address,
// no redirects (Node's http client follows none), a fresh connection each
// time, one deadline for the whole exchange, and only the answer's status line
// and headers read (Node bounds those at 16 KiB).
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { withoutTracing } from '@usergraph/service-kit';
import { pinnedLookup, type ResolvedTarget } from './url-guard.js';

/** Audit events are small; a payload above this is a bug upstream, refused rather than sent. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export type SendOutcome =
  | { ok: true; status: number }
  | { ok: false; error: 'HTTP_STATUS'; status: number }
  | { ok: false; error: 'TIMEOUT' | 'CONNECTION_FAILED' };

/** Standard Webhooks headers: one `v1,` signature per secret (a rotation signs with the old and new one). */
export function signedHeaders(secrets: readonly string[], eventId: string, at: Date, payload: string): Record<string, string> {
  const signatures = secrets.map((s) => new Webhook(s).sign(eventId, at, payload));
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

export function sendWebhook(
  target: ResolvedTarget,
  headers: Record<string, string>,
  payload: string,
  timeoutMs: number,
): Promise<SendOutcome> {
  const { url } = target;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    // A customer's endpoint gets no traceparent (withoutTracing): our trace ids stay ours.
    const req = withoutTracing(() =>
      client.request(url, {
        method: 'POST',
        agent: false,
        lookup: pinnedLookup(target),
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(payload)),
          'user-agent': 'usergraph-webhooks',
        },
      }),
    );
    const timer = setTimeout(() => settle({ ok: false, error: 'TIMEOUT' }), timeoutMs);
    // The status is the answer: the body is never read (the connection is closed), so its size costs nothing.
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      settle(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: 'HTTP_STATUS', status });
    });
    req.on('error', () => settle({ ok: false, error: 'CONNECTION_FAILED' }));
    req.end(payload);
  });
}
