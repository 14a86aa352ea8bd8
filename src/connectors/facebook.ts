import type { FacebookSourceConfig } from '../config/sources/facebook';
import { RepwatchError } from '../domain/errors';
import type { Mention } from '../domain/mention';
import type { Cursor, PollContext, PollResult, SkippedPost, WebhookItem } from './connector';
import {
  advance,
  checkMention,
  count,
  fetchBatched,
  graphClient,
  isGraphId,
  isNewer,
  isObj,
  isoTime,
  later,
  listData,
  malformed,
  nextAfter,
  readWatermark,
  str,
  unknownAuthor,
  watermarkCursor,
  webhookChanges,
  type GraphClient,
  type Obj,
  type Watermark,
} from './meta';

/**
 * A Facebook Page the brand owns. Live: the Page webhook field `feed` (visitor posts and comments,
 * ids plus a preview), fetched in batches with the Page token. Fallback poll: the Page feed of the
 * last `lookback` with each post's newest comments (replies included), so comments on last week's
 * post are heard too, not only new posts.
 *
 * Docs checked: developers.facebook.com/docs/graph-api/webhooks/reference/page (feed value: from
 * {id,name}, post_id, comment_id, parent_id, created_time, item, verb, message),
 * /docs/graph-api/reference/page/feed, /reference/object/comments (filter=stream,
 * order=reverse_chronological, summary), /reference/comment (id, message, created_time, from,
 * like_count, comment_count, parent, permalink_url), /reference/post (permalink_url, shares,
 * reactions summary). Meta gives no follower counts for people who comment on a Page: followers 0.
 * `from` is withheld for some users (privacy): such posts get an author of their own.
 */

const WHAT = 'Facebook Graph API';
const WEBHOOK = 'Facebook Page webhook';
/** A first poll looks back a day for new items (and `lookback` further for the posts they sit under). */
export const FACEBOOK_FIRST_LOOKBACK_MS = 24 * 3_600_000;
const FEED_PAGE = 25;
/** Extra comment pages (100 each) read per post per poll when its 50 newest are all new. */
const MAX_EXTRA_COMMENT_PAGES = 3;

const COMMENT_FIELDS = 'id,message,created_time,from,like_count,comment_count,parent{id},permalink_url';
const POST_BASE_FIELDS = 'id,message,created_time,from,permalink_url,shares,reactions.limit(0).summary(total_count)';
const FEED_FIELDS = `${POST_BASE_FIELDS},comments.filter(stream).order(reverse_chronological).limit(50).summary(true){${COMMENT_FIELDS}}`;
const POST_FIELDS = `${POST_BASE_FIELDS},comments.limit(0).summary(true)`;

/** Feed items that are a post to fetch; reactions, likes, follows and the like carry no text. */
const POST_ITEMS = new Set(['post', 'status', 'photo', 'video', 'share', 'link', 'mention']);
/** Verbs with new or changed content; remove/delete/hide/block/mute/follow are left alone. */
const CONTENT_VERBS = new Set(['add', 'edited', 'edit', 'update']);

export type FacebookPollContext = Omit<PollContext, 'source'> & { source: FacebookSourceConfig };

// ---- mapping ------------------------------------------------------------------------------------

function author(from: unknown, postId: string): Mention['author'] {
  if (!isObj(from) || !str(from.id)) return unknownAuthor(postId);
  const name = str(from.name);
  // Graph has no public username for people: the display name is the handle, the id keeps them apart.
  return { id: from.id as string, handle: name ?? (from.id as string), name, followers: 0, verified: false };
}

const fromId = (o: Obj): string | undefined => (isObj(o.from) ? str(o.from.id) : undefined);
const summaryTotal = (v: unknown): number => (isObj(v) && isObj(v.summary) ? count(v.summary.total_count) : 0);

function postMention(p: Obj, brandId: string): Mention | string {
  const id = str(p.id);
  if (!id) return 'the post has no id';
  const createdAt = isoTime(p.created_time);
  if (!createdAt) return 'the post has no readable created_time';
  return checkMention({
    platform: 'facebook',
    postId: id,
    url: str(p.permalink_url) ?? '',
    brandId,
    author: author(p.from, id),
    // A photo or link post may have no message; it is still something said on the Page.
    text: typeof p.message === 'string' ? p.message : '',
    createdAt,
    engagement: { likes: summaryTotal(p.reactions), reposts: isObj(p.shares) ? count(p.shares.count) : 0, replies: summaryTotal(p.comments), quotes: 0 },
    conversationId: id,
  });
}

