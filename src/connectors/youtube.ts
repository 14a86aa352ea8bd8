import type { ResolvedBrand } from '../config/load';
import { YOUTUBE_SEARCH_CALLS_PER_DAY, YOUTUBE_UNITS, estimateYoutubeQuota, type YoutubeSourceConfig } from '../config/sources/youtube';
import { RepwatchError } from '../domain/errors';
import { brandMatcher, handleTerm, parseKeyword, type MatchTerm } from '../domain/matcher';
import { mentionSchema, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost } from './connector';

const WHAT = 'YouTube Data API';
const DEFAULT_API = 'https://www.googleapis.com';
const PATH = '/youtube/v3';
/** commentThreads.list's largest page. */
const PAGE_SIZE = 100;
/** channels.list takes up to 50 ids. */
const CHANNELS_PER_CALL = 50;
/** A feed read for the first time looks back this far. */
const FIRST_LOOKBACK_MS = 24 * 3_600_000;
/** Search looks for videos published this recently; the newest `maxVideos` of them are watched. */
const SEARCH_WINDOW_MS = 7 * 24 * 3_600_000;
/** Subscriber counts are looked up again after this long. */
const FOLLOWERS_TTL_MS = 3_600_000;
/** Short-term limits (per-minute, 429) wait this long when YouTube gives no time. */
const SHORT_WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Videos whose comments cannot be read (disabled, video gone) are remembered, at most this many. */
const MAX_UNREADABLE = 50;
/** YouTube resets the daily quota at midnight Pacific time. */
const QUOTA_TIME_ZONE = 'America/Los_Angeles';

type Ctx = Omit<PollContext, 'source'> & { source: YoutubeSourceConfig };
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const count = (v: unknown): number => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : num(v);
  return n === null ? 0 : Math.max(0, Math.trunc(n));
};

