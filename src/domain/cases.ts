import { RepwatchError } from './errors';
import { authorKeyOf } from './fingerprint';

/**
 * Cases: "don't make them repeat themselves". One customer's posts across platforms, and the
 * replies within one conversation, join one case while they keep coming within `windowMs`. After
 * the case is resolved, the author's later posts about the brand are followed for
 * `recoveryWindowMs` to record whether sentiment recovered.
 *
 * Pure: time comes in as arguments (ms since epoch); every function returns a new case, or the
 * input itself when nothing changes (so callers can skip the write). Cases are stored as
 * MongoDB-compatible documents: no undefined values, no nested arrays, no keys with '.' or '$'.
 */

export interface CaseSettings {
  windowMs: number;
  recoveryWindowMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const DEFAULT_CASE_SETTINGS: CaseSettings = { windowMs: 48 * HOUR, recoveryWindowMs: 7 * DAY };

export interface CasePost {
  platform: string;
  postId: string;
  authorId: string;
  handle: string;
  conversationId?: string;
  at: number;
  sentiment: 'negative' | 'neutral' | 'positive';
  score: number;
  alertId?: string;
  /**
   * The cases this post is recorded in already (a page reads that for posts stored before it: a
   * retried or refetched page). Recorded apart from the case, so a case's document does not grow
   * with its posts.
   */
  inCases?: readonly string[];
}

export interface TimelineEntry {
  at: number;
  type: 'post' | 'alert' | 'acknowledged' | 'resolved' | 'recovered' | 'not-recovered' | 'follow-up';
  platform?: string;
  postId?: string;
  handle?: string;
  sentiment?: string;
  alertId?: string;
  by?: string;
  note?: string;
}

export type CaseState = 'open' | 'acknowledged' | 'resolved';

export interface Case {
  id: string;
  brandId: string;
  authorKeys: string[];
  conversationKeys: string[];
  handles: string[];
  platforms: string[];
  state: CaseState;
  openedAt: number;
  lastPostAt: number;
  posts: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  recovery?: { state: 'watching' | 'recovered' | 'not-recovered'; until: number; decidedAt?: number; because?: string };
  /** Chronological; capped to the first TIMELINE_HEAD and last TIMELINE_TAIL entries so a document stays small. */
  timeline: TimelineEntry[];
  /**
   * Post keys written by earlier versions (up to 500 a case): still read, so their posts are not
   * added twice; no longer written (a page records its posts' cases apart, see CasePost.inCases).
   */
  postKeys?: string[];
  /** Alerts that joined the case (one 'alert' timeline entry each). */
  alertIds?: string[];
}

// A page reads and writes every case its posts reach: a case's document is kept to a few KB (the
// first posts and the last 45 tell the story; the count of posts goes on).
export const TIMELINE_HEAD = 5;
export const TIMELINE_TAIL = 45;
/** Caps for the key lists: a viral thread must not grow a case past the document size limit. */
const MAX_KEYS = 100;

export { authorKeyOf };

/** One conversation on one platform; undefined when the post names none. */
export function conversationKeyOf(platform: string, conversationId?: string): string | undefined {
  return conversationId ? `${platform}/${conversationId}` : undefined;
}

const postKeyOf = (p: Pick<CasePost, 'platform' | 'postId'>) => `${p.platform}/${p.postId}`;

/**
 * The conversation a post belongs to. A post without a conversation id may be the start of one,
 * so its own id is its key: replies to it (conversationId = its id) then join its case.
 */
function postConversationKey(post: Pick<CasePost, 'platform' | 'postId' | 'conversationId'>): string {
  return conversationKeyOf(post.platform, post.conversationId) ?? conversationKeyOf(post.platform, post.postId)!;
}

/** The index keys a post can join a case by: its author, and its conversation. */
export function caseKeysOfPost(post: Pick<CasePost, 'platform' | 'postId' | 'handle' | 'conversationId'>): string[] {
  return [`author:${authorKeyOf(post.handle)}`, `conversation:${postConversationKey(post)}`];
}

/**
 * The index keys later posts can reach this case by, and until when (ms since epoch): an open or
 * acknowledged case takes posts by its authors and in its conversations within its window; a
 * resolved case watched for recovery takes its authors' follow-ups until the window ends. No
 * `until`: the case takes nothing any more. Mirrors findCase and recoveryCandidates.
 */
export function caseReach(c: Case, settings: CaseSettings): { keys: string[]; until?: number } {
  const keys = [...c.authorKeys.map((a) => `author:${a}`), ...c.conversationKeys.map((k) => `conversation:${k}`)];
  if (c.state !== 'resolved') return { keys, until: c.lastPostAt + settings.windowMs };
  if (c.recovery?.state === 'watching') return { keys, until: c.recovery.until };
  return { keys };
}

/** Deterministic, so a retried job creates the same case rather than a second one. */
export function caseIdFor(brandId: string, post: CasePost): string {
  return `${brandId}/case/${authorKeyOf(post.handle)}/${post.at}`;
}

/**
 * The open or acknowledged case of this brand that shares the post's author or conversation and
 * whose last post is at most `windowMs` before this one. Resolved cases never match: later posts
 * start a new case (and may count as a follow-up for recovery). With several matches, the most
 * recently active case wins.
 */
export function findCase(cases: Case[], brandId: string, post: CasePost, settings: CaseSettings): Case | undefined {
  const author = authorKeyOf(post.handle);
  const conversation = postConversationKey(post);
  let best: Case | undefined;
  for (const c of cases) {
    if (c.brandId !== brandId || c.state === 'resolved') continue;
    if (post.at - c.lastPostAt > settings.windowMs) continue;
    if (!c.authorKeys.includes(author) && !c.conversationKeys.includes(conversation)) continue;
    if (!best || c.lastPostAt > best.lastPostAt) best = c;
  }
  return best;
}

/** Adds `value` unless present; over `max`, drops the oldest but keeps the first (the case's origin). */
function withCapped(list: readonly string[] | undefined, value: string, max: number): string[] {
  const l = list ?? [];
  if (l.includes(value)) return [...l];
  const next = [...l, value];
  return next.length > max ? [next[0], ...next.slice(next.length - max + 1)] : next;
}

/** Entries without undefined fields: the MongoDB driver would store undefined as null. */
function entry(e: TimelineEntry): TimelineEntry {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (v !== undefined) out[k] = v;
  return out as unknown as TimelineEntry;
}

/** Inserts in time order (after entries at the same time), then applies the head + tail cap. */
function withEntries(timeline: readonly TimelineEntry[], ...entries: TimelineEntry[]): TimelineEntry[] {
  const next = [...timeline];
  for (const e of entries) {
    let i = next.length;
    while (i > 0 && next[i - 1].at > e.at) i--;
    next.splice(i, 0, entry(e));
  }
  return next.length > TIMELINE_HEAD + TIMELINE_TAIL ? [...next.slice(0, TIMELINE_HEAD), ...next.slice(next.length - TIMELINE_TAIL)] : next;
}

function postEntry(type: 'post' | 'follow-up', post: CasePost): TimelineEntry {
  return { at: post.at, type, platform: post.platform, postId: post.postId, handle: post.handle, sentiment: post.sentiment, alertId: post.alertId };
}

function isSeen(c: Case, post: CasePost): boolean {
  if (post.inCases?.includes(c.id)) return true;
  // Cases written by earlier versions: their post keys, and before those, the timeline.
  const key = postKeyOf(post);
  return (c.postKeys ?? []).includes(key) || c.timeline.some((e) => (e.type === 'post' || e.type === 'follow-up') && e.platform === post.platform && e.postId === post.postId);
}

/**
 * Adds a post to a case, or opens a new case when `c` is undefined. Idempotent: a post already in
 * the case (same platform and post id) returns the case unchanged. Adding to a resolved case is a
 * caller error: posts after resolution are follow-ups (see followUp).
 */
export function addPost(c: Case | undefined, brandId: string, post: CasePost, _settings: CaseSettings): Case {
  // The window is applied by findCase: whichever case the caller passes is the one the post joins.
  const author = authorKeyOf(post.handle);
  const conversation = postConversationKey(post);
  const alertEntry = (): TimelineEntry => ({ at: post.at, type: 'alert', alertId: post.alertId, platform: post.platform, postId: post.postId, handle: post.handle });
  if (!c) {
    return {
      id: caseIdFor(brandId, post),
      brandId,
      authorKeys: [author],
      conversationKeys: [conversation],
      handles: [post.handle],
      platforms: [post.platform],
      state: 'open',
      openedAt: post.at,
      lastPostAt: post.at,
      posts: 1,
      timeline: withEntries([], postEntry('post', post), ...(post.alertId ? [alertEntry()] : [])),
      alertIds: post.alertId ? [post.alertId] : [],
    };
  }
  if (c.state === 'resolved') throw new RepwatchError('RW_ERR_ALERT_STATE', `case ${c.id} is resolved; later posts are follow-ups, not case posts`);
  if (isSeen(c, post)) return c;
  const newAlert = !!post.alertId && !(c.alertIds ?? []).includes(post.alertId);
  return {
    ...c,
    authorKeys: withCapped(c.authorKeys, author, MAX_KEYS),
    conversationKeys: withCapped(c.conversationKeys, conversation, MAX_KEYS),
    handles: withCapped(c.handles, post.handle, MAX_KEYS),
    platforms: withCapped(c.platforms, post.platform, MAX_KEYS),
    lastPostAt: Math.max(c.lastPostAt, post.at),
    posts: c.posts + 1,
    timeline: withEntries(c.timeline, postEntry('post', post), ...(newAlert ? [alertEntry()] : [])),
    alertIds: newAlert ? withCapped(c.alertIds, post.alertId!, MAX_KEYS) : [...(c.alertIds ?? [])],
  };
}

/** Open → acknowledged. A case already acknowledged or resolved is returned unchanged (its alerts are acknowledged one by one). */
export function acknowledgeCase(c: Case, by: string, at: number): Case {
  if (c.state !== 'open') return c;
  return { ...c, state: 'acknowledged', acknowledgedAt: at, acknowledgedBy: by, timeline: withEntries(c.timeline, { at, type: 'acknowledged', by }) };
}

/** → resolved, and the author is watched for recovery until `at + recoveryWindowMs`. Resolving twice changes nothing. */
export function resolveCase(c: Case, by: string, at: number, settings: CaseSettings): Case {
  if (c.state === 'resolved') return c;
  return {
    ...c,
    state: 'resolved',
    resolvedAt: at,
    resolvedBy: by,
    recovery: { state: 'watching', until: at + settings.recoveryWindowMs },
    timeline: withEntries(c.timeline, { at, type: 'resolved', by }),
  };
}

/** Whether `at` falls in the recovery window: strictly after the resolution, up to and including `until`. */
function inRecoveryWindow(c: Case, at: number): boolean {
  if (c.state !== 'resolved' || c.recovery?.state !== 'watching') return false;
  return at > (c.resolvedAt ?? -Infinity) && at <= c.recovery.until;
}

/**
 * A later post by the case's author, after resolution and within the recovery window. Recorded on
 * the timeline; a neutral or positive one decides 'recovered', a negative one leaves the case
 * watching. Posts outside the window, by someone else, or already recorded change nothing.
 */
export function followUp(c: Case, post: CasePost): Case {
  if (!inRecoveryWindow(c, post.at) || !c.authorKeys.includes(authorKeyOf(post.handle)) || isSeen(c, post)) return c;
  if (post.sentiment === 'negative') {
    return { ...c, timeline: withEntries(c.timeline, { ...postEntry('follow-up', post), note: 'still negative' }) };
  }
  const because = `${post.sentiment} post ${postKeyOf(post)} by @${post.handle.replace(/^@/, '')}`;
  return {
    ...c,
    recovery: { state: 'recovered', until: c.recovery!.until, decidedAt: post.at, because },
    timeline: withEntries(c.timeline, postEntry('follow-up', post), { at: post.at, type: 'recovered', note: because }),
  };
}

/** "7 days", "36 hours", "90 minutes": the recovery window in the words of a 'because'. */
function spanInWords(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ms > 0 && ms % DAY === 0) return unit(ms / DAY, 'day');
  if (ms > 0 && ms % HOUR === 0) return unit(ms / HOUR, 'hour');
  return unit(Math.round(ms / 60_000), 'minute');
}

/**
 * The recovery window has passed while still watching: 'not-recovered'. Decided as of the end of
 * the window (not `now`), so settling late or twice gives the same document.
 */
export function settleRecovery(c: Case, now: number): Case {
  if (c.state !== 'resolved' || c.recovery?.state !== 'watching' || now <= c.recovery.until) return c;
  const { until } = c.recovery;
  const window = c.resolvedAt != null ? spanInWords(until - c.resolvedAt) : 'the recovery window';
  const because = `no neutral or positive post within ${window}`;
  return {
    ...c,
    recovery: { state: 'not-recovered', until, decidedAt: until, because },
    timeline: withEntries(c.timeline, { at: until, type: 'not-recovered', note: because }),
  };
}

/** The resolved, still-watching case of this post's author whose window contains the post; the latest resolved when several. */
export function recoveryCandidates(cases: Case[], brandId: string, post: CasePost): Case | undefined {
  const author = authorKeyOf(post.handle);
  let best: Case | undefined;
  for (const c of cases) {
    if (c.brandId !== brandId || !c.authorKeys.includes(author) || !inRecoveryWindow(c, post.at)) continue;
    if (!best || (c.resolvedAt ?? 0) > (best.resolvedAt ?? 0)) best = c;
  }
  return best;
}