function commentMention(c: Obj, postId: string | undefined, brandId: string): Mention | string {
  const id = str(c.id);
  if (!id) return 'the comment has no id';
  const createdAt = isoTime(c.created_time);
  if (!createdAt) return 'the comment has no readable created_time';
  return checkMention({
    platform: 'facebook',
    postId: id,
    url: str(c.permalink_url) ?? '',
    brandId,
    author: author(c.from, id),
    text: typeof c.message === 'string' ? c.message : '',
    createdAt,
    engagement: { likes: count(c.like_count), reposts: 0, replies: count(c.comment_count), quotes: 0 },
    replyToId: (isObj(c.parent) ? str(c.parent.id) : undefined) ?? postId,
    conversationId: postId,
  });
}

// ---- webhook ------------------------------------------------------------------------------------

/**
 * Page `feed` changes: a comment → its comment_id; a post (status, photo, video, share, link,
 * mention) → its post_id. Removals and other verbs, reactions, and the Page's own posts and
 * replies are dropped here already; other Page fields (messages, …) are not for this receiver.
 */
function parse(body: unknown): WebhookItem[] {
  const items: WebhookItem[] = [];
  for (const { accountId, field, value } of webhookChanges(body, 'page', WEBHOOK)) {
    if (field !== 'feed') continue;
    const item = str(value.item);
    const verb = str(value.verb);
    if (!item || !verb) throw malformed(WEBHOOK, 'a feed change has no item and verb');
    if (!CONTENT_VERBS.has(verb)) continue;
    if (isObj(value.from) && str(value.from.id) === accountId) continue;
    if (item === 'comment') {
      if (!isGraphId(value.comment_id)) throw malformed(WEBHOOK, 'a comment change has no comment_id');
      items.push({
        accountId,
        field,
        id: value.comment_id,
        value: { item, verb, post_id: str(value.post_id), parent_id: str(value.parent_id), message: typeof value.message === 'string' ? value.message : undefined },
      });
    } else if (POST_ITEMS.has(item)) {
      if (!isGraphId(value.post_id)) throw malformed(WEBHOOK, `a ${item} change has no post_id`);
      items.push({ accountId, field, id: value.post_id, value: { item, verb } });
    }
  }
  return items;
}

function operation(item: WebhookItem): string | { skip: string } {
  if (!isGraphId(item.id)) return { skip: 'not a Graph id' };
  const fields = item.value?.item === 'comment' ? COMMENT_FIELDS : POST_FIELDS;
  return `${item.id}?fields=${encodeURIComponent(fields)}`;
}

function webhookMention(source: FacebookSourceConfig, brandId: string, item: WebhookItem, answer: Obj): Mention | string {
  if (fromId(answer) === source.pageId) return "the Page's own post or reply";
  if (item.value?.item === 'comment') return commentMention(answer, str(item.value.post_id), brandId);
  return postMention(answer, brandId);
}

// ---- polling fallback ---------------------------------------------------------------------------

/**
 * `since`/`sinceIds`: the newest item handed on. While paging through one scan of the feed, `after`
 * is Graph's cursor, `scanFrom` the scan's fixed start (unix seconds) and `pendingSince`/
 * `pendingIds` the scan's own newest; they become `since` only after the last page, so a crash or
 * a rate limit mid-scan re-reads rather than skips.
 */
interface FbCursor {
  mark: Watermark;
  after: string | null;
  scanFrom: number | null;
  pending: Watermark;
}

function readCursor(c: Cursor | null, now: number): FbCursor {
  const mark = readWatermark(c, 'since', 'sinceIds', now - FACEBOOK_FIRST_LOOKBACK_MS);
  const after = str(c?.after) ?? null;
  const scanFrom = after && typeof c?.scanFrom === 'number' && Number.isInteger(c.scanFrom) ? c.scanFrom : null;
  const pending = after && scanFrom !== null ? later(mark, readWatermark(c, 'pendingSince', 'pendingIds', mark.at)) : mark;
  return { mark, after: scanFrom === null ? null : after, scanFrom, pending };
}

function toCursor(c: FbCursor): Cursor {
  return {
    ...watermarkCursor(c.mark, 'since', 'sinceIds'),
    after: c.after,
    scanFrom: c.scanFrom,
    ...(c.after ? watermarkCursor(c.pending, 'pendingSince', 'pendingIds') : { pendingSince: null, pendingIds: null }),
  };
}

