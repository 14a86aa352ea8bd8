import { createHash } from 'node:crypto';
import type { RedditSourceConfig } from '../config/sources/reddit';
import { RepwatchError } from '../domain/errors';
import { brandMatcher, handleTerm, parseKeyword, type MatchTerm } from '../domain/matcher';
import { mentionSchema, type Engagement, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost } from './connector';

const WHAT = 'Reddit API';
const DEFAULT_API = 'https://oauth.reddit.com';
/** Reddit's largest page. */
const PAGE_SIZE = 100;
/** A listing read for the first time looks back this far (one page at most), not through all history. */
const FIRST_LOOKBACK_MS = 24 * 3_600_000;
/**
 * `before=<fullname>` answers nothing once that post or comment is removed, which looks exactly
 * like a quiet listing. After this long without news the newest page is read once to re-anchor.
 */
const ANCHOR_CHECK_MS = 30 * 60_000;
/** Calls stop for the window when fewer than this many are left (X-Ratelimit-Remaining). */
const LOW_REMAINING = 2;
/** When Reddit gives no reset time: wait a minute. */
const DEFAULT_WAIT_MS = 60_000;
/** A cached token is renewed this long before it expires, so no call carries an expiring token. */
const TOKEN_EARLY_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Reddit's documented limit for a search query. */
const QUERY_MAX_LENGTH = 512;
/** What Reddit puts in place of deleted or removed text and authors. */
const GONE = new Set(['[deleted]', '[removed]']);

type Ctx = Omit<PollContext, 'source'> & { source: RedditSourceConfig };
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const count = (v: unknown): number => Math.max(0, Math.trunc(num(v) ?? 0));

function malformed(problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${WHAT} answered with a body that does not have the documented shape: ${problem}`, { details: { problem } });
}

// ---- query -------------------------------------------------------------------------------

/**
 * The search for a brand in Reddit's syntax: each keyword's branches (a plain keyword is one) with
 * their terms ANDed, everything ORed, handles as words. Negated terms are left out: the search
 * only has to find a superset, the brand matcher applies the exact keyword and exclusion rules.
 */
export function buildRedditQuery(brand: { id: string; keywords: readonly string[]; handles: readonly string[] }): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  const add = (part: string) => {
    if (part && !seen.has(part)) {
      seen.add(part);
      parts.push(part);
    }
  };
  const word = (t: MatchTerm) => {
    const w = t.words.join(' ');
    return t.words.length === 1 && !/^(and|or|not)$/.test(w) ? w : `"${w}"`;
  };
  for (const k of brand.keywords) {
    const parsed = parseKeyword(k);
    if (!parsed) continue;
    const branches = parsed.branches.map((b) => b.filter((l) => !l.negated).map((l) => word(l.term))).filter((b) => b.length > 0);
    for (const b of branches) add(b.length === 1 ? b[0] : `(${b.join(' AND ')})`);
  }
  for (const h of brand.handles) {
    const t = handleTerm(h);
    if (t) add(word(t));
  }
  if (parts.length === 0) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `brand "${brand.id}" has no keyword or handle to search Reddit for`);
  const q = parts.join(' OR ');
  if (q.length > QUERY_MAX_LENGTH) {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `the Reddit search query for brand "${brand.id}" is ${q.length} characters, over Reddit's limit of ${QUERY_MAX_LENGTH}: use fewer or shorter keywords`, {
      details: { brandId: brand.id, length: q.length },
    });
  }
  return q;
}

// ---- token -------------------------------------------------------------------------------

/** App-only tokens per (token URL, client id, secret): one process asks Reddit once per token lifetime. */
const tokens = new Map<string, { token: string; expiresAt: number }>();

/** Forget cached tokens (tests; a rotated secret gets its own entry anyway). */
export function resetRedditTokens(): void {
  tokens.clear();
}

function authBase(source: RedditSourceConfig): string {
  return source.authUrl.replace(/\/+$/, '');
}

function apiBase(ctx: Ctx): string {
  const { source } = ctx;
  const fromEnv = source.baseUrlEnv ? ctx.secrets.get(source.baseUrlEnv) : undefined;
  return (source.baseUrl ?? fromEnv ?? DEFAULT_API).replace(/\/+$/, '');
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  try {
    // Redirects are not followed: Reddit redirects an unknown subreddit to a search page.
    const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw networkError(err, WHAT, PLATFORM_CODES);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed('body is not valid JSON');
  }
}

