import type { TrustpilotSourceConfig } from '../config/sources/trustpilot';
import { RepwatchError } from '../domain/errors';
import { mentionSchema, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost } from './connector';

const WHAT = 'Trustpilot business unit reviews';
export const TRUSTPILOT_API = 'https://api.trustpilot.com';
const REQUEST_TIMEOUT_MS = 30_000;
/** A first poll (no cursor) looks back this far: reviews trickle in, a week covers a quiet brand. */
export const TRUSTPILOT_FIRST_LOOKBACK_MS = 7 * 86_400_000;
/** Trustpilot's recommended limits are per 5 minutes; without a Retry-After, wait one such window. */
const RATE_LIMIT_WAIT_MS = 5 * 60_000;
/** Trustpilot's error table says of a 500: "Try again in 5-15 minutes". */
const SERVER_ERROR_WAIT_MS = 5 * 60_000;

/**
 * Typed against the source's own config rather than `Connector<TrustpilotSourceConfig>` so that it
 * compiles before the source joins the SourceConfig union; it is structurally a Connector.
 */
export type TrustpilotPollContext = Omit<PollContext, 'source'> & { source: TrustpilotSourceConfig };

// ---- cursor -------------------------------------------------------------------------------

/**
 * Reviews are listed newest first (orderBy=createdat.desc) by page number. `since` is the newest
 * createdAt already handed on and `sinceIds` the reviews seen at exactly that instant (several
 * can share a second). While paging through one run, `page` is the next page and `runNewest`/
 * `runNewestIds` the run's own newest; they become `since` only when the run reaches known
 * reviews, so a crash or a rate limit mid-run re-reads rather than skips. `burst` counts the
 * pages fetched back to back, for maxPagesPerPoll.
 */
interface TpCursor {
  since: number | null;
  sinceIds: string[];
  page: number | null;
  runNewest: number | null;
  runNewestIds: string[];
  burst: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const ids = (v: unknown): string[] => (typeof v === 'string' && v ? v.split(',').filter(Boolean) : []);
const posInt = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
const msOf = (v: unknown): number | null => {
  const s = str(v);
  if (!s) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
};

function readCursor(c: Cursor | null): TpCursor {
  const page = posInt(c?.page);
  return {
    since: msOf(c?.since),
    sinceIds: ids(c?.sinceIds),
    page,
    runNewest: page ? msOf(c?.runNewest) : null,
    runNewestIds: page ? ids(c?.runNewestIds) : [],
    burst: page ? (posInt(c?.burst) ?? 0) : 0,
  };
}

function toCursor(c: TpCursor): Cursor {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    since: iso(c.since),
    sinceIds: c.sinceIds.join(','),
    page: c.page,
    runNewest: iso(c.runNewest),
    runNewestIds: c.runNewestIds.join(','),
    burst: c.burst,
  };
}

// ---- response shape -----------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);

function malformed(problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${WHAT} answered with a body that does not have the documented shape: ${problem}`, {
    details: { problem },
  });
}

/** Trustpilot writes UTC times; one without a zone would otherwise be read as the host's local time. */
function utcMs(v: unknown): number | null {
  const s = str(v);
  if (!s) return null;
  return msOf(/(Z|[+-]\d\d:?\d\d)$/i.test(s) ? s : `${s}Z`);
}

/** The review's page on trustpilot.com: a web link among `links` if there is one (the others point at the API). */
function reviewUrl(review: Obj, id: string): string {
  if (Array.isArray(review.links)) {
    for (const l of review.links) {
      const href = isObj(l) ? str(l.href) : null;
      if (!href) continue;
      try {
        const u = new URL(href);
        if (u.protocol === 'https:' && /(^|\.)trustpilot\.com$/.test(u.hostname) && !u.hostname.startsWith('api.')) return u.href;
      } catch {
        // not a URL: ignore this link
      }
    }
  }
  return `https://www.trustpilot.com/reviews/${encodeURIComponent(id)}`;
}