function malformed(problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${WHAT} answered with a body that does not have the documented shape: ${problem}`, { details: { problem } });
}

// ---- the quota day -----------------------------------------------------------------------

const pacific = new Intl.DateTimeFormat('en-US', {
  timeZone: QUOTA_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

function wallClock(ms: number): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const p = Object.fromEntries(pacific.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), h: Number(p.hour), min: Number(p.minute), s: Number(p.second) };
}

/** The quota day (Pacific date) an instant belongs to, as YYYY-MM-DD. */
export function quotaDay(ms: number): string {
  const { y, m, d } = wallClock(ms);
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The next midnight in Pacific time (when the daily quota resets), daylight saving included. */
export function nextQuotaReset(ms: number): number {
  const { y, m, d } = wallClock(ms);
  const wall = Date.UTC(y, m - 1, d + 1);
  let guess = wall + 8 * 3_600_000;
  for (let i = 0; i < 3; i++) {
    const w = wallClock(guess);
    const shift = wall - Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s);
    if (shift === 0) break;
    guess += shift;
  }
  return guess;
}

// ---- calls -------------------------------------------------------------------------------

function apiBase(ctx: Ctx): string {
  const { source } = ctx;
  const fromEnv = source.baseUrlEnv ? ctx.secrets.get(source.baseUrlEnv) : undefined;
  return `${(source.baseUrl ?? fromEnv ?? DEFAULT_API).replace(/\/+$/, '')}${PATH}`;
}

type Reply = { ok: true; body: Obj } | { ok: false; status: number; reasons: string[]; message?: string; retryAfterMs?: number };

/**
 * Google's error body: `{"error": {"code": 403, "message": "...", "errors": [{"domain": "youtube.quota",
 * "reason": "quotaExceeded"}], "status": "...", "details": [{"reason": "API_KEY_INVALID"}]}}`. Both
 * the old per-error reasons and the newer ErrorInfo reasons are read.
 */
function googleError(text: string, secrets: readonly string[]): { reasons: string[]; message?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { reasons: [] };
  }
  const e = isObj(body) && isObj(body.error) ? body.error : undefined;
  if (!e) return { reasons: [] };
  const reasons = [
    ...(Array.isArray(e.errors) ? e.errors : []).map((x) => (isObj(x) ? str(x.reason) : null)),
    ...(Array.isArray(e.details) ? e.details : []).map((x) => (isObj(x) ? str(x.reason) : null)),
  ].filter((r): r is string => r !== null);
  const raw = str(e.message);
  // Messages carry HTML links ("exceeded your <a href=...>quota</a>"): keep the words only.
  const message = raw ? scrubSecrets(raw.replace(/<[^>]*>/g, ''), secrets).slice(0, 200) : undefined;
  return { reasons, message };
}

/** One GET. The key travels in the X-goog-api-key header, never in the URL, so no URL can leak it. */
async function apiGet(ctx: Ctx, resource: string, params: Record<string, string | number | undefined>): Promise<Reply> {
  const key = ctx.secrets.get(ctx.source.apiKeyEnv);
  const url = new URL(`${apiBase(ctx)}/${resource}`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
  let status: number;
  let text: string;
  let headers: Headers;
  try {
    const res = await fetch(url, { headers: { 'x-goog-api-key': key, accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    status = res.status;
    headers = res.headers;
    text = await res.text();
  } catch (err) {
    throw networkError(err, WHAT, PLATFORM_CODES);
  }
  if (status >= 200 && status < 300) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw malformed(`${resource}: body is not valid JSON`);
    }
    if (!isObj(body)) throw malformed(`${resource}: body is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}, not an object`);
    return { ok: true, body };
  }
  const { reasons, message } = googleError(text, [key, ...ctx.secrets.values()]);
  return { ok: false, status, reasons, message, retryAfterMs: parseRetryAfter(headers.get('retry-after'), ctx.now) };
}

const KEY_INVALID = ['keyInvalid', 'API_KEY_INVALID', 'keyExpired', 'API_KEY_EXPIRED'];
const DAILY_QUOTA = ['quotaExceeded', 'dailyLimitExceeded'];
const SHORT_LIMIT = ['rateLimitExceeded', 'userRateLimitExceeded', 'RATE_LIMIT_EXCEEDED'];

/** A failure that is not a wait: a coded error, decided by status and Google's reason, never by message text. */
function toError(r: Extract<Reply, { ok: false }>, what: string): RepwatchError {
  const has = (list: string[]) => r.reasons.some((x) => list.includes(x));
  const details = { status: r.status, reasons: r.reasons };
  if (has(KEY_INVALID)) return new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${WHAT} refused the API key as not valid (HTTP ${r.status}); check apiKeyEnv and the key's API restrictions`, { details });
  const e = httpError(r.status, `${WHAT} ${what}`, PLATFORM_CODES, r.retryAfterMs);
  const why = [r.reasons[0], r.message].filter(Boolean).join(': ');
  return new RepwatchError(e.code, why ? `${e.message} (${why})` : e.message, { retryAfterMs: r.retryAfterMs, details });
}

/** When to call again if the answer is a quota or rate limit, else undefined. */
function waitFor(r: Extract<Reply, { ok: false }>, now: number): number | undefined {
  const has = (list: string[]) => r.reasons.some((x) => list.includes(x));
  if (r.status === 403 && has(DAILY_QUOTA)) return nextQuotaReset(now);
  if (r.status === 429 || (r.status === 403 && has(SHORT_LIMIT))) return now + (r.retryAfterMs ?? SHORT_WAIT_MS);
  return undefined;
}

// ---- cursor ------------------------------------------------------------------------------

interface Feed {
  /** 'channel' or 'v:<videoId>': the prefix of this feed's keys in the cursor. */
  key: string;
  params: Record<string, string>;
  videoId?: string;
  /** Newest comment time already read (ISO). */
  since: string;
  /** Paging through one result set: the next page and the set's newest time, committed after its last page. */
  page: string | null;
  pending: string | null;
}

function list(v: unknown): string[] {
  return typeof v === 'string' && v ? v.split(',') : [];
}

function feedFrom(cursor: Cursor | null, key: string, params: Record<string, string>, now: number, videoId?: string): Feed {
  return {
    key,
    params,
    videoId,
    since: str(cursor?.[`${key}.since`]) ?? new Date(now - FIRST_LOOKBACK_MS).toISOString(),
    page: str(cursor?.[`${key}.page`]),
    pending: str(cursor?.[`${key}.pending`]),
  };
}

