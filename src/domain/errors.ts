/**
 * Every error repwatch raises on purpose carries a code from this registry. The README lists the
 * same codes (a test keeps the two in sync). Whether a failure is worth retrying is decided by the
 * code's kind, never by reading message text.
 */
export const ERROR_CODES = {
  RW_ERR_CONFIG_INVALID: { retryable: false, summary: 'the configuration failed validation; every problem is listed with its path' },
  RW_ERR_CONFIG_READ: { retryable: false, summary: 'a configuration file could not be read or parsed' },
  RW_ERR_SECRET_MISSING: { retryable: false, summary: 'an environment variable named in the configuration as holding a credential is not set' },
  RW_ERR_INPUT_INVALID: { retryable: false, summary: 'an input line (analyze, replay file) is not valid JSON or lacks required fields' },
  RW_ERR_JOB_INVALID: { retryable: false, summary: 'a queue job carries data that does not match its schema' },
  RW_ERR_UNKNOWN_REFERENCE: { retryable: false, summary: 'a job or command names a brand, source, receiver or alert that does not exist' },
  RW_ERR_PLATFORM_RATE_LIMITED: { retryable: true, summary: 'a platform answered 429; the poll waits until the reset time it gave' },
  RW_ERR_PLATFORM_UNAVAILABLE: { retryable: true, summary: 'a platform answered 5xx, timed out or could not be reached' },
  RW_ERR_PLATFORM_REJECTED: { retryable: false, summary: 'a platform refused the request (4xx: bad credentials, bad query, no access)' },
  RW_ERR_PAYLOAD_MALFORMED: { retryable: false, summary: 'a platform answered with a body that does not have the documented shape' },
  RW_ERR_RECEIVER_RATE_LIMITED: { retryable: true, summary: 'a receiver answered 429; delivery is retried after its Retry-After' },
  RW_ERR_RECEIVER_UNAVAILABLE: { retryable: true, summary: 'a receiver answered 5xx, timed out or could not be reached' },
  RW_ERR_RECEIVER_REJECTED: { retryable: false, summary: 'a receiver refused the delivery (4xx other than 429 and 410)' },
  RW_ERR_RECEIVER_GONE: { retryable: false, summary: 'a webhook receiver answered 410 Gone: it is disabled, and later deliveries to it are recorded failed without a request until it is enabled again' },
  RW_ERR_DELIVERY_DEFERRED: { retryable: true, summary: 'an earlier event of the same alert to the same receiver (or the first message of a Slack thread) is still being delivered; this one is tried again after it' },
  RW_ERR_STORE_UNAVAILABLE: { retryable: true, summary: 'MongoDB or Redis could not be reached' },
  RW_ERR_LOCK_LOST: { retryable: true, summary: "a brand's lock was lost while a page or a change held it (Redis restarted empty); nothing was written and the job is tried again" },
  RW_ERR_MODEL_INVALID: { retryable: false, summary: 'a shipped analysis model file is missing, corrupt or from another version; `npm run train` rebuilds it' },
  RW_ERR_ALERT_STATE: { retryable: false, summary: 'an alert cannot make that change (acknowledging or resolving an alert that is already resolved)' },
  RW_ERR_SERVICES: { retryable: false, summary: 'the local services (Redis, FerretDB) could not be started' },
  RW_ERR_UNAUTHORIZED: { retryable: false, summary: 'an API request carried no API key or a wrong one (nothing was changed)' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RepwatchErrorOptions {
  /** Milliseconds to wait before trying again, when the other side said so (Retry-After, x-rate-limit-reset). */
  retryAfterMs?: number;
  /** Structured, secret-free context for logs. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class RepwatchError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: RepwatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RepwatchError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}

export function isRepwatchError(err: unknown): err is RepwatchError {
  return err instanceof RepwatchError;
}

/** Unknown errors (bugs, driver errors) are retried: losing a post is worse than trying again. */
export function isRetryable(err: unknown): boolean {
  return isRepwatchError(err) ? err.retryable : true;
}
