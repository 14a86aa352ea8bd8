import { ApiPartialResponseError, ApiRequestError, ApiResponseError, TwitterApi, type TwitterResponse } from 'twitter-api-v2';
import type { IncomingHttpHeaders } from 'node:http';
import type { BrandConfig, XSourceConfig } from '../config/schema';
import { RepwatchError } from '../domain/errors';
import { parseExclusion, parseKeyword, type MatchTerm } from '../domain/matcher';
import { mentionSchema, type Engagement, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError } from '../notifiers/http';
import type { Connector, Cursor, PollContext, PollResult, SkippedPost } from './connector';

/** X's documented limit for a recent-search query (self-serve access). */
export const X_QUERY_MAX_LENGTH = 512;
const WHAT = 'X recent search';
/** X sends no Retry-After; when the reset header is missing too, wait one rate-limit window. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 15 * 60_000;
/** Socket idle timeout for one search request. */
const REQUEST_TIMEOUT_MS = 30_000;

const USER_FIELDS = ['public_metrics', 'verified', 'verified_type', 'username', 'name'];
const TWEET_FIELDS = ['created_at', 'lang', 'public_metrics', 'conversation_id', 'in_reply_to_user_id', 'referenced_tweets', 'author_id', 'note_tweet'];
const VERIFIED_TYPES = new Set(['blue', 'business', 'government']);

/** A bare word (or #hashtag / $cashtag) is a valid term as is; anything else is quoted as a phrase. */
const BARE_TERM = /^[#$]?[\p{L}\p{N}_]+$/u;
const RESERVED = new Set(['OR', 'AND']);

function keywordTerm(keyword: string): string | undefined {
  const k = keyword.trim();
  if (!k) return undefined;
  if (BARE_TERM.test(k) && !RESERVED.has(k)) return k;
  // X has no reliable escape for '"' inside a phrase; dropping it keeps the query valid.
  const phrase = k.replace(/"/g, ' ').replace(/\s+/g, ' ').trim();
  return phrase ? `"${phrase}"` : undefined;
}

/** A matcher term in X's syntax: #tag and @name are X's own operators; a phrase is a bare word or quoted. */
function xTerm(term: MatchTerm, negated = false): string | undefined {
  const t = term.kind === 'phrase' ? keywordTerm(term.raw) : term.raw;
  return t && negated ? `-${t}` : t;
}

/**
 * A keyword's alternatives (see the grammar in src/domain/matcher.ts), each one OR-able term:
 * AND becomes a space and NOT a '-', and an alternative of several literals is put in parentheses so
 * that its meaning does not rest on X applying AND before OR.
 */
function keywordAlternatives(keyword: string): string[] {
  const parsed = parseKeyword(keyword);
  if (!parsed) return [];
  return parsed.branches.flatMap((branch) => {
    const parts = branch.map((l) => xTerm(l.term, l.negated)).filter((t): t is string => t !== undefined);
    if (parts.length === 0) return [];
    return [parts.length > 1 ? `(${parts.join(' ')})` : parts[0]];
  });
}

function inBrand(brandId: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof RepwatchError && err.code === 'RW_ERR_CONFIG_INVALID') {
      throw new RepwatchError(err.code, `brand "${brandId}": ${err.message}`, { details: { brandId, ...err.details } });
    }
    throw err;
  }
}

/**
 * The recent-search query for a brand, from the same definition as the brand matcher: its keywords
 * (boolean keywords translated) and handles OR-ed in one group, its exclusions as negated terms
 * (-word, -"a phrase"), then the source's extra terms. No lang: filter, because X tags many short
 * posts 'und'/'qme' and they would be lost; the language hint travels with each mention instead.
 */
export function buildXQuery(brand: Pick<BrandConfig, 'id' | 'keywords' | 'handles'> & Partial<Pick<BrandConfig, 'exclude'>>, queryExtra = ''): string {
  const terms: string[] = [];
  const negated: string[] = [];
  const seen = new Set<string>();
  const add = (list: string[], term: string | undefined): void => {
    if (term && !seen.has(term.toLowerCase())) {
      seen.add(term.toLowerCase());
      list.push(term);
    }
  };
  inBrand(brand.id, () => {
    for (const k of brand.keywords) for (const alt of keywordAlternatives(k)) add(terms, alt);
    for (const e of brand.exclude ?? []) {
      const term = parseExclusion(e);
      if (term) add(negated, xTerm(term, true));
    }
  });
  for (const h of brand.handles) {
    const handle = h.trim().replace(/^@/, '');
    if (!handle) continue;
    add(terms, `@${handle}`);
    add(terms, `to:${handle}`);
  }
  if (terms.length === 0) {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `brand "${brand.id}" has no keyword or handle to search X for`, { details: { brandId: brand.id } });
  }
  const tail = [...negated, queryExtra.trim()].filter(Boolean).join(' ');
  const query = `(${terms.join(' OR ')})${tail ? ` ${tail}` : ''}`;
  if (query.length > X_QUERY_MAX_LENGTH) {
    throw new RepwatchError(
      'RW_ERR_CONFIG_INVALID',
      `the X search query for brand "${brand.id}" is ${query.length} characters, over X's limit of ${X_QUERY_MAX_LENGTH}: use fewer or shorter keywords, handles and exclusions, or a shorter queryExtra`,
      { details: { brandId: brand.id, length: query.length, limit: X_QUERY_MAX_LENGTH } },
    );
  }
  return query;
}

