import { createHash } from 'node:crypto';
import type { GoogleReviewsSourceConfig } from '../config/sources/google-reviews';
import { RepwatchError } from '../domain/errors';
import { mentionSchema, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost } from './connector';

const WHAT = 'Google Business Profile reviews';
const TOKEN_WHAT = 'Google OAuth token endpoint';
export const GOOGLE_MY_BUSINESS_API = 'https://mybusiness.googleapis.com';
const REQUEST_TIMEOUT_MS = 30_000;
/** A location seen for the first time looks back this far: reviews are slow, a week is enough and bounded. */
export const GOOGLE_REVIEWS_FIRST_LOOKBACK_MS = 7 * 86_400_000;
/** Business Profile quotas are per minute (300 QPM); without a Retry-After, wait one minute. */
const RATE_LIMIT_WAIT_MS = 60_000;
/** An access token is renewed this long before Google says it expires. */
const TOKEN_EARLY_MS = 60_000;

export const STAR_RATINGS: Readonly<Record<string, number>> = { ONE: 1, TWO: 2, THREE: 3, FOUR: 4, FIVE: 5 };

/**
 * Typed against the source's own config rather than `Connector<GoogleReviewsSourceConfig>` so
 * that it compiles before the source joins the SourceConfig union; it is structurally a Connector.
 */
export type GoogleReviewsPollContext = Omit<PollContext, 'source'> & { source: GoogleReviewsSourceConfig };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const msOf = (v: unknown): number | null => {
  const s = str(v);
  if (!s) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
};
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const idList = (v: unknown): string[] => (typeof v === 'string' && v ? v.split(',').filter(Boolean) : []);