/**
 * One review as a Mention. Trustpilot gives no follower counts (a consumer has a review count,
 * not an audience), so followers is 0; a company reply counts as one reply.
 */
function toMention(r: Obj, id: string, createdMs: number, brandId: string): Mention | string {
  const consumer = isObj(r.consumer) ? r.consumer : undefined;
  const consumerId = consumer ? str(consumer.id) : null;
  const name = consumer ? str(consumer.displayName) : null;
  if (!consumerId || !name) return 'the review has no consumer id and displayName';
  if (typeof r.stars !== 'number' || !Number.isInteger(r.stars) || r.stars < 1 || r.stars > 5) return 'the review has no star rating of 1 to 5';
  const title = typeof r.title === 'string' ? r.title.trim() : '';
  const body = typeof r.text === 'string' ? r.text.trim() : '';
  const candidate = {
    platform: 'trustpilot',
    postId: id,
    url: reviewUrl(r, id),
    brandId,
    author: { id: consumerId, handle: name, name, followers: 0, verified: false },
    text: [title, body].filter(Boolean).join('\n'),
    langHint: str(r.language) ?? undefined,
    createdAt: new Date(createdMs).toISOString(),
    engagement: { likes: count(r.numberOfLikes), reposts: 0, replies: isObj(r.companyReply) ? 1 : 0, quotes: 0 },
    rating: { stars: r.stars, outOf: 5 },
  };
  const parsed = mentionSchema.safeParse(candidate);
  if (!parsed.success) return `the review does not fit a mention (${[...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ')})`;
  return parsed.data;
}

// ---- HTTP ---------------------------------------------------------------------------------

function baseUrlOf(ctx: TrustpilotPollContext): string {
  const { source } = ctx;
  const base = source.baseUrl ?? (source.baseUrlEnv ? ctx.secrets.get(source.baseUrlEnv) : undefined) ?? TRUSTPILOT_API;
  return base.replace(/\/+$/, '');
}

/** A short, secret-free hint from an error body (Trustpilot's gateway answers `{fault:{faultstring}}` or `{message}`). */
function problemOf(body: string, secrets: readonly string[]): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return undefined;
  }
  const raw = isObj(data) ? (isObj(data.fault) ? str(data.fault.faultstring) : null) ?? str(data.message) ?? str(data.error) : null;
  return raw ? scrubSecrets(raw, secrets).replace(/\s+/g, ' ').slice(0, 200) : undefined;
}