// ---- cursor -------------------------------------------------------------------------------

interface XCursor {
  sinceId: string | null;
  nextToken: string | null;
  pendingNewestId: string | null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function readCursor(cursor: Cursor | null): XCursor {
  const nextToken = str(cursor?.nextToken);
  return {
    sinceId: str(cursor?.sinceId),
    nextToken,
    // A pending watermark only means something while paging through one result set.
    pendingNewestId: nextToken ? str(cursor?.pendingNewestId) : null,
  };
}

function toCursor(c: XCursor): Cursor {
  return { sinceId: c.sinceId, nextToken: c.nextToken, pendingNewestId: c.pendingNewestId };
}

// ---- response shape -----------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function malformed(problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${WHAT} answered with a body that does not have the documented shape: ${problem}`, {
    details: { problem },
  });
}

function int(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

interface Page {
  mentions: Mention[];
  /** Posts left out, with why (partial errors: an author X could not return). */
  skipped: SkippedPost[];
  newestId: string | null;
  nextToken: string | null;
}

/**
 * X's partial errors: a 200 whose `errors` array names resources it could not return, such as
 * `{resource_type:'user', parameter:'author_id', resource_id, title:'Not Found Error', detail}`
 * for an author that was suspended or deleted. Keyed by resource type and id.
 */
function partialErrors(errors: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(errors)) return out;
  for (const e of errors) {
    if (!isObj(e) || typeof e.resource_id !== 'string') continue;
    const title = typeof e.title === 'string' ? e.title : 'Error';
    const detail = typeof e.detail === 'string' ? e.detail : '';
    out.set(`${typeof e.resource_type === 'string' ? e.resource_type : '?'}/${e.resource_id}`, `${title}${detail ? `: ${detail}` : ''}`.slice(0, 300));
  }
  return out;
}

/**
 * A page of recent search. The page as a whole must have the documented shape (else
 * RW_ERR_PAYLOAD_MALFORMED: nothing on it can be trusted); a single post that cannot be read (its
 * author missing, a field of the wrong type) is skipped with its reason, so one bad post never
 * holds the source back.
 */
function parsePage(body: unknown, brandId: string): Page {
  if (!isObj(body)) throw malformed(`body is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}, not an object`);
  const { data, includes, meta } = body;
  if (!isObj(meta)) throw malformed('meta is missing or not an object');
  if (data !== undefined && !Array.isArray(data)) throw malformed(`data is ${typeof data}, not an array`);
  const tweets = (data ?? []) as unknown[];

  const users = new Map<string, Obj>();
  if (includes !== undefined) {
    if (!isObj(includes)) throw malformed('includes is not an object');
    if (includes.users !== undefined) {
      if (!Array.isArray(includes.users)) throw malformed('includes.users is not an array');
      for (const u of includes.users) if (isObj(u) && typeof u.id === 'string') users.set(u.id, u);
    }
  }
  const problems = partialErrors(body.errors);

  const mentions: Mention[] = [];
  const skipped: SkippedPost[] = [];
  tweets.forEach((t, i) => {
    const postId = isObj(t) && typeof t.id === 'string' && t.id ? t.id : `(data[${i}] without id)`;
    const skip = (reason: string) => void skipped.push({ postId, reason });
    if (!isObj(t) || typeof t.id !== 'string' || !t.id || typeof t.text !== 'string') return skip('the post has no string id and text');
    if (typeof t.author_id !== 'string') return skip('the post has no author_id');
    const u = users.get(t.author_id);
    if (!u || typeof u.username !== 'string') {
      const why = problems.get(`user/${t.author_id}`);
      return skip(why ? `author ${t.author_id}: ${why}` : `author ${t.author_id} is missing from includes.users`);
    }
    const um = isObj(u.public_metrics) ? u.public_metrics : {};
    const tm = isObj(t.public_metrics) ? t.public_metrics : {};
    const verifiedType = typeof u.verified_type === 'string' ? u.verified_type : undefined;
    const refs = Array.isArray(t.referenced_tweets) ? t.referenced_tweets : [];
    const replyTo = refs.find((r): r is Obj => isObj(r) && r.type === 'replied_to' && typeof r.id === 'string');
    // A long post's `text` is its first 280 characters; the whole post is in note_tweet.text.
    const noteText = isObj(t.note_tweet) && typeof t.note_tweet.text === 'string' && t.note_tweet.text ? t.note_tweet.text : undefined;
    const candidate = {
      platform: 'x',
      postId: t.id,
      url: `https://x.com/${u.username}/status/${t.id}`,
      brandId,
      author: {
        id: t.author_id,
        handle: u.username,
        name: typeof u.name === 'string' ? u.name : undefined,
        followers: int(um.followers_count),
        verified: u.verified === true || (verifiedType !== undefined && VERIFIED_TYPES.has(verifiedType)),
        verifiedType,
      },
      text: noteText ?? t.text,
      langHint: typeof t.lang === 'string' ? t.lang : undefined,
      createdAt: t.created_at,
      engagement: { likes: int(tm.like_count), reposts: int(tm.retweet_count), replies: int(tm.reply_count), quotes: int(tm.quote_count) },
      replyToId: replyTo?.id as string | undefined,
      conversationId: typeof t.conversation_id === 'string' ? t.conversation_id : undefined,
    };
    const r = mentionSchema.safeParse(candidate);
    if (!r.success) return skip(`the post does not fit a mention (${[...new Set(r.error.issues.map((iss) => iss.path.join('.')))].join(', ')})`);
    mentions.push(r.data);
  });

  return { mentions, skipped, newestId: str(meta.newest_id), nextToken: str(meta.next_token) };
}

