import WebSocket from 'ws';
import type { ResolvedBrand } from '../config/load';
import type { MastodonSourceConfig } from '../config/sources/mastodon';
import { RepwatchError } from '../domain/errors';
import { brandMatcher } from '../domain/matcher';
import { mentionSchema, type Engagement, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost, StreamContext, StreamHandlers } from './connector';

/*
 * Mastodon: hashtag timelines (and, with a user token, status search) per configured server,
 * polled with `min_id` per hashtag; plus the streaming API for the same hashtags over one
 * multiplexed WebSocket. Docs: docs.joinmastodon.org/methods/timelines/#tag,
 * /methods/search/#v2, /methods/statuses, /methods/streaming/#websocket, /api/rate-limits,
 * /entities/Status.
 */

/**
 * Contexts typed against this platform's source. Structurally the same as
 * PollContext<MastodonSourceConfig> / StreamContext<...> once the source is in the config union.
 */
export type MastodonPollContext = Omit<PollContext, 'source'> & { source: MastodonSourceConfig };
export type MastodonStreamContext = Omit<StreamContext, 'source'> & { source: MastodonSourceConfig };

export interface MastodonConnector {
  readonly platform: 'mastodon';
  poll(ctx: MastodonPollContext): Promise<PollResult>;
  engagement(ctx: MastodonPollContext, postIds: string[]): Promise<Map<string, Engagement>>;
  streaming: { stream(ctx: MastodonStreamContext, handlers: StreamHandlers): Promise<void> };
}

/** The documented maximum page size of timelines and search. */
const PAGE_LIMIT = 40;
/** A first poll (no cursor for a hashtag) keeps only posts this recent: it must not replay history. */
const FIRST_POLL_WINDOW_MS = 24 * 3_600_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Mastodon's default window is 5 minutes (300 calls per account and per IP): wait one when the reset is unknown. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 5 * 60_000;
/** Ids per GET /api/v1/statuses?id[]= call; kept at 20 to stay within the server's cap for that call. */
const LOOKUP_BATCH = 20;
const MAX_LOOKUP = 100;
/** Client ping interval on the stream; a connection that answered nothing for a whole interval is dead. */
const PING_EVERY_MS = 30_000;
/** Post ids remembered per stream connection, so a boost or an edit of a delivered post is not delivered again. */
const DELIVERED_MEMORY = 5_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.trunc(v)) : 0);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

// ---- where and what -----------------------------------------------------------------------

/**
 * The hashtags a source follows: its own list, or the brand's keywords with spaces and other
 * non-tag characters removed, lower case ("Acme Bank" → "acmebank"); the brand's handles when it
 * has no keywords. At most 10 (one request each per poll).
 */
