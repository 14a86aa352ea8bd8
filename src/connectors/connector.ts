import type { ResolvedBrand } from '../config/load';
import type { Secrets } from '../config/load';
import type { SourceConfig } from '../config/schema';
import type { Engagement, Mention } from '../domain/mention';
import type { Logger } from '../logger';

/** A connector's own position in its feed, JSON-serialisable; kept in Redis between polls. */
export type Cursor = Record<string, string | number | boolean | null>;

export interface PollContext<S extends SourceConfig = SourceConfig> {
  brand: ResolvedBrand;
  source: S;
  /** Where the last poll stopped, or null on the first poll. */
  cursor: Cursor | null;
  /** The clock, passed in so tests and replays control it (ms since epoch). */
  now: number;
  secrets: Secrets;
  /** Folder relative file paths in the config are resolved against. */
  configDir: string;
  logger: Logger;
}

export interface PollResult {
  /** One page of posts, normalised. */
  mentions: Mention[];
  /** Where the next poll continues. Stored only after the page has been handed on. */
  cursor: Cursor;
  /** More posts are ready now: poll again at once rather than at the next tick. */
  hasMore: boolean;
  /**
   * The platform asked us to wait (rate limit): no call before this time (ms since epoch).
   * The poll is not a failure; later polls skip until then.
   */
  resumeAt?: number;
  /**
   * Posts the platform answered only in part (X: an `errors` entry for a post's author): left out
   * of `mentions`, kept with their reason, and the cursor moves on past them.
   */
  skipped?: SkippedPost[];
}

export interface SkippedPost {
  postId: string;
  reason: string;
}

/**
 * One platform. `poll` makes one call's worth of work (a page) and never sleeps: waiting is the
 * scheduler's job. Failures are thrown as RepwatchError with a code that says whether to retry.
 */
export interface Connector<S extends SourceConfig = SourceConfig> {
  readonly platform: S['platform'];
  poll(ctx: PollContext<S>): Promise<PollResult>;
  /**
   * Engagement of posts seen before, for the rechecks that project a post's reach (one call for
   * up to 100 ids). Posts the platform no longer has are left out of the result. Optional: a
   * platform without it is simply not rechecked.
   */
  engagement?(ctx: PollContext<S>, postIds: string[]): Promise<Map<string, Engagement>>;
  /** A live connection, for platforms that have one: the `stream` role holds it, `poll` fills gaps. */
  streaming?: StreamConnector<S>;
  /** Push notifications received by the HTTP server (`POST /webhooks/{platform}`). */
  webhook?: WebhookReceiver<S>;
  /**
   * What a source of this platform costs per day against the platform's quota (YouTube units),
   * for `repwatch config check` and the coverage state.
   */
  dailyQuota?(source: S, brand: ResolvedBrand): { used: number; limit: number; unit: string };
}

/**
 * A long-lived connection (Bluesky Jetstream, Mastodon streaming). The `stream` worker role
 * (workers/stream.ts) holds exactly one per source under a Redis lock, batches the posts into
 * ingest pages, keeps the cursor after each page is handed on, and reconnects with backoff.
 */
export interface StreamContext<S extends SourceConfig = SourceConfig> extends Omit<PollContext<S>, 'now'> {
  now: () => number;
  /** Aborted when the role stops or loses its lock: close the connection and resolve. */
  signal: AbortSignal;
}

export interface StreamHandlers {
  /** The connection is up (after every connect). */
  opened(): void;
  /** A post that matched the brand, and the position just after it. Synchronous: the role buffers. */
  post(mention: Mention, cursor: Cursor): void;
  /** Progress without a matching post (most of a firehose): kept with the next page or on its own. */
  position(cursor: Cursor): void;
}

export interface StreamConnector<S extends SourceConfig = SourceConfig> {
  /**
   * One connection, from ctx.cursor (rewound a little where the platform allows, the store drops
   * repeats). Resolves when ctx.signal aborts; rejects with a coded RepwatchError when the
   * connection drops or is refused (RW_ERR_PLATFORM_UNAVAILABLE: reconnect; RW_ERR_PLATFORM_REJECTED:
   * bad credentials, the role backs off long and the source's coverage says so). Never reconnects itself.
   */
  stream(ctx: StreamContext<S>, handlers: StreamHandlers): Promise<void>;
}

/** One thing a platform's webhook told us about, to be fetched in full (Meta sends ids, not posts). */
export interface WebhookItem {
  /** The account the notification is for (a Facebook Page id, an Instagram business account id). */
  accountId: string;
  /** What happened, in the platform's words (`comments`, `mentions`, `feed`). */
  field: string;
  /** The id to fetch (comment id, media id, post id). */
  id: string;
  /** The platform's own extra fields worth keeping (verb, parent id, text when given). */
  value?: Record<string, unknown>;
}

export interface WebhookReceiver<S extends SourceConfig = SourceConfig> {
  /** Whether this source is the one the account's notifications are for. */
  ownsAccount(source: S, accountId: string): boolean;
  /** The items of one webhook POST body; RW_ERR_PAYLOAD_MALFORMED when the body is not the documented shape. */
  parse(body: unknown): WebhookItem[];
  /** The full posts behind some items (one batched Graph API call where possible); deleted ones are left out. */
  fetch(ctx: PollContext<S>, items: WebhookItem[]): Promise<Mention[]>;
}
