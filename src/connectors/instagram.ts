import type { InstagramSourceConfig } from '../config/sources/instagram';
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
 * Instagram (professional account the brand owns), through the Instagram API with Facebook Login
 * on graph.facebook.com. Live: webhooks `comments` and `mentions` (ids only for mentions), fetched
 * in batches. Fallback poll: comments on the account's recent media (re-read when a medium's
 * comments_count changed) and the media the account is tagged in. @mentions in other people's
 * captions and comments have no list endpoint: only the webhook hears them.
 *
 * Docs checked: developers.facebook.com/docs/instagram-platform/webhooks (examples: comments value
 * {id, from{id,username}, text, media{id,media_product_type}, parent_id}; mentions value
 * {media_id, comment_id}), /reference/ig-comment (id, text, timestamp, username, from,
 * like_count, parent_id, replies, media), /ig-user/mentioned_comment and /mentioned_media (comments
 * found through mentions can only be read through these), /ig-user/media, /ig-user/tags.
 * Commenters' follower counts are not given by the Graph API (business_discovery works only for
 * professional accounts and is not used): followers are 0.
 */

const WHAT = 'Instagram Graph API';
const WEBHOOK = 'Instagram webhook';
/** A first poll looks back a day: webhooks are the live path, the poll only fills gaps. */
export const INSTAGRAM_FIRST_LOOKBACK_MS = 24 * 3_600_000;
const MEDIA_LIMIT = 25;
const COMMENTS_PAGE = 50;
/** Comment pages read per medium per poll (250 comments); a busier medium is reported in `skipped`. */
const MAX_COMMENT_PAGES = 5;
const TAGS_PAGE = 25;
const MAX_TAG_PAGES = 4;

const COMMENT_FIELDS = 'id,text,timestamp,username,like_count,from,parent_id';
const COMMENTS_EDGE_FIELDS = `${COMMENT_FIELDS},replies.limit(50){${COMMENT_FIELDS}}`;
const MEDIA_FIELDS = 'id,caption,timestamp,username,permalink,like_count,comments_count';

export type InstagramPollContext = Omit<PollContext, 'source'> & { source: InstagramSourceConfig };

// ---- mapping ------------------------------------------------------------------------------------

/**
 * Instagram gives every author a username but an id only in some places (a comment's `from`, not a
 * mentioned comment nor a tagged medium), so the username is the author id: one customer stays one
 * author across comments, mentions and tags.
 */
function author(username: string | undefined, postId: string): Mention['author'] {
  return username ? { id: username, handle: username, followers: 0, verified: false } : unknownAuthor(postId);
}

function commentMention(c: Obj, mediaId: string | undefined, permalink: string | undefined, brandId: string): Mention | string {
  const id = str(c.id);
  if (!id) return 'the comment has no id';
  if (typeof c.text !== 'string') return 'the comment has no text';
  const createdAt = isoTime(c.timestamp);
  if (!createdAt) return 'the comment has no readable timestamp';
  const from = isObj(c.from) ? c.from : {};
  const replies = isObj(c.replies) && Array.isArray(c.replies.data) ? c.replies.data.length : 0;
  return checkMention({
    platform: 'instagram',
    postId: id,
    url: permalink ?? '',
    brandId,
    author: author(str(c.username) ?? str(from.username), id),
    text: c.text,
    createdAt,
    engagement: { likes: count(c.like_count), reposts: 0, replies, quotes: 0 },
    replyToId: str(c.parent_id) ?? mediaId,
    conversationId: mediaId,
  });
}

function mediaMention(m: Obj, brandId: string): Mention | string {
  const id = str(m.id);
  if (!id) return 'the medium has no id';
  const createdAt = isoTime(m.timestamp);
  if (!createdAt) return 'the medium has no readable timestamp';
  return checkMention({
    platform: 'instagram',
    postId: id,
    url: str(m.permalink) ?? '',
    brandId,
    author: author(str(m.username), id),
    // A tagged photo without a caption still ties the brand to the post.
    text: typeof m.caption === 'string' ? m.caption : '',
    createdAt,
    engagement: { likes: count(m.like_count), reposts: 0, replies: count(m.comments_count), quotes: 0 },
    conversationId: id,
  });
}