async function scanPage(ctx: FacebookPollContext, client: GraphClient, cur: FbCursor, out: { mentions: Mention[]; skipped: SkippedPost[] }): Promise<FbCursor> {
  const { source, brand } = ctx;
  const skip = (postId: string, reason: string) => void out.skipped.push({ postId, reason });
  const scanFrom = cur.scanFrom ?? Math.floor((cur.mark.at - source.lookback) / 1000);
  const params: Record<string, string> = { fields: FEED_FIELDS, since: String(scanFrom), limit: String(FEED_PAGE) };
  if (cur.after) params.after = cur.after;
  const { body } = await client.get(`${source.pageId}/feed`, params);
  let pending = cur.pending;

  /** Hands on a new item (unless it is the Page's own); false when the item is not newer than the watermark. */
  const take = (o: Obj, toMention: () => Mention | string, label: string): boolean => {
    const id = str(o.id);
    const at = isoTime(o.created_time);
    if (!id || !at) {
      skip(id ?? `(a ${label} without id)`, `the ${label} has no id or readable created_time`);
      return true;
    }
    const ms = Date.parse(at);
    if (!isNewer(cur.mark, ms, id)) return false;
    pending = advance(pending, ms, id);
    if (fromId(o) === source.pageId) return true;
    const m = toMention();
    if (typeof m === 'string') skip(id, m);
    else out.mentions.push(m);
    return true;
  };

  for (const p of listData(body, WHAT, 'Page feed')) {
    if (!isObj(p) || !isGraphId(p.id)) continue;
    const postId = p.id;
    take(p, () => postMention(p, brand.id), 'post');

    // Newest comments first: reading stops at the first one already handed on.
    let list: unknown = p.comments;
    let reachedKnown = false;
    for (let extra = 0; ; extra++) {
      const data = isObj(list) && Array.isArray(list.data) ? list.data : [];
      for (const c of data) {
        if (isObj(c) && !take(c, () => commentMention(c, postId, brand.id), 'comment')) reachedKnown = true;
      }
      const after = nextAfter(list);
      if (reachedKnown || !after) break;
      if (extra >= MAX_EXTRA_COMMENT_PAGES) {
        skip(postId, `more than ${50 + MAX_EXTRA_COMMENT_PAGES * 100} new comments on this post since the last poll; older ones were not read`);
        break;
      }
      list = (await client.get(`${postId}/comments`, { fields: COMMENT_FIELDS, filter: 'stream', order: 'reverse_chronological', limit: '100', after })).body;
    }
  }

  const after = nextAfter(body);
  if (after) return { mark: cur.mark, after, scanFrom, pending };
  return { mark: later(cur.mark, pending), after: null, scanFrom: null, pending: later(cur.mark, pending) };
}

export const facebookConnector: {
  readonly platform: 'facebook';
  poll(ctx: FacebookPollContext): Promise<PollResult>;
  webhook: {
    ownsAccount(source: FacebookSourceConfig, accountId: string): boolean;
    parse(body: unknown): WebhookItem[];
    fetch(ctx: FacebookPollContext, items: WebhookItem[]): Promise<Mention[]>;
  };
} = {
  platform: 'facebook',

  /** One page of the feed scan per poll; `hasMore` while the scan has pages left. */
  async poll(ctx) {
    const { source, brand, logger } = ctx;
    const client = graphClient(source, ctx.secrets, WHAT, ctx.now);
    const cur = readCursor(ctx.cursor, ctx.now);
    const out = { mentions: [] as Mention[], skipped: [] as SkippedPost[] };
    let next: FbCursor;
    try {
      next = await scanPage(ctx, client, cur, out);
    } catch (err) {
      if (err instanceof RepwatchError && err.code === 'RW_ERR_PLATFORM_RATE_LIMITED') {
        const resumeAt = ctx.now + (err.retryAfterMs ?? 0);
        logger.info({ brandId: brand.id, sourceId: source.id, resumeAt, handedOn: out.mentions.length }, 'Facebook rate limit reached; waiting');
        return { mentions: out.mentions, cursor: ctx.cursor ?? {}, hasMore: false, resumeAt, ...(out.skipped.length ? { skipped: out.skipped } : {}) };
      }
      throw err;
    }
    const result: PollResult = { mentions: out.mentions, cursor: toCursor(next), hasMore: next.after !== null, ...(out.skipped.length ? { skipped: out.skipped } : {}) };
    const resumeAt = client.resumeAt();
    if (resumeAt !== undefined) {
      result.resumeAt = resumeAt;
      result.hasMore = false;
    }
    logger.debug({ brandId: brand.id, sourceId: source.id, count: out.mentions.length, skipped: out.skipped.length, hasMore: result.hasMore, resumeAt }, 'Facebook feed page');
    return result;
  },

  webhook: {
    ownsAccount: (source, accountId) => source.pageId === accountId,
    parse,
    async fetch(ctx, items) {
      const { source, brand } = ctx;
      const client = graphClient(source, ctx.secrets, WHAT, ctx.now);
      return fetchBatched({
        client,
        items,
        now: ctx.now,
        what: WHAT,
        logger: ctx.logger,
        sourceId: source.id,
        operation,
        toMention: (item, answer) => webhookMention(source, brand.id, item, answer),
      });
    },
  },
};