/** Reddit's error bodies: `{"message": "Forbidden", "error": 403, "reason": "private"}`; a short, scrubbed summary. */
function reasonOf(text: string, secrets: readonly string[]): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(body)) return undefined;
  const parts = [str(body.reason), str(body.message), typeof body.error === 'string' ? body.error : null].filter((p): p is string => !!p);
  return parts.length ? scrubSecrets(parts.join(': '), secrets).slice(0, 200) : undefined;
}

function failure(status: number, text: string, secrets: readonly string[], what = WHAT, retryAfterMs?: number): RepwatchError {
  const e = httpError(status, what, PLATFORM_CODES, retryAfterMs);
  const reason = reasonOf(text, secrets);
  return new RepwatchError(e.code, reason ? `${e.message} (${reason})` : e.message, { retryAfterMs, details: { status, reason } });
}

async function accessToken(ctx: Ctx, renew: boolean): Promise<string> {
  const { source } = ctx;
  const clientId = ctx.secrets.get(source.clientIdEnv);
  const secret = ctx.secrets.get(source.clientSecretEnv);
  const key = createHash('sha256').update(`${authBase(source)}\n${clientId}\n${secret}`).digest('hex');
  const cached = tokens.get(key);
  if (cached && !renew && cached.expiresAt - TOKEN_EARLY_MS > ctx.now) return cached.token;

  const what = 'Reddit token endpoint';
  const a = await send(`${authBase(source)}/api/v1/access_token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'user-agent': source.userAgent,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: 'grant_type=client_credentials',
  });
  const secrets = [clientId, secret, ...ctx.secrets.values()];
  if (a.status === 401 || a.status === 403) {
    throw new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${what} refused the app's client id or secret (HTTP ${a.status}); check the app at reddit.com/prefs/apps and that it is approved for API access`, {
      details: { status: a.status, reason: reasonOf(a.text, secrets) },
    });
  }
  if (a.status < 200 || a.status >= 300) throw failure(a.status, a.text, secrets, what, retryAfter(a.headers, ctx.now));
  const body = parseJson(a.text);
  if (!isObj(body)) throw malformed('token answer is not an object');
  // An OAuth error comes back as 200 with `error` (e.g. unsupported_grant_type) rather than a status.
  if (typeof body.error === 'string') {
    throw new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${what} refused the token request (${scrubSecrets(body.error, secrets).slice(0, 100)})`, { details: { status: a.status } });
  }
  const token = str(body.access_token);
  if (!token) throw malformed('token answer has no access_token');
  const expiresIn = num(body.expires_in) ?? 3600;
  tokens.set(key, { token, expiresAt: ctx.now + expiresIn * 1000 });
  return token;
}

// ---- rate limit --------------------------------------------------------------------------

/** Milliseconds until Reddit's window resets (X-Ratelimit-Reset is seconds from now), else Retry-After. */
function retryAfter(headers: Headers, now: number): number | undefined {
  const reset = headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d+(\.\d+)?$/.test(reset.trim())) return Math.ceil(Number(reset.trim())) * 1000;
  return parseRetryAfter(headers.get('retry-after'), now);
}

/** Where one poll stands against the budget: once Reddit says stop, no more calls are made. */
interface Budget {
  resumeAt?: number;
  remaining?: string;
}

function noteLimits(headers: Headers, budget: Budget, now: number): void {
  const remaining = headers.get('x-ratelimit-remaining');
  if (remaining === null) return;
  budget.remaining = remaining;
  const left = Number(remaining);
  if (Number.isFinite(left) && left < LOW_REMAINING) budget.resumeAt = now + (retryAfter(headers, now) ?? DEFAULT_WAIT_MS);
}

/**
 * One GET against oauth.reddit.com. A 401 means the cached token expired or was revoked: one new
 * token and one retry, then the credentials are taken as refused. A 429 ends the poll's calls
 * (resumeAt), it is not a failure.
 */
async function apiGet(ctx: Ctx, budget: Budget, path: string, params: Record<string, string | number>): Promise<unknown | undefined> {
  const url = new URL(`${apiBase(ctx)}${path}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  let a: Answer | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = await accessToken(ctx, attempt > 0);
    a = await send(url.toString(), { headers: { authorization: `Bearer ${token}`, 'user-agent': ctx.source.userAgent, accept: 'application/json' } });
    if (a.status !== 401) break;
  }
  const answer = a!;
  const secrets = ctx.secrets.values();
  if (answer.status === 401) {
    throw new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${WHAT} refused a fresh app-only token (HTTP 401): the app may have lost API access`, { details: { status: 401, reason: reasonOf(answer.text, secrets) } });
  }
  if (answer.status === 429) {
    budget.resumeAt = ctx.now + (retryAfter(answer.headers, ctx.now) ?? DEFAULT_WAIT_MS);
    return undefined;
  }
  noteLimits(answer.headers, budget, ctx.now);
  if (answer.status < 200 || answer.status >= 300) throw failure(answer.status, answer.text, secrets);
  return parseJson(answer.text);
}

// ---- listings ----------------------------------------------------------------------------

type ListingKey = 'search' | 'posts' | 'comments';

interface ListingPlan {
  key: ListingKey;
  path: string;
  params: Record<string, string | number>;
}

interface Anchor {
  /** Fullname of the newest thing seen (t3_…, t1_…): the next read asks for what came `before` it. */
  before: string | null;
  /** Its created_utc (seconds). */
  at: number | null;
  /** When the listing was last seen alive around the anchor (ms). */
  checkedAt: number | null;
}

function readAnchor(cursor: Cursor | null, key: ListingKey): Anchor {
  return { before: str(cursor?.[`${key}.before`]), at: num(cursor?.[`${key}.at`]), checkedAt: num(cursor?.[`${key}.checkedAt`]) };
}

function plans(ctx: Ctx, query: string | null, subs: string | null): ListingPlan[] {
  const out: ListingPlan[] = [];
  const base = { limit: PAGE_SIZE, raw_json: 1 };
  if (query) out.push({ key: 'search', path: '/search', params: { ...base, q: query, sort: 'new', type: 'link' } });
  if (subs) {
    // One combined listing for all subreddits ("r/a+b"), so the cost does not grow with their number.
    out.push({ key: 'posts', path: `/r/${subs}/new`, params: base });
    out.push({ key: 'comments', path: `/r/${subs}/comments`, params: base });
  }
  return out;
}

interface Page {
  children: unknown[];
}

function readListing(body: unknown): Page {
  if (!isObj(body)) throw malformed(`body is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}, not a Listing`);
  if (body.kind !== 'Listing') throw malformed(`kind is ${JSON.stringify(body.kind)}, not "Listing"`);
  if (!isObj(body.data)) throw malformed('data is missing or not an object');
  if (!Array.isArray(body.data.children)) throw malformed('data.children is not an array');
  return { children: body.data.children };
}

/** The fullname and time of a child, when it has them (the anchor moves past bad items too). */
function position(child: unknown): { name: string; at: number } | null {
  if (!isObj(child) || !isObj(child.data)) return null;
  const name = str(child.data.name);
  const at = num(child.data.created_utc);
  return name && at !== null ? { name, at } : null;
}

type Outcome = { mention: Mention } | { skip: SkippedPost } | { drop: true };

/**
 * One listing child. Posts are t3 (title + selftext), comments t1 (body). Deleted and removed
 * things are skipped with their reason when they are recognisably about the brand (the title of
 * a removed post still matches); a removed comment's text is gone, so it is dropped like any
 * comment not about the brand.
 */
function toMention(child: unknown, i: number, brandId: string, matches: (text: string) => boolean): Outcome {
  const fallbackId = `(children[${i}] without name)`;
  if (!isObj(child) || !isObj(child.data) || typeof child.kind !== 'string') return { skip: { postId: fallbackId, reason: 'the item has no kind and data' } };
  const d = child.data;
  const kind = child.kind;
  if (kind !== 't3' && kind !== 't1') return { drop: true };
  const name = str(d.name);
  const postId = name ?? fallbackId;
  const skip = (reason: string): Outcome => ({ skip: { postId, reason } });
  const createdUtc = num(d.created_utc);
  if (!name || createdUtc === null) return skip('the item has no fullname or created_utc');

  const author = str(d.author);
  const title = kind === 't3' ? (str(d.title) ?? '') : '';
  const body = kind === 't3' ? (str(d.selftext) ?? '') : (str(d.body) ?? '');
  // A link post's target (acme.com/...) counts; a self post's url is its own permalink, which names the subreddit.
  const linkUrl = kind === 't3' && d.is_self !== true ? (str(d.url) ?? '') : '';
  const matchText = kind === 't3' ? [title, GONE.has(body) ? '' : body, linkUrl].join('\n') : body;

  const gone = (kind === 't1' && GONE.has(body)) || (kind === 't3' && (GONE.has(body) || str(d.removed_by_category) !== null)) || !author || GONE.has(author);
  if (gone) {
    if (kind === 't1' && GONE.has(body)) return { drop: true };
    if (!matches(matchText)) return { drop: true };
    const what = str(d.removed_by_category) ?? (author && GONE.has(author) ? 'author deleted' : GONE.has(body) ? body.slice(1, -1) : 'no author');
    return skip(`the ${kind === 't3' ? 'post' : 'comment'} was deleted or removed on Reddit (${what})`);
  }
  if (!matches(matchText)) return { drop: true };
  if (kind === 't3' && !title) return skip('the post has no title');
  if (kind === 't1' && !body) return skip('the comment has no body');

  const permalink = str(d.permalink);
  const linkId = str(d.link_id);
  const url = permalink
    ? `https://www.reddit.com${permalink}`
    : kind === 't3'
      ? `https://www.reddit.com/comments/${name.slice(3)}/`
      : `https://www.reddit.com/comments/${(linkId ?? '').slice(3)}/_/${name.slice(3)}/`;
  const candidate = {
    platform: 'reddit',
    postId: name,
    url,
    brandId,
    author: {
      id: str(d.author_fullname) ?? author,
      handle: author,
      // Listings carry no audience of the author: see docs/platforms/reddit.md (reach comes from votes and comments).
      followers: 0,
      verified: false,
    },
    text: kind === 't3' ? (body ? `${title}\n\n${body}` : title) : body,
    createdAt: new Date(createdUtc * 1000).toISOString(),
    engagement: engagementOf(kind, d),
    replyToId: kind === 't1' ? (str(d.parent_id) ?? undefined) : undefined,
    conversationId: kind === 't1' ? (linkId ?? undefined) : name,
  };
  const r = mentionSchema.safeParse(candidate);
  if (!r.success) return skip(`the item does not fit a mention (${[...new Set(r.error.issues.map((iss) => iss.path.join('.')))].join(', ')})`);
  return { mention: r.data };
}