// ---- webhook ------------------------------------------------------------------------------------

/**
 * `comments` → the comment id; `mentions` → the comment id when the mention is in a comment, else
 * the medium id (caption mention). Other fields (messages, story_insights, live_comments, which
 * can only be read while the broadcast lasts) are not for this receiver and are ignored.
 */
function parse(body: unknown): WebhookItem[] {
  const items: WebhookItem[] = [];
  for (const { accountId, field, value } of webhookChanges(body, 'instagram', WEBHOOK)) {
    if (field === 'comments') {
      if (!isGraphId(value.id)) throw malformed(WEBHOOK, 'a comments change has no comment id (value.id)');
      const media = isObj(value.media) ? value.media : {};
      const from = isObj(value.from) ? value.from : {};
      items.push({
        accountId,
        field,
        id: value.id,
        value: { media_id: str(media.id), parent_id: str(value.parent_id), username: str(from.username), text: typeof value.text === 'string' ? value.text : undefined },
      });
    } else if (field === 'mentions') {
      if (value.comment_id !== undefined) {
        if (!isGraphId(value.comment_id)) throw malformed(WEBHOOK, 'a mentions change has a comment_id that is not a Graph id');
        items.push({ accountId, field, id: value.comment_id, value: { kind: 'comment', comment_id: value.comment_id, media_id: str(value.media_id) } });
      } else if (isGraphId(value.media_id)) {
        items.push({ accountId, field, id: value.media_id, value: { kind: 'media', media_id: value.media_id } });
      } else {
        throw malformed(WEBHOOK, 'a mentions change has neither comment_id nor media_id');
      }
    }
  }
  return items;
}

const fieldsParam = (fields: string) => `fields=${encodeURIComponent(fields)}`;

/** The Graph read for one webhook item: comments on own media directly, mentions only through the account's mentioned_* fields. */
function operation(source: InstagramSourceConfig, item: WebhookItem): string | { skip: string } {
  if (!isGraphId(item.id)) return { skip: 'not a Graph id' };
  if (item.field === 'comments') return `${item.id}?${fieldsParam(`${COMMENT_FIELDS},media{id,permalink}`)}`;
  if (item.field === 'mentions' && item.value?.kind === 'media') {
    return `${source.igUserId}?${fieldsParam(`mentioned_media.media_id(${item.id}){id,caption,timestamp,like_count,comments_count,username}`)}`;
  }
  if (item.field === 'mentions') {
    return `${source.igUserId}?${fieldsParam(`mentioned_comment.comment_id(${item.id}){id,text,timestamp,like_count,username,media{id}}`)}`;
  }
  return { skip: `field ${item.field} is not read` };
}

function webhookMention(source: InstagramSourceConfig, brandId: string, item: WebhookItem, answer: Obj): Mention | string {
  if (item.field === 'comments') {
    const from = isObj(answer.from) ? answer.from : {};
    if (str(from.id) === source.igUserId) return "the account's own comment";
    const media = isObj(answer.media) ? answer.media : {};
    return commentMention(answer, str(media.id) ?? str(item.value?.media_id), str(media.permalink), brandId);
  }
  if (item.value?.kind === 'media') {
    return isObj(answer.mentioned_media) ? mediaMention(answer.mentioned_media, brandId) : 'Meta returned no mentioned_media';
  }
  if (!isObj(answer.mentioned_comment)) return 'Meta returned no mentioned_comment';
  const c = answer.mentioned_comment;
  const media = isObj(c.media) ? c.media : {};
  return commentMention(c, str(media.id) ?? str(item.value?.media_id), undefined, brandId);
}

// ---- polling fallback ---------------------------------------------------------------------------