// ---- rate limits and errors ---------------------------------------------------------------

function header(headers: IncomingHttpHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

function epochSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/** When calls may resume: the 15-minute window's reset, or the 24-hour cap's when that is spent too. */
function resumeAtFrom(headers: IncomingHttpHeaders | undefined, now: number): number {
  const windowReset = epochSeconds(header(headers, 'x-rate-limit-reset'));
  const dayReset = header(headers, 'x-app-limit-24hour-remaining') === '0' ? epochSeconds(header(headers, 'x-app-limit-24hour-reset')) : undefined;
  const at = Math.max(windowReset ?? 0, dayReset ?? 0);
  return at > 0 ? at : now + DEFAULT_RATE_LIMIT_WAIT_MS;
}

/** The query parameters a 400 names (X lists them in errors[].parameters), read from structure, not text. */
function rejectedParameters(data: unknown): string[] {
  if (!isObj(data) || !Array.isArray(data.errors)) return [];
  return data.errors.flatMap((e) => (isObj(e) && isObj(e.parameters) ? Object.keys(e.parameters) : []));
}

/**
 * Library errors carry the request (with its Authorization header), so none is attached as a
 * cause: only the status and X's problem title/type go into the coded error.
 */
function toRepwatchError(err: unknown, secrets: readonly string[]): RepwatchError {
  if (err instanceof RepwatchError) return err;
  if (err instanceof ApiResponseError) {
    const e = httpError(err.code, WHAT, PLATFORM_CODES);
    const title = isObj(err.data) && typeof err.data.title === 'string' ? scrubSecrets(err.data.title, secrets).slice(0, 200) : undefined;
    const type = isObj(err.data) && typeof err.data.type === 'string' ? scrubSecrets(err.data.type, secrets).slice(0, 200) : undefined;
    return new RepwatchError(e.code, title ? `${e.message} (${title})` : e.message, { details: { status: err.code, title, type } });
  }
  if (err instanceof ApiRequestError) {
    // twitter-api-v2 1.29.1: the requestError getter reads _options.requestError but the error is stored as _options.error.
    const cause = err.requestError ?? (err as unknown as { _options?: { error?: unknown } })._options?.error;
    return networkError(cause, WHAT, PLATFORM_CODES);
  }
  if (err instanceof ApiPartialResponseError) {
    const status = err.response?.statusCode ?? 0;
    // A 2xx whose JSON does not parse is a bad body; a cut-off answer is worth another try.
    if (status >= 200 && status < 300 && err.responseError instanceof SyntaxError && err.response?.complete) {
      return malformed('body is not valid JSON');
    }
    return new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${WHAT} answer was cut off (HTTP ${status})`, { details: { status } });
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${WHAT} failed unexpectedly (${name})`);
}

// ---- connector ----------------------------------------------------------------------------

interface SearchParams {
  [key: string]: string | number | string[] | undefined;
}

/**
 * X API v2 recent search, one page per poll. Paging through a result set keeps since_id fixed and
 * remembers the set's newest id as `pendingNewestId`; it becomes the new since_id only after the
 * last page, so a crash mid-set re-reads rather than skips.
 */
export const xConnector: Connector<XSourceConfig> = {
  platform: 'x',
  async poll(ctx: PollContext<XSourceConfig>): Promise<PollResult> {
    const { brand, source, logger } = ctx;
    const token = ctx.secrets.get(source.bearerTokenEnv);
    const cursor = readCursor(ctx.cursor);
    const params: SearchParams = {
      query: buildXQuery(brand, source.queryExtra),
      max_results: source.pageSize,
      since_id: cursor.sinceId ?? undefined,
      next_token: cursor.nextToken ?? undefined,
      expansions: ['author_id'],
      'user.fields': USER_FIELDS,
      'tweet.fields': TWEET_FIELDS,
    };

    let response: TwitterResponse<unknown>;
    try {
      const client = new TwitterApi(token);
      // The low-level get returns headers; the paginator would hide them and its iteration stops silently on 429.
      response = await client.v2.get<unknown>('tweets/search/recent', params, { fullResponse: true, timeout: REQUEST_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof ApiResponseError && err.code === 429) {
        const resumeAt = resumeAtFrom(err.headers, ctx.now);
        logger.debug({ brandId: brand.id, sourceId: source.id, resumeAt }, 'X rate limit reached; waiting for reset');
        return { mentions: [], cursor: ctx.cursor ?? {}, hasMore: false, resumeAt };
      }
      if (err instanceof ApiResponseError && err.code === 400) {
        // since_id older than 7 days, or an expired next_token, would fail every poll forever: start a new set.
        const bad = rejectedParameters(err.data).filter((p) => p === 'since_id' || p === 'next_token');
        if (bad.length > 0 && (cursor.sinceId || cursor.nextToken)) {
          logger.warn({ brandId: brand.id, sourceId: source.id, parameters: bad }, 'X rejected the stored position; searching again from the most recent posts');
          return { mentions: [], cursor: toCursor({ sinceId: null, nextToken: null, pendingNewestId: null }), hasMore: true };
        }
      }
      throw toRepwatchError(err, ctx.secrets.values());
    }

    const page = parsePage(response.data, brand.id);
    let next: XCursor;
    let hasMore: boolean;
    if (page.nextToken) {
      next = { sinceId: cursor.sinceId, nextToken: page.nextToken, pendingNewestId: cursor.pendingNewestId ?? page.newestId };
      hasMore = true;
    } else {
      next = { sinceId: cursor.pendingNewestId ?? page.newestId ?? cursor.sinceId, nextToken: null, pendingNewestId: null };
      hasMore = false;
    }

    const result: PollResult = { mentions: page.mentions, cursor: toCursor(next), hasMore, ...(page.skipped.length ? { skipped: page.skipped } : {}) };
    if (header(response.headers, 'x-rate-limit-remaining') === '0' || header(response.headers, 'x-app-limit-24hour-remaining') === '0') {
      result.resumeAt = resumeAtFrom(response.headers, ctx.now);
      result.hasMore = false;
    }
    logger.debug(
      { brandId: brand.id, sourceId: source.id, count: page.mentions.length, hasMore: result.hasMore, remaining: header(response.headers, 'x-rate-limit-remaining') },
      'X search page',
    );
    return result;
  },
};

/**
 * Engagement of earlier posts: GET /2/tweets (up to 100 ids, public_metrics). Deleted or
 * protected posts come back in `errors` and are left out. A 429 is thrown as rate limited with
 * the reset time, so the recheck job waits rather than polls.
 */
xConnector.engagement = async (ctx, postIds) => {
  const token = ctx.secrets.get(ctx.source.bearerTokenEnv);
  const out = new Map<string, Engagement>();
  if (postIds.length === 0) return out;
  if (postIds.length > 100) throw new RepwatchError('RW_ERR_INPUT_INVALID', `X looks up at most 100 posts at once, not ${postIds.length}`);
  let response: TwitterResponse<unknown>;
  try {
    response = await new TwitterApi(token).v2.get<unknown>('tweets', { ids: postIds.join(','), 'tweet.fields': ['public_metrics'] }, { fullResponse: true, timeout: REQUEST_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof ApiResponseError && err.code === 429) {
      const wait = Math.max(0, resumeAtFrom(err.headers, ctx.now) - ctx.now);
      throw new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', `${WHAT} rate limit reached for post lookups`, { retryAfterMs: wait });
    }
    throw toRepwatchError(err, ctx.secrets.values());
  }
  const body = response.data;
  if (!isObj(body)) throw malformed('post lookup body is not an object');
  if (body.data !== undefined && !Array.isArray(body.data)) throw malformed('post lookup data is not an array');
  for (const t of (body.data ?? []) as unknown[]) {
    if (!isObj(t) || typeof t.id !== 'string') throw malformed('a looked-up post has no string id');
    const tm = isObj(t.public_metrics) ? t.public_metrics : {};
    out.set(t.id, { likes: int(tm.like_count), reposts: int(tm.retweet_count), replies: int(tm.reply_count), quotes: int(tm.quote_count) });
  }
  return out;
};
