import { RepwatchError, type ErrorCode } from '../domain/errors';

/**
 * Shared rules for any HTTP answer from a receiver or a platform: 2xx is success, 429 and 5xx
 * (and 408) are worth retrying, every other status is permanent. Decided by status, never by text.
 */
export type HttpOutcome = 'ok' | 'rate-limited' | 'retryable' | 'permanent';

export function classifyStatus(status: number): HttpOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate-limited';
  if (status === 408 || status >= 500) return 'retryable';
  return 'permanent';
}

/** Retry-After is either seconds or an HTTP date; returns milliseconds to wait, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface ErrorCodesFor {
  rateLimited: ErrorCode;
  retryable: ErrorCode;
  permanent: ErrorCode;
}

export const RECEIVER_CODES: ErrorCodesFor = {
  rateLimited: 'RW_ERR_RECEIVER_RATE_LIMITED',
  retryable: 'RW_ERR_RECEIVER_UNAVAILABLE',
  permanent: 'RW_ERR_RECEIVER_REJECTED',
};

export const PLATFORM_CODES: ErrorCodesFor = {
  rateLimited: 'RW_ERR_PLATFORM_RATE_LIMITED',
  retryable: 'RW_ERR_PLATFORM_UNAVAILABLE',
  permanent: 'RW_ERR_PLATFORM_REJECTED',
};

/**
 * Turns a non-2xx status into the right coded error. `what` names the other side without its
 * URL (e.g. 'webhook receiver "crm"'), so the message is safe to log.
 */
export function httpError(status: number, what: string, codes: ErrorCodesFor, retryAfterMs?: number): RepwatchError {
  const outcome = classifyStatus(status);
  const code = outcome === 'rate-limited' ? codes.rateLimited : outcome === 'retryable' ? codes.retryable : codes.permanent;
  return new RepwatchError(code, `${what} answered HTTP ${status}`, { retryAfterMs, details: { status } });
}

/** Network-level failures (refused, reset, DNS, timeout) are always worth retrying. */
export function networkError(err: unknown, what: string, codes: ErrorCodesFor): RepwatchError {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  const reason = e?.name === 'TimeoutError' || e?.name === 'AbortError' ? 'timed out' : `could not be reached (${e?.cause?.code ?? e?.code ?? 'network error'})`;
  return new RepwatchError(codes.retryable, `${what} ${reason}`);
}