function malformed(what: string, problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${what} answered with a body that does not have the documented shape: ${problem}`, {
    details: { problem },
  });
}

// ---- access token -------------------------------------------------------------------------

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Access tokens by client and refresh token (hashed: the key never holds a secret), reused until shortly before they expire. */
const tokenCache = new Map<string, CachedToken>();

/** Forgets every cached access token (tests; a process that rotated its refresh token). */
export function clearGoogleTokenCache(): void {
  tokenCache.clear();
}

async function postForm(url: string, form: URLSearchParams): Promise<{ status: number; headers: Headers; text: string }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw networkError(err, TOKEN_WHAT, PLATFORM_CODES);
  }
}

const OAUTH_HINTS: Record<string, string> = {
  invalid_grant: 'the refresh token was revoked or has expired: the profile owner must authorise repwatch again',
  invalid_client: 'check the OAuth client id and client secret',
  unauthorized_client: 'this OAuth client may not use refresh tokens',
};

/**
 * An access token from the refresh token (OAuth 2 `grant_type=refresh_token`). Google answers a
 * revoked or expired refresh token with 400 `invalid_grant` and a bad client with 401
 * `invalid_client`: both are refusals (RW_ERR_PLATFORM_REJECTED), named by their OAuth error code
 * only, so no credential can reach the message.
 */
async function accessToken(ctx: GoogleReviewsPollContext, renew = false): Promise<{ token: string; cached: boolean }> {
  const { source, secrets } = ctx;
  const clientId = secrets.get(source.clientIdEnv);
  const clientSecret = secrets.get(source.clientSecretEnv);
  const refreshToken = secrets.get(source.refreshTokenEnv);
  const key = createHash('sha256').update(`${source.tokenUrl}\n${clientId}\n${refreshToken}`).digest('hex');
  const cached = tokenCache.get(key);
  if (!renew && cached && cached.expiresAt > ctx.now) return { token: cached.token, cached: true };

  const form = new URLSearchParams({ client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken, grant_type: 'refresh_token' });
  const res = await postForm(source.tokenUrl, form);
  let data: unknown;
  try {
    data = JSON.parse(res.text);
  } catch {
    data = undefined;
  }
  if (res.status === 429) {
    throw new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', `${TOKEN_WHAT}: too many token requests`, {
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), ctx.now) ?? RATE_LIMIT_WAIT_MS,
      details: { status: 429 },
    });
  }
  if (res.status < 200 || res.status >= 300) {
    const e = httpError(res.status, TOKEN_WHAT, PLATFORM_CODES);
    // The OAuth error code is a fixed word (RFC 6749 5.2); anything else in the body is left out.
    const oauthError = isObj(data) && typeof data.error === 'string' && /^[a-z_]{1,40}$/.test(data.error) ? data.error : undefined;
    const hint = oauthError ? OAUTH_HINTS[oauthError] : undefined;
    const message = `${e.message}${oauthError ? ` (${oauthError})` : ''}${hint ? `: ${hint}` : ''}`;
    throw new RepwatchError(e.code, message, { details: { status: res.status, oauthError } });
  }
  if (!isObj(data) || !str(data.access_token)) throw malformed(TOKEN_WHAT, 'no access_token');
  const expiresIn = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in * 1000 : 3_600_000;
  const token = data.access_token as string;
  tokenCache.set(key, { token, expiresAt: ctx.now + Math.max(0, expiresIn - TOKEN_EARLY_MS) });
  return { token, cached: false };
}

// ---- reviews call -------------------------------------------------------------------------

function baseUrlOf(ctx: GoogleReviewsPollContext): string {
  const { source } = ctx;
  const base = source.baseUrl ?? (source.baseUrlEnv ? ctx.secrets.get(source.baseUrlEnv) : undefined) ?? GOOGLE_MY_BUSINESS_API;
  return base.replace(/\/+$/, '');
}

async function getJson(url: URL, token: string): Promise<{ status: number; headers: Headers; text: string }> {
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw networkError(err, WHAT, PLATFORM_CODES);
  }
}

/** Google's error body is `{error:{code, message, status}}`; the canonical status (RESOURCE_EXHAUSTED, PERMISSION_DENIED) and a scrubbed message. */
function googleProblem(text: string, secrets: readonly string[]): { status?: string; message?: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return {};
  }
  const e = isObj(data) && isObj(data.error) ? data.error : undefined;
  if (!e) return {};
  const status = typeof e.status === 'string' && /^[A-Z_]{1,40}$/.test(e.status) ? e.status : undefined;
  const message = typeof e.message === 'string' ? scrubSecrets(e.message, secrets).replace(/\s+/g, ' ').slice(0, 200) : undefined;
  return { status, message };
}

async function listReviews(ctx: GoogleReviewsPollContext, locationId: string, pageToken: string | null): Promise<unknown> {
  const { source } = ctx;
  const url = new URL(`${baseUrlOf(ctx)}/v4/accounts/${encodeURIComponent(source.accountId)}/locations/${encodeURIComponent(locationId)}/reviews`);
  url.searchParams.set('pageSize', String(source.pageSize));
  url.searchParams.set('orderBy', 'updateTime desc');
  if (pageToken) url.searchParams.set('pageToken', pageToken);

  const first = await accessToken(ctx);
  // Access tokens are secrets too, though not in the environment: scrubbed from anything Google echoes.
  const secrets = [...ctx.secrets.values(), first.token];
  let res = await getJson(url, first.token);
  // A cached token Google no longer accepts (revoked early, clock skew): renew once before giving up.
  if (res.status === 401 && first.cached) {
    const renewed = await accessToken(ctx, true);
    secrets.push(renewed.token);
    res = await getJson(url, renewed.token);
  }
  if (res.status === 429) {
    const p = googleProblem(res.text, secrets);
    throw new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', `${WHAT}: quota exhausted (${p.status ?? 'HTTP 429'})`, {
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), ctx.now) ?? RATE_LIMIT_WAIT_MS,
      details: { status: 429, googleStatus: p.status, location: locationId },
    });
  }
  if (res.status < 200 || res.status >= 300) {
    const e = httpError(res.status, WHAT, PLATFORM_CODES);
    const p = googleProblem(res.text, secrets);
    const message = `${e.message} for location ${locationId}${p.status ? ` (${p.status})` : ''}${p.message ? `: ${p.message}` : ''}`;
    throw new RepwatchError(e.code, message, { details: { status: res.status, googleStatus: p.status, location: locationId } });
  }
  try {
    return JSON.parse(res.text);
  } catch {
    throw malformed(WHAT, 'body is not valid JSON');
  }
}

// ---- mapping ------------------------------------------------------------------------------

/**
 * One review as a Mention. The stars are the point: a rating-only review (no comment) is kept
 * with empty text, since one star without words is still a complaint. STAR_RATING_UNSPECIFIED
 * (or a value Google may add later) keeps the review without a rating when it has words, and
 * skips it when it has neither. Google shows no follower counts and no reviewer id; an anonymous
 * reviewer gets a handle of their own per review, so anonymous reviews never join one case.
 */
function toMention(r: Obj, reviewId: string, brandId: string): Mention | string {
  const created = msOf(r.createTime);
  if (created === null) return 'the review has no valid createTime';
  const stars = typeof r.starRating === 'string' ? STAR_RATINGS[r.starRating] : undefined;
  const comment = typeof r.comment === 'string' ? r.comment : '';
  if (stars === undefined && !comment.trim()) return `the review has neither a star rating (${typeof r.starRating === 'string' ? r.starRating : 'none'}) nor a comment`;
  const reviewer = isObj(r.reviewer) ? r.reviewer : {};
  const displayName = str(reviewer.displayName);
  const anonymous = reviewer.isAnonymous === true || !displayName;
  const handle = anonymous ? `anonymous-${createHash('sha1').update(reviewId).digest('hex').slice(0, 12)}` : (displayName as string);
  const candidate = {
    platform: 'google-reviews',
    postId: reviewId,
    // The Review resource carries no link to the review; the notifiers show no link for an empty URL.
    url: '',
    brandId,
    author: { id: handle, handle, name: anonymous ? 'anonymous' : (displayName as string), followers: 0, verified: false },
    text: comment,
    createdAt: new Date(created).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: isObj(r.reviewReply) ? 1 : 0, quotes: 0 },
    ...(stars === undefined ? {} : { rating: { stars, outOf: 5 } }),
  };
  const parsed = mentionSchema.safeParse(candidate);
  if (!parsed.success) return `the review does not fit a mention (${[...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ')})`;
  return parsed.data;
}

// ---- cursor -------------------------------------------------------------------------------

/**
 * Flat, as the cursor store wants it: per location `since:<id>` (newest updateTime handed on) and
 * `ids:<id>` (reviews at exactly that instant); while paging one location, `current`, `pageToken`
 * and the pass's own newest (`pendingSince`, `pendingIds`), which become that location's `since`
 * only when the pass reaches known reviews, so a failure mid-pass re-reads rather than skips.
 */
function nextCursor(prev: Cursor | null, locations: readonly string[], set: Record<string, string | null>): Cursor {
  const out: Cursor = {};
  for (const loc of locations) {
    const since = prev?.[`since:${loc}`];
    if (typeof since === 'string') {
      out[`since:${loc}`] = since;
      out[`ids:${loc}`] = typeof prev?.[`ids:${loc}`] === 'string' ? (prev[`ids:${loc}`] as string) : '';
    }
  }
  return { ...out, current: null, pageToken: null, pendingSince: null, pendingIds: '', ...set };
}

// ---- connector ----------------------------------------------------------------------------

/**
 * Google Business Profile reviews, newest change first (orderBy=updateTime desc), one page of one
 * location per poll, the locations in turn within one round (hasMore until the last is done).
 * A review edited after it was handed on comes again with the same postId.
 */
export const googleReviewsConnector: { readonly platform: 'google-reviews'; poll(ctx: GoogleReviewsPollContext): Promise<PollResult> } = {
  platform: 'google-reviews',
  async poll(ctx: GoogleReviewsPollContext): Promise<PollResult> {
    const { brand, source, logger } = ctx;
    const locations = source.locationIds;
    const prev = ctx.cursor;
    const current = typeof prev?.current === 'string' && locations.includes(prev.current) ? prev.current : null;
    const loc = current ?? locations[0];
    const pageToken = current ? str(prev?.pageToken) : null;
    let pending = current ? msOf(prev?.pendingSince) : null;
    let pendingIds = current && pending !== null ? idList(prev?.pendingIds) : [];
    const since = msOf(prev?.[`since:${loc}`]);
    const floor = since ?? ctx.now - GOOGLE_REVIEWS_FIRST_LOOKBACK_MS;
    const floorIds = new Set(since === null ? [] : idList(prev?.[`ids:${loc}`]));

    const body = await listReviews(ctx, loc, pageToken);
    if (!isObj(body)) throw malformed(WHAT, `body is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}, not an object`);
    // Google leaves empty lists out of the JSON: no `reviews` is a location without (new) reviews.
    if (body.reviews !== undefined && !Array.isArray(body.reviews)) throw malformed(WHAT, `reviews is ${typeof body.reviews}, not an array`);
    if (body.nextPageToken !== undefined && typeof body.nextPageToken !== 'string') throw malformed(WHAT, 'nextPageToken is not a string');
    const reviews = (body.reviews ?? []) as unknown[];

    const mentions: Mention[] = [];
    const skipped: SkippedPost[] = [];
    let reachedKnown = false;
    reviews.forEach((r, i) => {
      const id = isObj(r) ? str(r.reviewId) : null;
      if (!isObj(r) || !id) return void skipped.push({ postId: `(${loc}: reviews[${i}] without reviewId)`, reason: 'the review has no string reviewId' });
      const updated = msOf(r.updateTime) ?? msOf(r.createTime);
      if (updated === null) return void skipped.push({ postId: id, reason: 'the review has no valid updateTime or createTime' });
      if (updated < floor || (updated === floor && floorIds.has(id))) {
        reachedKnown = true;
        return;
      }
      if (pending === null || updated > pending) {
        pending = updated;
        pendingIds = [id];
      } else if (updated === pending && !pendingIds.includes(id)) pendingIds.push(id);
      const m = toMention(r, id, brand.id);
      if (typeof m === 'string') skipped.push({ postId: id, reason: m });
      else mentions.push(m);
    });

    const nextToken = str(body.nextPageToken);
    let cursor: Cursor;
    let hasMore: boolean;
    if (reachedKnown || !nextToken) {
      // This location is done for the round: its newest becomes its position, the next location follows.
      const set: Record<string, string | null> = {};
      if (pending !== null) {
        const sameInstant = since !== null && pending === since;
        set[`since:${loc}`] = iso(pending);
        set[`ids:${loc}`] = (sameInstant ? [...new Set([...floorIds, ...pendingIds])] : pendingIds).join(',');
      }
      const following = locations[locations.indexOf(loc) + 1] ?? null;
      set.current = following;
      cursor = nextCursor(prev, locations, set);
      hasMore = following !== null;
    } else {
      cursor = nextCursor(prev, locations, { current: loc, pageToken: nextToken, pendingSince: iso(pending), pendingIds: pendingIds.join(',') });
      hasMore = true;
    }
    logger.debug({ brandId: brand.id, sourceId: source.id, location: loc, count: mentions.length, skipped: skipped.length, hasMore }, 'Google reviews page');
    return { mentions, cursor, hasMore, ...(skipped.length ? { skipped } : {}) };
  },
};