/** Votes are likes (a negative score counts as none), comments are replies, crossposts are reposts. */
function engagementOf(kind: string, d: Obj): Engagement {
  return {
    likes: count(d.score),
    reposts: kind === 't3' ? count(d.num_crossposts) : 0,
    replies: kind === 't3' ? count(d.num_comments) : 0,
    quotes: 0,
  };
}

// ---- connector ---------------------------------------------------------------------------

interface RedditConnector {
  readonly platform: 'reddit';
  poll(ctx: Ctx): Promise<PollResult>;
  engagement(ctx: Ctx, postIds: string[]): Promise<Map<string, Engagement>>;
}

/**
 * Reddit, app-only OAuth. Each poll reads up to three listings, newest first: site-wide search
 * (sort=new, posts only), the subreddits' new posts and their new comments. Each listing keeps its
 * own anchor (the newest fullname seen) and asks for what came `before` it; a full page means
 * more is waiting (hasMore). Everything is matched locally against the brand (keywords, handles,
 * exclusions), search hits included, since Reddit's search also matches link domains and flairs.
 */
export const redditConnector: RedditConnector = {
  platform: 'reddit',

  async poll(ctx: Ctx): Promise<PollResult> {
    const { brand, source, logger } = ctx;
    const query = source.search ? buildRedditQuery(brand) : null;
    const subs = source.subreddits?.length ? [...new Set(source.subreddits.map((s) => s.toLowerCase()))].sort().join('+') : null;
    const matcher = brandMatcher({ keywords: brand.keywords, handles: brand.handles, exclude: brand.exclude });
    const matches = (text: string) => matcher.test(text);

    const next: Cursor = { query, subs };
    const budget: Budget = {};
    const mentions = new Map<string, Mention>();
    const skipped: SkippedPost[] = [];
    let hasMore = false;

    for (const plan of plans(ctx, query, subs)) {
      // A changed query or subreddit list makes the old anchor meaningless: start that listing afresh.
      const changed = plan.key === 'search' ? ctx.cursor?.query !== query : ctx.cursor?.subs !== subs;
      const anchor = changed ? { before: null, at: null, checkedAt: null } : readAnchor(ctx.cursor, plan.key);
      let updated: Anchor = anchor;
      if (budget.resumeAt === undefined) {
        const r = await readOne(ctx, budget, plan, anchor, matches);
        updated = r.anchor;
        hasMore ||= r.full;
        for (const m of r.mentions) if (!mentions.has(m.postId)) mentions.set(m.postId, m);
        skipped.push(...r.skipped);
      }
      next[`${plan.key}.before`] = updated.before;
      next[`${plan.key}.at`] = updated.at;
      next[`${plan.key}.checkedAt`] = updated.checkedAt;
    }

    const result: PollResult = { mentions: [...mentions.values()], cursor: next, hasMore: hasMore && budget.resumeAt === undefined };
    if (skipped.length) result.skipped = skipped;
    if (budget.resumeAt !== undefined) result.resumeAt = budget.resumeAt;
    logger.debug({ brandId: brand.id, sourceId: source.id, count: result.mentions.length, hasMore: result.hasMore, remaining: budget.remaining, resumeAt: budget.resumeAt }, 'Reddit listings read');
    return result;
  },

  /** Score and comment counts of earlier posts (GET /api/info, up to 100 fullnames); things Reddit no longer has are left out. */
  async engagement(ctx: Ctx, postIds: string[]): Promise<Map<string, Engagement>> {
    const out = new Map<string, Engagement>();
    if (postIds.length === 0) return out;
    if (postIds.length > PAGE_SIZE) throw new RepwatchError('RW_ERR_INPUT_INVALID', `Reddit looks up at most ${PAGE_SIZE} things at once, not ${postIds.length}`);
    const budget: Budget = {};
    const body = await apiGet(ctx, budget, '/api/info', { id: postIds.join(','), raw_json: 1 });
    if (body === undefined) {
      throw new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', `${WHAT} rate limit reached for engagement look-ups`, { retryAfterMs: Math.max(0, (budget.resumeAt ?? ctx.now) - ctx.now) });
    }
    for (const child of readListing(body).children) {
      if (!isObj(child) || !isObj(child.data) || typeof child.kind !== 'string') continue;
      const name = str(child.data.name);
      if (!name || GONE.has(str(child.data.author) ?? '[deleted]')) continue;
      out.set(name, engagementOf(child.kind, child.data));
    }
    return out;
  },
};