interface IgCursor {
  comments: Watermark;
  tags: Watermark;
  /** comments_count of each recent medium at the last poll: a medium is re-read only when it changed. */
  counts: Map<string, number>;
}

function readCursor(c: Cursor | null, now: number): IgCursor {
  const start = now - INSTAGRAM_FIRST_LOOKBACK_MS;
  const counts = new Map<string, number>();
  if (typeof c?.counts === 'string') {
    try {
      const parsed: unknown = JSON.parse(c.counts);
      if (isObj(parsed)) for (const [k, v] of Object.entries(parsed)) if (typeof v === 'number') counts.set(k, v);
    } catch {
      // An unreadable map only means every medium is re-read once.
    }
  }
  return { comments: readWatermark(c, 'commentsSince', 'commentsIds', start), tags: readWatermark(c, 'tagsSince', 'tagsIds', start), counts };
}

function toCursor(c: IgCursor): Cursor {
  return { ...watermarkCursor(c.comments, 'commentsSince', 'commentsIds'), ...watermarkCursor(c.tags, 'tagsSince', 'tagsIds'), counts: JSON.stringify(Object.fromEntries(c.counts)) };
}

/** A medium's comments with their replies (flattened, replies knowing their parent), up to MAX_COMMENT_PAGES pages. */
async function readComments(client: GraphClient, mediaId: string): Promise<{ comments: Obj[]; truncated: boolean }> {
  const comments: Obj[] = [];
  const params: Record<string, string> = { fields: COMMENTS_EDGE_FIELDS, limit: String(COMMENTS_PAGE) };
  for (let page = 1; ; page++) {
    const { body } = await client.get(`${mediaId}/comments`, params);
    for (const c of listData(body, WHAT, `comments of ${mediaId}`)) {
      if (!isObj(c)) continue;
      comments.push(c);
      const replies = isObj(c.replies) && Array.isArray(c.replies.data) ? c.replies.data : [];
      for (const r of replies) if (isObj(r)) comments.push({ ...r, parent_id: str(r.parent_id) ?? str(c.id) });
    }
    const after = nextAfter(body);
    if (!after) return { comments, truncated: false };
    if (page >= MAX_COMMENT_PAGES) return { comments, truncated: true };
    params.after = after;
  }
}

async function pollOnce(ctx: InstagramPollContext, client: GraphClient, cur: IgCursor, out: { mentions: Mention[]; skipped: SkippedPost[] }): Promise<IgCursor> {
  const { source, brand } = ctx;
  const skip = (postId: string, reason: string) => void out.skipped.push({ postId, reason });

  // 1. Comments on the account's recent media, re-read only where comments_count moved.
  const { body: mediaBody } = await client.get(`${source.igUserId}/media`, { fields: 'id,timestamp,comments_count,permalink', limit: String(MEDIA_LIMIT) });
  const counts = new Map<string, number>();
  let commentsMark = cur.comments;
  for (const m of listData(mediaBody, WHAT, 'recent media')) {
    if (!isObj(m) || !isGraphId(m.id)) continue;
    const n = count(m.comments_count);
    counts.set(m.id, n);
    if (n === 0 || cur.counts.get(m.id) === n) continue;
    const { comments, truncated } = await readComments(client, m.id);
    if (truncated) skip(m.id, `more than ${MAX_COMMENT_PAGES * COMMENTS_PAGE} comments to read on this medium; the webhook is the path for the rest`);
    for (const c of comments) {
      const id = str(c.id);
      const at = isoTime(c.timestamp);
      if (!id || !at) {
        skip(id ?? `(a comment on ${m.id} without id)`, 'the comment has no id or readable timestamp');
        continue;
      }
      const ms = Date.parse(at);
      if (!isNewer(cur.comments, ms, id)) continue;
      commentsMark = advance(commentsMark, ms, id);
      if (isObj(c.from) && str(c.from.id) === source.igUserId) continue;
      const mention = commentMention(c, m.id, str(m.permalink), brand.id);
      if (typeof mention === 'string') skip(id, mention);
      else out.mentions.push(mention);
    }
  }

  // 2. Media the account is tagged in, newest first, until known ones.
  let tagsMark = cur.tags;
  const params: Record<string, string> = { fields: MEDIA_FIELDS, limit: String(TAGS_PAGE) };
  for (let page = 1; ; page++) {
    const { body } = await client.get(`${source.igUserId}/tags`, params);
    let reachedKnown = false;
    for (const m of listData(body, WHAT, 'tags')) {
      if (!isObj(m)) continue;
      const id = str(m.id);
      const at = isoTime(m.timestamp);
      if (!id || !at) {
        skip(id ?? '(a tagged medium without id)', 'the medium has no id or readable timestamp');
        continue;
      }
      const ms = Date.parse(at);
      if (!isNewer(cur.tags, ms, id)) {
        reachedKnown = true;
        continue;
      }
      tagsMark = advance(tagsMark, ms, id);
      const mention = mediaMention(m, brand.id);
      if (typeof mention === 'string') skip(id, mention);
      else out.mentions.push(mention);
    }
    const after = nextAfter(body);
    if (reachedKnown || !after) break;
    if (page >= MAX_TAG_PAGES) {
      skip(source.igUserId, `more than ${MAX_TAG_PAGES * TAGS_PAGE} new tagged media since the last poll; older ones were not read`);
      break;
    }
    params.after = after;
  }

  return { comments: later(cur.comments, commentsMark), tags: later(cur.tags, tagsMark), counts };
}