export function mastodonHashtags(source: Pick<MastodonSourceConfig, 'hashtags'>, brand: Pick<ResolvedBrand, 'keywords' | 'handles'>): string[] {
  if (source.hashtags?.length) return [...new Set(source.hashtags.map((t) => t.replace(/^#/, '').toLowerCase()))];
  const fromWords = (words: string[]) => words.map((w) => w.normalize('NFC').toLowerCase().replace(/[^\p{L}\p{N}_]/gu, '')).filter((t) => t.length > 0);
  const tags = fromWords(brand.keywords);
  return [...new Set(tags.length > 0 ? tags : fromWords(brand.handles))].slice(0, 10);
}

function apiBase(ctx: { source: MastodonSourceConfig; secrets: MastodonPollContext['secrets'] }): string {
  const { source } = ctx;
  const base = source.baseUrl ?? (source.baseUrlEnv ? ctx.secrets.get(source.baseUrlEnv) : undefined) ?? source.instance;
  return base.replace(/\/+$/, '');
}

function instanceHost(source: MastodonSourceConfig): string {
  return new URL(source.instance).host;
}

function tokenOf(ctx: { source: MastodonSourceConfig; secrets: MastodonPollContext['secrets'] }): string | undefined {
  return ctx.source.accessTokenEnv ? ctx.secrets.get(ctx.source.accessTokenEnv) : undefined;
}

/** Mastodon ids are integers sent as strings (not guaranteed numeric): compare numerically when they are. */
export function newerId(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a.length !== b.length ? a.length > b.length : a > b;
}

// ---- statuses -----------------------------------------------------------------------------

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/**
 * Status content is HTML (paragraphs, line breaks, links whose visible text is split into
 * "invisible" and "ellipsis" spans): tags go, text stays, so links read whole again. Entities
 * are decoded last so that an escaped "&lt;b&gt;" stays text.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p(\s[^>]*)?>/gi, '\n\n')
    .replace(/<[^>]*>/g, '');
  return decodeEntities(text).replace(/[ \t]+\n/g, '\n').trim();
}

type Mapped = { ok: true; mention: Mention } | { ok: false; postId: string; reason: string };

/**
 * One Status as a mention. A boost (reblog) is not a post of its own: the boosted status is used,
 * under its own id, so it is the same mention however often it is boosted. A status without the
 * fields a mention needs (its account, text, time) is reported, never thrown.
 */
export function statusToMention(raw: unknown, brandId: string, host: string): Mapped {
  if (!isObj(raw) || !str(raw.id)) return { ok: false, postId: '(status without id)', reason: 'the status has no string id' };
  const s = isObj(raw.reblog) ? raw.reblog : raw;
  const postId = str(s.id);
  if (!postId) return { ok: false, postId: raw.id as string, reason: 'the boosted status has no string id' };
  const account = s.account;
  if (!isObj(account) || !str(account.id) || !str(account.acct)) return { ok: false, postId, reason: 'the status has no account (id and acct)' };
  const createdAt = str(s.created_at);
  if (!createdAt || Number.isNaN(Date.parse(createdAt))) return { ok: false, postId, reason: 'the status has no valid created_at' };
  const html = typeof s.content === 'string' ? s.content : undefined;
  // A deleted-and-returned status carries its source in `text` instead of `content`.
  const body = html !== undefined ? htmlToText(html) : typeof s.text === 'string' ? s.text : undefined;
  if (body === undefined) return { ok: false, postId, reason: 'the status has no content' };
  const spoiler = typeof s.spoiler_text === 'string' ? s.spoiler_text.trim() : '';
  const acct = account.acct as string;
  const candidate = {
    platform: 'mastodon',
    postId,
    url: str(s.url) ?? str(s.uri) ?? '',
    brandId,
    author: {
      id: account.id as string,
      // Local accounts' acct is the bare username; the server's host makes the handle unique across servers.
      handle: acct.includes('@') ? acct : `${acct}@${host}`,
      name: str(account.display_name),
      followers: int(account.followers_count),
      // Mastodon has no identity verification (profile-link verification is not that).
      verified: false,
    },
    text: spoiler ? `${spoiler}\n\n${body}` : body,
    langHint: str(s.language),
    createdAt,
    engagement: { likes: int(s.favourites_count), reposts: int(s.reblogs_count), replies: int(s.replies_count), quotes: int(s.quotes_count) },
    replyToId: str(s.in_reply_to_id),
  };
  const r = mentionSchema.safeParse(candidate);
  if (!r.success) return { ok: false, postId, reason: `the status does not fit a mention (${[...new Set(r.error.issues.map((i) => i.path.join('.')))].join(', ')})` };
  return { ok: true, mention: r.data };
}

// ---- HTTP ---------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

function whatOf(source: MastodonSourceConfig, call: string): string {
  return `Mastodon ${instanceHost(source)} ${call}`;
}

/** One GET. Only network failures throw here; statuses are the caller's to judge. */
async function get(url: URL, token: string | undefined, what: string): Promise<Answer> {
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw networkError(err, what, PLATFORM_CODES);
  }
}

/** X-RateLimit-Reset is an ISO timestamp on Mastodon; a 429 may also carry Retry-After. */
function resumeAtFrom(headers: Headers, now: number): number {
  const reset = Date.parse(headers.get('x-ratelimit-reset') ?? '');
  if (!Number.isNaN(reset)) return Math.max(reset, now);
  const wait = parseRetryAfter(headers.get('retry-after'), now);
  return now + (wait ?? DEFAULT_RATE_LIMIT_WAIT_MS);
}

function malformed(what: string, problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${what} answered with a body that does not have the documented shape: ${problem}`, { details: { problem } });
}

function parseBody(answer: Answer, what: string): unknown {
  try {
    return JSON.parse(answer.text);
  } catch {
    throw malformed(what, 'body is not valid JSON');
  }
}

/** A non-2xx answer as a coded error; Mastodon's `{"error": "..."}` text is kept (scrubbed) for the operator. */
function failure(answer: Answer, what: string, now: number, secrets: readonly string[]): RepwatchError {
  let detail: string | undefined;
  try {
    const body: unknown = JSON.parse(answer.text);
    if (isObj(body) && typeof body.error === 'string') detail = scrubSecrets(body.error, secrets).slice(0, 200);
  } catch {
    // not JSON (a proxy's HTML error page): the status says enough
  }
  const retryAfterMs = answer.status === 429 ? resumeAtFrom(answer.headers, now) - now : undefined;
  const base = httpError(answer.status, what, PLATFORM_CODES, retryAfterMs);
  return new RepwatchError(base.code, detail ? `${base.message} (${detail})` : base.message, { retryAfterMs, details: { status: answer.status, error: detail } });
}

// ---- poll ---------------------------------------------------------------------------------

interface Unit {
  /** Cursor key: the hashtag itself, or "search:<keyword>". */
  key: string;
  kind: 'tag' | 'search';
  path: string;
  params: Record<string, string>;
}

function pollUnits(source: MastodonSourceConfig, brand: ResolvedBrand): Unit[] {
  const units: Unit[] = mastodonHashtags(source, brand).map((tag) => ({
    key: tag,
    kind: 'tag',
    path: `/api/v1/timelines/tag/${encodeURIComponent(tag)}`,
    params: {},
  }));
  if (source.search) {
    for (const keyword of new Set(brand.keywords.map((k) => k.trim().toLowerCase()).filter(Boolean))) {
      units.push({ key: `search:${keyword}`, kind: 'search', path: '/api/v2/search', params: { q: keyword, type: 'statuses' } });
    }
  }
  return units;
}

function readCursor(cursor: Cursor | null): Cursor {
  const out: Cursor = {};
  for (const [k, v] of Object.entries(cursor ?? {})) if (typeof v === 'string' && v !== '') out[k] = v;
  return out;
}

function statusesOf(body: unknown, unit: Unit, what: string): unknown[] {
  if (unit.kind === 'tag') {
    if (!Array.isArray(body)) throw malformed(what, 'the timeline is not an array of statuses');
    return body;
  }
  if (!isObj(body) || !Array.isArray(body.statuses)) throw malformed(what, 'the search result has no statuses array');
  return body.statuses;
}

async function poll(ctx: MastodonPollContext): Promise<PollResult> {
  const { source, brand, logger } = ctx;
  const token = tokenOf(ctx);
  const base = apiBase(ctx);
  const host = instanceHost(source);
  const matcher = brandMatcher(brand);
  const prev = readCursor(ctx.cursor);
  const next: Cursor = { ...(ctx.cursor ?? {}) };
  const mentions: Mention[] = [];
  const skipped: SkippedPost[] = [];
  const seen = new Set<string>();
  let hasMore = false;
  let resumeAt: number | undefined;
  let answered = 0;

  const units = pollUnits(source, brand);
  if (units.length === 0) {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `Mastodon source "${source.id}" of brand "${brand.id}" has no hashtag to follow: set hashtags`, { details: { brandId: brand.id, sourceId: source.id } });
  }
  // Every hashtag (and search) once per poll: 10 tags every 2 minutes is 25 of the 300 calls per 5 minutes.
  for (const unit of units) {
    const what = whatOf(source, unit.kind === 'tag' ? `hashtag timeline #${unit.key}` : 'status search');
    const since = typeof prev[unit.key] === 'string' ? (prev[unit.key] as string) : undefined;
    const url = new URL(base + unit.path);
    for (const [k, v] of Object.entries(unit.params)) url.searchParams.set(k, v);
    url.searchParams.set('limit', String(PAGE_LIMIT));
    if (since) url.searchParams.set('min_id', since);

    const answer = await get(url, token, what);
    if (answer.status === 429 && answered > 0) {
      // Keep what this poll already has; the rest waits for the reset. A 429 on the first call
      // is thrown below as RW_ERR_PLATFORM_RATE_LIMITED with the wait from its headers.
      resumeAt = resumeAtFrom(answer.headers, ctx.now);
      break;
    }
    if (answer.status === 404 && unit.kind === 'tag') {
      // "Record not found": the server has never seen this hashtag. Nothing to read yet.
      answered++;
      continue;
    }
    if (answer.status < 200 || answer.status >= 300) throw failure(answer, what, ctx.now, ctx.secrets.values());
    answered++;

    const statuses = statusesOf(parseBody(answer, what), unit, what);
    let newest = since;
    for (const raw of statuses) {
      // The cursor follows the timeline's own ids (a boost's wrapper id), bad items included, so it never sticks.
      const id = isObj(raw) ? str(raw.id) : undefined;
      if (id && newerId(id, newest)) newest = id;
      const r = statusToMention(raw, brand.id, host);
      if (!r.ok) {
        skipped.push({ postId: r.postId, reason: r.reason });
        continue;
      }
      if (!since && Date.parse(r.mention.createdAt) < ctx.now - FIRST_POLL_WINDOW_MS) continue;
      if (seen.has(r.mention.postId)) continue;
      seen.add(r.mention.postId);
      // Hashtag timelines carry unrelated uses of a tag: only posts the brand matcher accepts are kept.
      if (!matcher.test(r.mention.text)) continue;
      mentions.push(r.mention);
    }
    if (newest) next[unit.key] = newest;
    // min_id pages forward from the cursor, oldest first: a full page means more are waiting. A first
    // poll reads only the newest page on purpose.
    if (since && statuses.length >= PAGE_LIMIT) hasMore = true;
    if (answer.headers.get('x-ratelimit-remaining') === '0') {
      resumeAt = resumeAtFrom(answer.headers, ctx.now);
      break;
    }
  }

  const result: PollResult = { mentions, cursor: next, hasMore: resumeAt === undefined && hasMore, ...(skipped.length ? { skipped } : {}) };
  if (resumeAt !== undefined) result.resumeAt = resumeAt;
  logger.debug({ brandId: brand.id, sourceId: source.id, count: mentions.length, skipped: skipped.length, hasMore: result.hasMore, resumeAt }, 'Mastodon poll');
  return result;
}

// ---- engagement ---------------------------------------------------------------------------

/**
 * Counts of earlier posts through GET /api/v1/statuses?id[]= (Mastodon 4.3 and later; older
 * servers are not rechecked). Deleted or no longer visible statuses are simply absent from the
 * answer and so from the result.
 */
async function engagement(ctx: MastodonPollContext, postIds: string[]): Promise<Map<string, Engagement>> {
  const out = new Map<string, Engagement>();
  if (postIds.length === 0) return out;
  if (postIds.length > MAX_LOOKUP) throw new RepwatchError('RW_ERR_INPUT_INVALID', `Mastodon engagement looks up at most ${MAX_LOOKUP} posts at once, not ${postIds.length}`);
  const what = whatOf(ctx.source, 'status lookup');
  const token = tokenOf(ctx);
  const base = apiBase(ctx);
  for (let i = 0; i < postIds.length; i += LOOKUP_BATCH) {
    const url = new URL(`${base}/api/v1/statuses`);
    for (const id of postIds.slice(i, i + LOOKUP_BATCH)) url.searchParams.append('id[]', id);
    const answer = await get(url, token, what);
    if (answer.status < 200 || answer.status >= 300) throw failure(answer, what, ctx.now, ctx.secrets.values());
    const body = parseBody(answer, what);
    if (!Array.isArray(body)) throw malformed(what, 'the lookup is not an array of statuses');
    for (const s of body) {
      if (!isObj(s) || !str(s.id)) throw malformed(what, 'a looked-up status has no string id');
      out.set(s.id as string, { likes: int(s.favourites_count), reposts: int(s.reblogs_count), replies: int(s.replies_count), quotes: int(s.quotes_count) });
    }
  }
  return out;
}

// ---- streaming ----------------------------------------------------------------------------

function streamingEndpoint(ctx: MastodonStreamContext): string {
  const url = new URL(ctx.source.streamingUrl ?? apiBase(ctx));
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/streaming`;
  url.search = '';
  return url.toString();
}

/** The hashtag an event is for: the multiplexed `stream` field names it (["hashtag", "<tag>"]); else the status's own tags. */
function tagOfEvent(stream: unknown, status: unknown, tags: readonly string[]): string | undefined {
  if (Array.isArray(stream) && typeof stream[1] === 'string' && tags.includes(stream[1].toLowerCase())) return stream[1].toLowerCase();
  const own = isObj(status) && Array.isArray(status.tags) ? status.tags : [];
  for (const t of own) if (isObj(t) && typeof t.name === 'string' && tags.includes(t.name.toLowerCase())) return t.name.toLowerCase();
  return undefined;
}

/**
 * One WebSocket to the server's streaming API (GET /api/v1/streaming), authenticated with the
 * user token in the Authorization header (kept out of the URL, which ends up in logs), and one
 * `{"type":"subscribe","stream":"hashtag","tag":…}` per hashtag. Each matching post is handed on
 * with the full cursor, the hashtag's entry moved to the post's id, so a poll after a gap reads on
 * from there with min_id.
 */
function stream(ctx: MastodonStreamContext, handlers: StreamHandlers): Promise<void> {
  const { source, brand, logger, signal } = ctx;
  if (signal.aborted) return Promise.resolve();
  const what = whatOf(source, 'streaming');
  if (!source.accessTokenEnv) {
    return Promise.reject(new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${what} needs a user token: set accessTokenEnv on source "${source.id}"`));
  }
  let token: string;
  let endpoint: string;
  try {
    token = ctx.secrets.get(source.accessTokenEnv);
    endpoint = streamingEndpoint(ctx);
  } catch (err) {
    return Promise.reject(err);
  }
  const secrets = ctx.secrets.values();
  const tags = mastodonHashtags(source, brand);
  const host = instanceHost(source);
  const matcher = brandMatcher(brand);
  const cursor: Cursor = { ...(ctx.cursor ?? {}) };
  const delivered = new Set<string>();

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let heard = true;
    let pinger: NodeJS.Timeout | undefined;
    const ws = new WebSocket(endpoint, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: REQUEST_TIMEOUT_MS });

    const finish = (err?: RepwatchError): void => {
      if (settled) return;
      settled = true;
      if (pinger) clearInterval(pinger);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const fail = (err: RepwatchError): void => {
      finish(err);
      ws.terminate();
    };
    function onAbort(): void {
      finish();
      ws.close(1000);
    }
    signal.addEventListener('abort', onAbort, { once: true });

    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      // A refused upgrade: 401 is an invalid or revoked token.
      fail(
        status === 401 || status === 403
          ? new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${what} refused the connection (HTTP ${status}): the access token is invalid or lacks the read scope`, { details: { status } })
          : httpError(status, what, PLATFORM_CODES),
      );
    });
    ws.on('error', (err) => fail(networkError(err, what, PLATFORM_CODES)));
    ws.on('close', (code) => {
      if (!settled) finish(new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${what} connection closed (code ${code})`, { details: { code } }));
    });
    ws.on('open', () => {
      for (const tag of tags) ws.send(JSON.stringify({ type: 'subscribe', stream: 'hashtag', tag }));
      logger.info({ brandId: brand.id, sourceId: source.id, host, tags }, 'Mastodon stream connected');
      handlers.opened();
      pinger = setInterval(() => {
        if (!heard) return fail(new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${what} stopped answering`));
        heard = false;
        ws.ping();
      }, PING_EVERY_MS);
    });
    ws.on('pong', () => (heard = true));
    ws.on('ping', () => (heard = true));
    ws.on('message', (data) => {
      heard = true;
      if (settled) return;
      onMessage(data.toString());
    });

    function onMessage(text: string): void {
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        logger.warn({ sourceId: source.id }, 'Mastodon stream sent a message that is not JSON; ignored');
        return;
      }
      if (!isObj(msg)) return;
      if (typeof msg.error === 'string') {
        // The server refuses a subscription with {"error": "...", "status": 401} on the open socket.
        const status = int(msg.status);
        const detail = scrubSecrets(msg.error, secrets).slice(0, 200);
        if (status === 401 || status === 403) fail(new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${what} refused a subscription (${detail})`, { details: { status } }));
        else logger.warn({ sourceId: source.id, status, error: detail }, 'Mastodon stream reported an error');
        return;
      }
      // `delete` needs nothing here (a stored post stays as it was seen); other events are not statuses.
      if (msg.event !== 'update' && msg.event !== 'status.update') return;
      let status: unknown;
      try {
        status = typeof msg.payload === 'string' ? JSON.parse(msg.payload) : undefined;
      } catch {
        status = undefined;
      }
      if (!isObj(status)) {
        logger.warn({ sourceId: source.id, event: msg.event }, 'Mastodon stream event without a status payload; ignored');
        return;
      }
      const tag = tagOfEvent(msg.stream, status, tags);
      const id = str(status.id);
      let moved = false;
      if (tag && id && newerId(id, typeof cursor[tag] === 'string' ? (cursor[tag] as string) : undefined)) {
        cursor[tag] = id;
        moved = true;
      }
      const r = statusToMention(status, brand.id, host);
      if (r.ok && !delivered.has(r.mention.postId) && matcher.test(r.mention.text)) {
        delivered.add(r.mention.postId);
        if (delivered.size > DELIVERED_MEMORY) delivered.delete(delivered.values().next().value as string);
        handlers.post(r.mention, { ...cursor });
        return;
      }
      if (!r.ok) logger.warn({ sourceId: source.id, postId: r.postId, reason: r.reason }, 'Mastodon stream status skipped');
      if (moved) handlers.position({ ...cursor });
    }
  });
}

export const mastodonConnector: MastodonConnector = {
  platform: 'mastodon',
  poll,
  engagement,
  streaming: { stream },
};