/**
 * The default search: for each branch of each keyword (a plain keyword is one branch) its first
 * term that is not negated, and the handles, ORed with YouTube's "|" (phrases quoted). A superset
 * of what the keywords mean: the brand matcher then checks each video's title and description.
 */
export function buildYoutubeQuery(brand: Pick<ResolvedBrand, 'id' | 'keywords' | 'handles'>): string {
  const terms: string[] = [];
  const add = (t: MatchTerm | undefined) => {
    const w = t?.words.join(' ');
    if (w && !terms.includes(w)) terms.push(w);
  };
  for (const k of brand.keywords) for (const branch of parseKeyword(k)?.branches ?? []) add(branch.find((l) => !l.negated)?.term);
  for (const h of brand.handles) add(handleTerm(h));
  if (terms.length === 0) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `brand "${brand.id}" has no keyword or handle to search YouTube for`);
  return terms.map((t) => (/\s/.test(t) ? `"${t}"` : t)).join('|');
}

// ---- followers ---------------------------------------------------------------------------

/** Subscriber counts by channel id, for an hour; shared by the sources of one process. */
const followerCache = new Map<string, { followers: number; at: number }>();

/** Forget cached subscriber counts (tests). */
export function resetYoutubeCaches(): void {
  followerCache.clear();
}

// ---- mapping -----------------------------------------------------------------------------

interface Comment {
  mention: Omit<Mention, 'author'> & { author: Omit<Mention['author'], 'followers'> };
  publishedAt: string;
}

/**
 * A commentThread's top-level comment (snippet.topLevelComment.snippet): textOriginal (textDisplay
 * when the original is withheld), authorDisplayName ("@handle"), authorChannelId.value, likeCount,
 * publishedAt; the thread's totalReplyCount. Followers are filled in after the page (channels.list).
 */