export const instagramConnector: {
  readonly platform: 'instagram';
  poll(ctx: InstagramPollContext): Promise<PollResult>;
  webhook: {
    ownsAccount(source: InstagramSourceConfig, accountId: string): boolean;
    parse(body: unknown): WebhookItem[];
    fetch(ctx: InstagramPollContext, items: WebhookItem[]): Promise<Mention[]>;
  };
} = {
  platform: 'instagram',

  /**
   * The fallback: one pass over recent media and tags. The watermarks move only after the whole
   * pass; a rate limit part-way hands on what was read and keeps the old cursor (the store drops
   * the repeats next time), with `resumeAt` from Meta's usage headers.
   */
  async poll(ctx) {
    const { source, brand, logger } = ctx;
    const client = graphClient(source, ctx.secrets, WHAT, ctx.now);
    const cur = readCursor(ctx.cursor, ctx.now);
    const out = { mentions: [] as Mention[], skipped: [] as SkippedPost[] };
    let next: IgCursor;
    try {
      next = await pollOnce(ctx, client, cur, out);
    } catch (err) {
      if (err instanceof RepwatchError && err.code === 'RW_ERR_PLATFORM_RATE_LIMITED') {
        const resumeAt = ctx.now + (err.retryAfterMs ?? 0);
        logger.info({ brandId: brand.id, sourceId: source.id, resumeAt, handedOn: out.mentions.length }, 'Instagram rate limit reached; waiting');
        return { mentions: out.mentions, cursor: ctx.cursor ?? {}, hasMore: false, resumeAt, ...(out.skipped.length ? { skipped: out.skipped } : {}) };
      }
      throw err;
    }
    const result: PollResult = { mentions: out.mentions, cursor: toCursor(next), hasMore: false, ...(out.skipped.length ? { skipped: out.skipped } : {}) };
    const resumeAt = client.resumeAt();
    if (resumeAt !== undefined) result.resumeAt = resumeAt;
    logger.debug({ brandId: brand.id, sourceId: source.id, count: out.mentions.length, skipped: out.skipped.length, resumeAt }, 'Instagram fallback poll');
    return result;
  },

  webhook: {
    ownsAccount: (source, accountId) => source.igUserId === accountId,
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
        operation: (item) => operation(source, item),
        toMention: (item, answer) => webhookMention(source, brand.id, item, answer),
      });
    },
  },
};