interface ListingRead {
  anchor: Anchor;
  mentions: Mention[];
  skipped: SkippedPost[];
  /** A full page: more things newer than the new anchor are waiting. */
  full: boolean;
}

async function readOne(ctx: Ctx, budget: Budget, plan: ListingPlan, anchor: Anchor, matches: (text: string) => boolean): Promise<ListingRead> {
  const read = async (before: string | null): Promise<unknown[] | undefined> => {
    const body = await apiGet(ctx, budget, plan.path, before ? { ...plan.params, before } : plan.params);
    return body === undefined ? undefined : readListing(body).children;
  };

  let children: unknown[] | undefined;
  /** Things at or before this time (seconds) were seen already, or are older than the first look-back. */
  let floor: number;
  let full = false;
  let checkedAt = anchor.checkedAt;

  if (!anchor.before || anchor.at === null) {
    children = await read(null);
    floor = (ctx.now - FIRST_LOOKBACK_MS) / 1000;
  } else {
    children = await read(anchor.before);
    floor = -Infinity;
    if (children && children.length > 0) {
      full = children.length >= PAGE_SIZE;
      checkedAt = ctx.now;
    } else if (children && ctx.now - Math.max(anchor.at * 1000, anchor.checkedAt ?? 0) > ANCHOR_CHECK_MS && budget.resumeAt === undefined) {
      // Quiet for a while: make sure the anchor was not removed by reading the newest page once.
      const newest = await read(null);
      checkedAt = ctx.now;
      if (newest) {
        children = newest.filter((c) => {
          const p = position(c);
          return p !== null && p.name !== anchor.before && p.at >= anchor.at!;
        });
      }
    }
  }
  if (!children) return { anchor, mentions: [], skipped: [], full: false };

  const mentions: Mention[] = [];
  const skipped: SkippedPost[] = [];
  children.forEach((child, i) => {
    const p = position(child);
    if (p && p.at < floor) return;
    const o = toMention(child, i, ctx.brand.id, matches);
    if ('mention' in o) mentions.push(o.mention);
    else if ('skip' in o) skipped.push(o.skip);
  });
  // Newest first: the first child with a position is the new anchor.
  const top = children.map(position).find((p) => p !== null);
  const nextAnchor: Anchor = top ? { before: top.name, at: top.at, checkedAt: ctx.now } : { ...anchor, checkedAt };
  return { anchor: nextAnchor, mentions, skipped, full };
}
