import type { AlertEvent } from '../domain/alert';
import type { Digest } from '../domain/digest';
import type { Logger } from '../logger';

export interface DeliveryReceipt {
  /** HTTP status the receiver answered with. */
  status: number;
  /** Anything the receiver gave back that later deliveries need (e.g. a Slack message ts). */
  reference?: string;
}

export interface SendContext {
  /** A reference an earlier delivery returned (a Slack message ts): reply in that thread. */
  threadRef?: string;
}

/**
 * One channel. `send` makes exactly one attempt and never retries by itself: the delivery queue
 * retries with backoff. It throws RepwatchError: RW_ERR_RECEIVER_RATE_LIMITED (with retryAfterMs),
 * RW_ERR_RECEIVER_UNAVAILABLE (5xx, timeouts, connection loss) or RW_ERR_RECEIVER_REJECTED
 * (other 4xx). Error messages never contain the receiver's URL or credentials.
 */
export interface Notifier {
  readonly receiverId: string;
  readonly type: 'slack' | 'webhook' | 'pagerduty';
  /** Replies in threads (a Slack bot): the delivery looks up and keeps the case's thread reference. */
  readonly threads?: boolean;
  send(event: AlertEvent, logger: Logger, context?: SendContext): Promise<DeliveryReceipt>;
  /** Sends a brand's digest: one attempt, failures thrown as for `send`. A channel without it takes no digests. */
  sendDigest?(digest: Digest, logger: Logger): Promise<DeliveryReceipt>;
}
