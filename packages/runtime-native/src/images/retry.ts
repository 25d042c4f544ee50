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

/** Reports whether an error from fetch or a body read is a network failure worth retrying. */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
  if (code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(code)) {
    return true;
  }
  return error.name === 'TypeError' && /fetch failed|terminated/.test(error.message);
}

/** Reports whether an HTTP status is transient per this client's policy: 5xx only, never 4xx. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 && status <= 599;
}
