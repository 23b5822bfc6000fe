/**
 * undici's codes for a request that got no answer: the connection failed,
 * closed, or timed out before the response was read.
 */
const UNDICI_NO_ANSWER = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** Node's socket and DNS errno codes (connect, reset, unreachable host, no such name). */
const SOCKET_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Whether an HTTP call failed for want of an answer (the peer is down,
 * restarting, or dropped the connection), as opposed to the peer answering
 * with a failure. Decided on error codes along the cause chain (fetch wraps
 * undici's error as a TypeError's cause), never on message text, which a
 * peer's own error could contain.
 */
export function isNoAnswer(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNDICI_NO_ANSWER.has(code) || SOCKET_ERRNO.has(code))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
