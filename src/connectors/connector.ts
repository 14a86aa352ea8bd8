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
}