function toComment(item: unknown, i: number, brandId: string): { comment: Comment } | { skip: SkippedPost; publishedAt?: string } {
  const thread = isObj(item) ? item : {};
  const ts = isObj(thread.snippet) ? thread.snippet : {};
  const top = isObj(ts.topLevelComment) ? ts.topLevelComment : {};
  const c = isObj(top.snippet) ? top.snippet : undefined;
  const postId = str(top.id) ?? str(thread.id) ?? `(items[${i}] without id)`;
  const publishedAt = c ? str(c.publishedAt) : null;
  const valid = publishedAt !== null && !Number.isNaN(Date.parse(publishedAt));
  // The time goes along with a skip, so a bad comment already passed is not reported again.
  const skip = (reason: string) => ({ skip: { postId, reason }, ...(valid ? { publishedAt: publishedAt! } : {}) });
  if (!c || !str(top.id)) return skip('the thread has no topLevelComment with an id and snippet');
  if (!valid) return skip('the comment has no publishedAt');
  const authorId = isObj(c.authorChannelId) ? str(c.authorChannelId.value) : null;
  // A comment whose channel was closed keeps no author: nobody to follow up with, like a deleted post.
  if (!authorId) return skip('the comment has no author channel (deleted or closed account)');
  const text = str(c.textOriginal) ?? str(c.textDisplay);
  if (!text) return skip('the comment has no text (deleted or held for review)');
  const videoId = str(c.videoId) ?? str(ts.videoId);
  const display = str(c.authorDisplayName) ?? authorId;
  const fromUrl = /\/@([^/?#]+)/.exec(str(c.authorChannelUrl) ?? '')?.[1];
  const handle = fromUrl ? decodeURIComponent(fromUrl) : display.replace(/^@/, '');
  const commentId = str(top.id)!;
  return {
    comment: {
      publishedAt,
      mention: {
        platform: 'youtube',
        postId: commentId,
        url: videoId ? `https://www.youtube.com/watch?v=${encodeURIComponent(videoId)}&lc=${encodeURIComponent(commentId)}` : `https://www.youtube.com/channel/${encodeURIComponent(str(ts.channelId) ?? authorId)}`,
        brandId,
        author: { id: authorId, handle, name: display, verified: false },
        text,
        createdAt: new Date(Date.parse(publishedAt)).toISOString(),
        engagement: { likes: count(c.likeCount), reposts: 0, replies: count(ts.totalReplyCount), quotes: 0 },
        // The video is the conversation: its comments are replies to it.
        conversationId: videoId ?? undefined,
      },
    },
  };
}

// ---- connector ---------------------------------------------------------------------------

interface YoutubeConnector {
  readonly platform: 'youtube';
  poll(ctx: Ctx): Promise<PollResult>;
  dailyQuota(source: YoutubeSourceConfig, brand: ResolvedBrand): { used: number; limit: number; unit: string };
}

interface Quota {
  day: string;
  units: number;
  searches: number;
}

/**
 * YouTube comment threads within the daily quota. A poll reads one page of comment threads per
 * feed (the brand's channel, each watched video: 1 unit each), runs the video search when it is due
 * (search.list's own bucket of 100 calls a day), and looks up the new authors' subscriber counts
 * (1 unit per 50). The units and searches spent today (Pacific date, as YouTube counts) travel in the
 * cursor; a call that would go over `dailyQuotaUnits` is not made, and when nothing more can be
 * afforded the source waits for the reset. A feed with more than a page of new comments pages on
 * in the next, immediate, poll (only those feeds), and its watermark moves only after its last page.
 */
export const youtubeConnector: YoutubeConnector = {
  platform: 'youtube',

  dailyQuota(source) {
    return { used: estimateYoutubeQuota(source).units, limit: source.dailyQuotaUnits, unit: 'units' };
  },

  async poll(ctx: Ctx): Promise<PollResult> {
    const { source, brand, logger, now } = ctx;
    const cursor = ctx.cursor;
    const today = quotaDay(now);
    const quota: Quota =
      cursor?.day === today ? { day: today, units: num(cursor.units) ?? 0, searches: num(cursor.searches) ?? 0 } : { day: today, units: 0, searches: 0 };
    const limit = source.dailyQuotaUnits;
    const afford = (units: number) => quota.units + units <= limit;
    const spend = (units: number) => void (quota.units += units);

    let resumeAt: number | undefined;
    /** A call was needed but the day's budget could not pay for it. */
    let outOfBudget = false;
    const stopFor = (r: Extract<Reply, { ok: false }>): boolean => {
      const at = waitFor(r, now);
      if (at === undefined) return false;
      resumeAt = Math.max(resumeAt ?? 0, at);
      if (at === nextQuotaReset(now)) quota.units = Math.max(quota.units, limit);
      logger.info({ brandId: brand.id, sourceId: source.id, reasons: r.reasons, resumeAt: new Date(at).toISOString() }, 'YouTube quota or rate limit reached');
      return true;
    };

    // ---- which videos: the search, when due
    const customQuery = source.search?.query;
    const query = source.search ? (customQuery ?? buildYoutubeQuery(brand)) : null;
    let videos = cursor?.query === query ? list(cursor?.videos) : [];
    let unreadable = list(cursor?.unreadable);
    let searchedAt = cursor?.query === query ? num(cursor?.searchedAt) : null;
    const continuing = Object.keys(cursor ?? {}).some((k) => k.endsWith('.page') && str(cursor?.[k]) !== null);

    if (source.search && query && !continuing && (searchedAt === null || now - searchedAt >= Math.max(source.search.every, source.pollEvery))) {
      if (quota.searches >= YOUTUBE_SEARCH_CALLS_PER_DAY) {
        logger.debug({ brandId: brand.id, sourceId: source.id, searches: quota.searches }, 'YouTube search skipped: the search.list calls of the day are used; the watched videos stay');
      } else {
        quota.searches += 1;
        const r = await apiGet(ctx, 'search', {
          part: 'snippet',
          q: query,
          type: 'video',
          order: 'date',
          publishedAfter: new Date(now - SEARCH_WINDOW_MS).toISOString(),
          maxResults: Math.min(50, source.search.maxVideos * 2),
        });
        if (r.ok) {
          if (!Array.isArray(r.body.items)) throw malformed('search: items is not an array');
          // A derived query is checked against the brand (YouTube's search also matches tags and captions); a written one is trusted.
          const matcher = customQuery ? undefined : brandMatcher({ keywords: brand.keywords, handles: brand.handles, exclude: brand.exclude });
          const found: string[] = [];
          for (const item of r.body.items) {
            if (!isObj(item) || !isObj(item.id)) continue;
            const id = str(item.id.videoId);
            if (!id || unreadable.includes(id) || found.includes(id)) continue;
            const sn = isObj(item.snippet) ? item.snippet : {};
            if (matcher && !matcher.test(`${str(sn.title) ?? ''}\n${str(sn.description) ?? ''}`)) continue;
            found.push(id);
          }
          videos = found.slice(0, source.search.maxVideos);
          searchedAt = now;
        } else if (r.status === 403 && r.reasons.some((x) => DAILY_QUOTA.includes(x))) {
          // search.list has its own daily bucket: when it is empty (other sources of the project may
          // search too), the comments can still be read. If the units ran out, the next call says so.
          quota.searches = YOUTUBE_SEARCH_CALLS_PER_DAY;
          logger.info({ brandId: brand.id, sourceId: source.id, reasons: r.reasons }, 'YouTube search.list quota spent for today; the watched videos stay');
        } else if (!stopFor(r)) {
          throw toError(r, 'search');
        }
      }
    }

    // ---- the feeds
    const feeds: Feed[] = [];
    const channelChanged = (cursor?.channelId ?? null) !== (source.channelId ?? null);
    if (source.channelId) feeds.push(feedFrom(channelChanged ? null : cursor, 'channel', { allThreadsRelatedToChannelId: source.channelId }, now));
    for (const v of videos) feeds.push(feedFrom(cursor, `v:${v}`, { videoId: v }, now, v));
    const toRead = continuing ? feeds.filter((f) => f.page !== null) : feeds;

    const comments: Comment[] = [];
    const skipped: SkippedPost[] = [];
    const seen = new Set<string>();
    let hasMore = false;

    for (const feed of toRead) {
      if (resumeAt !== undefined) break;
      if (!afford(YOUTUBE_UNITS.commentThreads)) {
        outOfBudget = true;
        break;
      }
      spend(YOUTUBE_UNITS.commentThreads);
      const r = await apiGet(ctx, 'commentThreads', {
        part: 'snippet',
        ...feed.params,
        maxResults: PAGE_SIZE,
        order: 'time',
        textFormat: 'plainText',
        pageToken: feed.page ?? undefined,
      });
      if (!r.ok) {
        if (stopFor(r)) break;
        if (feed.videoId && ((r.status === 403 && r.reasons.includes('commentsDisabled')) || (r.status === 404 && r.reasons.includes('videoNotFound')))) {
          // Nothing to read on this video, now or later: stop watching it (and do not pick it again).
          logger.info({ brandId: brand.id, sourceId: source.id, videoId: feed.videoId, reasons: r.reasons }, 'YouTube video comments cannot be read; no longer watched');
          unreadable = [feed.videoId, ...unreadable.filter((v) => v !== feed.videoId)].slice(0, MAX_UNREADABLE);
          videos = videos.filter((v) => v !== feed.videoId);
          continue;
        }
        if (feed.page && r.status === 400 && r.reasons.includes('invalidPageToken')) {
          // An expired page token ends that result set; the next poll starts a new one from the watermark.
          feed.page = null;
          feed.pending = null;
          continue;
        }
        throw toError(r, feed.videoId ? 'commentThreads (video)' : 'commentThreads (channel)');
      }
      const items = r.body.items;
      if (!Array.isArray(items)) throw malformed('commentThreads: items is not an array');
      const nextPageToken = str(r.body.nextPageToken);
      const since = Date.parse(feed.since);
      let newest: string | null = null;
      let reachedOld = items.length === 0;
      items.forEach((item, i) => {
        const o = toComment(item, i, brand.id);
        const at = 'skip' in o ? o.publishedAt : o.comment.publishedAt;
        const t = at === undefined ? NaN : Date.parse(at);
        if (t <= since) {
          reachedOld = true;
          return;
        }
        if (!Number.isNaN(t) && (newest === null || t > Date.parse(newest))) newest = new Date(t).toISOString();
        if ('skip' in o) {
          skipped.push(o.skip);
          return;
        }
        if (seen.has(o.comment.mention.postId)) return;
        seen.add(o.comment.mention.postId);
        comments.push(o.comment);
      });
      if (nextPageToken && !reachedOld) {
        feed.pending = feed.pending ?? newest;
        feed.page = nextPageToken;
        hasMore = true;
      } else {
        const top = [feed.pending, newest].filter((x): x is string => x !== null).sort().pop();
        if (top && Date.parse(top) > since) feed.since = top;
        feed.page = null;
        feed.pending = null;
      }
    }

    // ---- followers: one channels.list per 50 new authors
    const followers = new Map<string, number>();
    const missing: string[] = [];
    for (const c of comments) {
      const id = c.mention.author.id;
      const hit = followerCache.get(id);
      if (hit && now - hit.at < FOLLOWERS_TTL_MS) followers.set(id, hit.followers);
      else if (!missing.includes(id)) missing.push(id);
    }
    for (let i = 0; i < missing.length && resumeAt === undefined; i += CHANNELS_PER_CALL) {
      if (!afford(YOUTUBE_UNITS.channels)) break;
      spend(YOUTUBE_UNITS.channels);
      const ids = missing.slice(i, i + CHANNELS_PER_CALL);
      const r = await apiGet(ctx, 'channels', { part: 'statistics', id: ids.join(','), maxResults: CHANNELS_PER_CALL });
      if (!r.ok) {
        if (stopFor(r)) break;
        throw toError(r, 'channels');
      }
      const items = r.body.items ?? [];
      if (!Array.isArray(items)) throw malformed('channels: items is not an array');
      for (const id of ids) followers.set(id, 0);
      for (const ch of items) {
        if (!isObj(ch) || !str(ch.id)) continue;
        const st = isObj(ch.statistics) ? ch.statistics : {};
        followers.set(str(ch.id)!, st.hiddenSubscriberCount === true ? 0 : count(st.subscriberCount));
      }
      // Channels YouTube did not return (closed) count 0 too, and are not asked again for an hour.
      for (const id of ids) followerCache.set(id, { followers: followers.get(id)!, at: now });
    }

    const mentions: Mention[] = [];
    for (const c of comments) {
      const r = mentionSchema.safeParse({ ...c.mention, author: { ...c.mention.author, followers: followers.get(c.mention.author.id) ?? 0 } });
      if (r.success) mentions.push(r.data);
      else skipped.push({ postId: c.mention.postId, reason: `the comment does not fit a mention (${[...new Set(r.error.issues.map((iss) => iss.path.join('.')))].join(', ')})` });
    }

    if (outOfBudget) {
      resumeAt = Math.max(resumeAt ?? 0, nextQuotaReset(now));
      logger.info({ brandId: brand.id, sourceId: source.id, units: quota.units, limit }, 'YouTube daily budget spent; waiting for the Pacific midnight reset');
    }

    const next: Cursor = {
      day: quota.day,
      units: quota.units,
      searches: quota.searches,
      query,
      searchedAt,
      videos: videos.join(','),
      unreadable: unreadable.join(','),
      channelId: source.channelId ?? null,
    };
    // Only the feeds still watched are kept: a video that left the watch list takes its keys along.
    const kept = new Set(videos.map((v) => `v:${v}`).concat(source.channelId ? ['channel'] : []));
    for (const f of feeds) {
      if (!kept.has(f.key)) continue;
      next[`${f.key}.since`] = f.since;
      next[`${f.key}.page`] = f.page;
      next[`${f.key}.pending`] = f.pending;
    }

    const result: PollResult = { mentions, cursor: next, hasMore: hasMore && resumeAt === undefined };
    if (skipped.length) result.skipped = skipped;
    if (resumeAt !== undefined) result.resumeAt = resumeAt;
    logger.debug({ brandId: brand.id, sourceId: source.id, count: mentions.length, feeds: toRead.length, units: quota.units, limit, hasMore: result.hasMore }, 'YouTube comment threads read');
    return result;
  },
};