async function fetchPage(ctx: TrustpilotPollContext, page: number): Promise<unknown> {
  const { source } = ctx;
  const apiKey = ctx.secrets.get(source.apiKeyEnv);
  const url = new URL(`${baseUrlOf(ctx)}/v1/business-units/${encodeURIComponent(source.businessUnitId)}/reviews`);
  url.searchParams.set('orderBy', 'createdat.desc');
  url.searchParams.set('perPage', String(source.pageSize));
  url.searchParams.set('page', String(page));

  let res: Response;
  let text: string;
  try {
    // The key goes in the header, never the query string, so no URL in a log or error carries it.
    res = await fetch(url, { headers: { apikey: apiKey, accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    text = await res.text();
  } catch (err) {
    throw networkError(err, WHAT, PLATFORM_CODES);
  }
  if (res.status === 429) {
    const wait = parseRetryAfter(res.headers.get('retry-after'), ctx.now) ?? RATE_LIMIT_WAIT_MS;
    throw new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', `${WHAT}: rate limit reached (Trustpilot recommends at most 833 calls per 5 minutes per key)`, {
      retryAfterMs: wait,
      details: { status: 429 },
    });
  }
  if (res.status < 200 || res.status >= 300) {
    const e = httpError(res.status, WHAT, PLATFORM_CODES, res.status >= 500 ? SERVER_ERROR_WAIT_MS : undefined);
    const problem = problemOf(text, ctx.secrets.values());
    const hint = res.status === 401 ? 'check the API key' : res.status === 403 ? 'the key has no access: a paid Trustpilot plan is needed' : res.status === 404 ? 'check businessUnitId' : undefined;
    const message = `${e.message}${hint ? ` (${hint})` : ''}${problem ? `: ${problem}` : ''}`;
    throw new RepwatchError(e.code, message, { retryAfterMs: e.retryAfterMs, details: { status: res.status, problem } });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw malformed('body is not valid JSON');
  }
}

// ---- connector ----------------------------------------------------------------------------

/**
 * Trustpilot public reviews of one business unit, one page per poll, newest first. A run pages
 * down until it reaches reviews already handed on (or the first poll's one-week floor); at most
 * maxPagesPerPoll pages follow one another at once, the rest waits for the next poll. Reviews are
 * the brand's own, so no brand matching is needed.
 */
export const trustpilotConnector: { readonly platform: 'trustpilot'; poll(ctx: TrustpilotPollContext): Promise<PollResult> } = {
  platform: 'trustpilot',
  async poll(ctx: TrustpilotPollContext): Promise<PollResult> {
    const { brand, source, logger } = ctx;
    const cur = readCursor(ctx.cursor);
    const page = cur.page ?? 1;
    const floor = cur.since ?? ctx.now - TRUSTPILOT_FIRST_LOOKBACK_MS;
    const floorIds = new Set(cur.since === null ? [] : cur.sinceIds);

    const body = await fetchPage(ctx, page);
    if (!isObj(body)) throw malformed(`body is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}, not an object`);
    if (!Array.isArray(body.reviews)) throw malformed(`reviews is ${body.reviews === undefined ? 'missing' : typeof body.reviews}, not an array`);
    const reviews = body.reviews as unknown[];

    const mentions: Mention[] = [];
    const skipped: SkippedPost[] = [];
    let runNewest = cur.runNewest;
    let runNewestIds = [...cur.runNewestIds];
    let reachedKnown = false;
    reviews.forEach((r, i) => {
      const id = isObj(r) ? str(r.id) : null;
      if (!isObj(r) || !id) return void skipped.push({ postId: `(reviews[${i}] without id)`, reason: 'the review has no string id' });
      const created = utcMs(r.createdAt);
      if (created === null) return void skipped.push({ postId: id, reason: 'the review has no valid createdAt' });
      if (created < floor || (created === floor && floorIds.has(id))) {
        reachedKnown = true;
        return;
      }
      // The run's newest moves past skipped reviews too: they are kept with their reason, not fetched again and again.
      if (runNewest === null || created > runNewest) {
        runNewest = created;
        runNewestIds = [id];
      } else if (created === runNewest && !runNewestIds.includes(id)) runNewestIds.push(id);
      const m = toMention(r, id, created, brand.id);
      if (typeof m === 'string') skipped.push({ postId: id, reason: m });
      else mentions.push(m);
    });

    // Trustpilot answers a page past the last one with an empty array, so a short page is the end.
    const runEnds = reachedKnown || reviews.length < source.pageSize;
    let next: TpCursor;
    let hasMore: boolean;
    if (runEnds) {
      const newest = runNewest ?? cur.since;
      const sameInstant = newest !== null && newest === cur.since;
      next = {
        since: newest,
        sinceIds: runNewest === null ? cur.sinceIds : sameInstant ? [...new Set([...cur.sinceIds, ...runNewestIds])] : runNewestIds,
        page: null,
        runNewest: null,
        runNewestIds: [],
        burst: 0,
      };
      hasMore = false;
    } else {
      const burst = cur.burst + 1;
      hasMore = burst < source.maxPagesPerPoll;
      next = { since: cur.since, sinceIds: cur.sinceIds, page: page + 1, runNewest, runNewestIds, burst: hasMore ? burst : 0 };
    }
    logger.debug({ brandId: brand.id, sourceId: source.id, page, count: mentions.length, skipped: skipped.length, hasMore }, 'Trustpilot reviews page');
    return { mentions, cursor: toCursor(next), hasMore, ...(skipped.length ? { skipped } : {}) };
  },
};
