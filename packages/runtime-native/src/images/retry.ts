import { setTimeout as sleep } from 'node:timers/promises';

/** Retry budget for one request: transient failures past this many attempts are reported. */
export const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

/** Waits before attempt `attempt` (1 = first retry): exponential with full jitter. */
export async function backoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** (attempt - 1));
  await sleep(Math.random() * ceilingMs);
}

/**
 * Error codes of node:http, node:net and node:dns failures that a later attempt can get past.
 * A response body cut short fails with ECONNRESET ("aborted") or, when the connection closed before
 * the body was read, with ERR_STREAM_PREMATURE_CLOSE. The transport's idle timeout uses ETIMEDOUT.
 */
const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Reports whether an error from a request or a body read is a network failure worth retrying. */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NETWORK_ERROR_CODES.has(code);
}

/** Reports whether an HTTP status is transient per this client's policy: 5xx only, never 4xx. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 && status <= 599;
}
