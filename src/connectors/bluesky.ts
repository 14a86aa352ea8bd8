import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import type { ResolvedBrand } from '../config/load';
import type { BlueskySourceConfig } from '../config/sources/bluesky';
import { brandMatcher, handleTerm, parseKeyword, type MatchTerm } from '../domain/matcher';
import { RepwatchError } from '../domain/errors';
import { mentionSchema, type Engagement, type Mention } from '../domain/mention';
import type { Logger } from '../logger';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost, StreamContext, StreamHandlers } from './connector';

/*
 * Bluesky: Jetstream (JSON over WebSocket) for the live feed, matched locally against the brand;
 * authenticated app.bsky.feed.searchPosts polls to fill gaps after an outage and to backfill;
 * followers from app.bsky.actor.getProfiles (25 per call, cached). Plain fetch/ws, no SDK: the
 * handful of XRPC calls is small, and the AT Protocol packages are ESM-heavy for this CommonJS build.
 */

const WHAT_SEARCH = 'Bluesky post search';
const WHAT_SESSION = 'Bluesky session';
const WHAT_PROFILES = 'Bluesky profile lookup';
const WHAT_POSTS = 'Bluesky post lookup';
const WHAT_STREAM = 'Bluesky Jetstream';

const POST_COLLECTION = 'app.bsky.feed.post';
const REQUEST_TIMEOUT_MS = 30_000;
/** The first poll of a source looks back this far, not through all history. */
const FIRST_LOOKBACK_MS = 24 * 3_600_000;
/** searchPosts filters on `sortAt`, which can trail a post by seconds of indexing: each round starts a little before the last ended. */
const ROUND_OVERLAP_MS = 2 * 60_000;
const SEARCH_PAGE_SIZE = 100;
/** Pages read per term in one round; past this a term's backlog is left (logged) so one busy term cannot starve the rest. */
const MAX_PAGES_PER_TERM = 20;
/** getProfiles and getPosts take at most 25 actors / uris per call (lexicon maxLength). */
const LOOKUP_BATCH = 25;
/** The PDS limit is 3000 requests per 5 minutes per IP; without a reset header, wait out one window. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 5 * 60_000;
/** An access token is renewed this long before its `exp`, so a call never starts with one about to lapse. */
const TOKEN_EARLY_MS = 60_000;
const AUTHOR_TTL_MS = 3_600_000;
const AUTHOR_CACHE_MAX = 10_000;

/** Jetstream's cursor is unix microseconds; on reconnect it is rewound this much and the idempotent store drops repeats. */
export const JETSTREAM_REWIND_US = 5_000_000;
/** Matched posts wait this long to be looked up together (one getProfiles call for several authors). */
const LOOKUP_DELAY_MS = 250;
/** A matched post is held at most this long for a lookup that keeps failing, then handed on with followers 0. */
const LOOKUP_MAX_HOLD_MS = 30_000;
/** Progress without a match is reported after this many events or this much time, whichever comes first. */
const POSITION_EVERY_EVENTS = 1000;
const POSITION_EVERY_MS = 1000;
/** Jetstream carries thousands of posts a minute: a minute of silence means the connection is dead. */
const STALL_MS = 60_000;
/** Post ids already handed on in this connection (guards against a server repeating itself). */
const DELIVERED_MEMORY = 10_000;

// ---- types ---------------------------------------------------------------------------------

/** Poll and stream contexts for this platform (the shared generics take it once the config union includes bluesky). */
export type BlueskyPollContext = Omit<PollContext, 'source'> & { source: BlueskySourceConfig };
export type BlueskyStreamContext = Omit<StreamContext, 'source'> & { source: BlueskySourceConfig };

export interface BlueskyConnector {
  readonly platform: 'bluesky';
  poll(ctx: BlueskyPollContext): Promise<PollResult>;
  engagement(ctx: BlueskyPollContext, postIds: string[]): Promise<Map<string, Engagement>>;
  streaming: { stream(ctx: BlueskyStreamContext, handlers: StreamHandlers): Promise<void> };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);

function malformed(what: string, problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${what} answered with a body that does not have the documented shape: ${problem}`, {
    details: { problem },
  });
}

// ---- post ids ------------------------------------------------------------------------------

/**
 * A post's id in repwatch, from its author's DID and record key: `plc.<id>_<rkey>` for
 * did:plc:<id>. Stable, without ':' (queue job ids), and reversible (engagement lookups need the
 * at:// URI back): ':' and '%' in the DID, and also '_' in the rkey, are percent-escaped, so the
 * last '_' always separates the two.
 */
export function blueskyPostId(did: string, rkey: string): string {
  const m = /^did:([a-z0-9]+):(.+)$/.exec(did);
  if (!m || !rkey) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'not a DID and record key');
  const esc = (s: string) => s.replace(/%/g, '%25').replace(/:/g, '%3A');
  return `${m[1]}.${esc(m[2])}_${esc(rkey).replace(/_/g, '%5F')}`;
}

function unescapeId(s: string): string {
  return s.replace(/%(25|3A|5F)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The at:// URI of a repwatch post id (undefined for an id that is not one of ours). */
export function blueskyPostUri(postId: string): string | undefined {
  const m = /^([a-z0-9]+)\.(.+)_([^_]+)$/.exec(postId);
  if (!m) return undefined;
  return `at://did:${m[1]}:${unescapeId(m[2])}/${POST_COLLECTION}/${unescapeId(m[3])}`;
}

function parsePostUri(uri: unknown): { did: string; rkey: string } | undefined {
  if (typeof uri !== 'string') return undefined;
  const m = /^at:\/\/(did:[a-z0-9]+:[^/]+)\/app\.bsky\.feed\.post\/([^/?#]+)$/.exec(uri);
  return m ? { did: m[1], rkey: m[2] } : undefined;
}

function postIdOfUri(uri: unknown): string | undefined {
  const p = parsePostUri(uri);
  return p ? blueskyPostId(p.did, p.rkey) : undefined;
}

function postUrl(handle: string | undefined, did: string, rkey: string): string {
  // bsky.app links work with a DID too; 'handle.invalid' is what the AppView shows for a handle that no longer verifies.
  const who = handle && handle !== 'handle.invalid' ? handle : did;
  return `https://bsky.app/profile/${who}/post/${encodeURIComponent(rkey)}`;
}

// ---- search terms --------------------------------------------------------------------------

const BARE_WORD = /^[\p{L}\p{N}_]+$/u;

/** A matcher term as Bluesky search syntax: a word as is, a phrase quoted, a #tag as a tag, an @mention as its name. */
function searchTerm(t: MatchTerm): string | undefined {
  if (t.kind === 'hashtag') return t.raw;
  const text = (t.kind === 'mention' ? t.raw.replace(/^@/, '') : t.raw).replace(/["\u201c\u201d]/g, ' ').replace(/\s+/g, ' ').trim();
  if (!text) return undefined;
  return BARE_WORD.test(text) ? text : `"${text}"`;
}

/**
 * The searchPosts queries for a brand, built from the same parsed keywords as the brand matcher.
 * Bluesky search has no OR (it ANDs every word: bluesky-social/atproto#3751, social-app#1522) but
 * takes quoted phrases, so every OR alternative of every keyword, and every handle, is its own
 * query, and the poll goes through them in rotation, one call per poll. Negated terms and
 * exclusions are left out of the queries (a query may find too much, never too little): the
 * brand matcher applies them to what comes back.
 */
export function blueskySearchTerms(brand: Pick<ResolvedBrand, 'id' | 'keywords' | 'handles'>): string[] {
  const terms: string[] = [];
  const seen = new Set<string>();
  const add = (query: string) => {
    if (!query || seen.has(query.toLowerCase())) return;
    seen.add(query.toLowerCase());
    terms.push(query);
  };
  for (const k of brand.keywords) {
    const parsed = parseKeyword(k);
    for (const branch of parsed?.branches ?? []) {
      add(
        branch
          .filter((l) => !l.negated)
          .map((l) => searchTerm(l.term))
          .filter((q): q is string => q !== undefined)
          .join(' '),
      );
    }
  }
  for (const h of brand.handles) {
    const t = handleTerm(h);
    const q = t && searchTerm(t);
    if (q) add(q);
  }
  if (terms.length === 0) {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `brand "${brand.id}" has no keyword or handle to search Bluesky for`, { details: { brandId: brand.id } });
  }
  return terms;
}

// ---- HTTP / XRPC ---------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  body: unknown;
  json: boolean;
}

interface XrpcCall {
  base: string;
  nsid: string;
  method?: 'GET' | 'POST';
  params?: [string, string][];
  token?: string;
  body?: unknown;
  what: string;
  signal?: AbortSignal;
}

async function xrpc(call: XrpcCall): Promise<Reply> {
  const url = new URL(`xrpc/${call.nsid}`, call.base.endsWith('/') ? call.base : `${call.base}/`);
  for (const [k, v] of call.params ?? []) url.searchParams.append(k, v);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: call.method ?? 'GET',
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: call.signal ? AbortSignal.any([timeout, call.signal]) : timeout,
    });
    text = await res.text();
  } catch (err) {
    // The fetch error carries the request (URL, headers), so only its kind goes into the coded error.
    throw networkError(err, call.what, PLATFORM_CODES);
  }
  let body: unknown;
  let json = false;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
      json = true;
    } catch {
      body = undefined;
    }
  }
  return { status: res.status, headers: res.headers, body, json };
}

/** The XRPC error name of a failed call (`{error, message}` bodies). */
function xrpcErrorName(reply: Reply): string | undefined {
  return isObj(reply.body) ? str(reply.body.error) : undefined;
}

/**
 * When calls may resume: `ratelimit-reset` (Bluesky sends unix seconds; a small number is read as
 * seconds from now, as in the IETF draft), else Retry-After, else one 5-minute window.
 */
function resumeAtFrom(headers: Headers, now: number): number {
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const n = Number(reset);
    return n >= 1e9 ? n * 1000 : now + n * 1000;
  }
  const retry = parseRetryAfter(headers.get('retry-after'), now);
  return retry !== undefined ? now + retry : now + DEFAULT_RATE_LIMIT_WAIT_MS;
}

/** A coded error from a failed XRPC call: status decides the code; the XRPC error name and message (scrubbed) say why. */
function xrpcError(what: string, reply: Reply, now: number, scrub: readonly string[]): RepwatchError {
  const retryAfterMs = reply.status === 429 ? Math.max(0, resumeAtFrom(reply.headers, now) - now) : undefined;
  const base = httpError(reply.status, what, PLATFORM_CODES, retryAfterMs);
  const name = xrpcErrorName(reply);
  const clean = (s: string | undefined) => (s === undefined ? undefined : scrubSecrets(s, scrub).replace(/\s+/g, ' ').slice(0, 200));
  const error = clean(name);
  const message = clean(isObj(reply.body) ? str(reply.body.message) : undefined);
  const why = error ? ` (${error}${message ? `: ${message}` : ''})` : '';
  return new RepwatchError(base.code, `${base.message}${why}`, { retryAfterMs, details: { status: reply.status, error } });
}

// ---- sessions ------------------------------------------------------------------------------

interface Auth {
  /** Where sessions are made. */
  service: string;
  /** Whether app.bsky.* calls may go to the PDS the account's DID document names (not when a baseUrl pins one host). */
  followDidDoc: boolean;
  identifier: string;
  password: string;
  /** Values never to show in errors or logs: the configured secrets and the session's tokens. */
  scrub: () => string[];
  now: () => number;
  logger: Logger;
  signal?: AbortSignal;
}

interface Session {
  accessJwt: string;
  refreshJwt: string;
  /** When the access token lapses (ms since epoch), from its `exp` claim; undefined when it has none. */
  accessExpiresAt?: number;
  did: string;
  /** Where authenticated app.bsky.* calls go: the account's PDS, which proxies them to the AppView. */
  pds: string;
}

/** A refused sign-in is not tried again for this long (createSession allows 30 per 5 minutes and 300 a day per account). */
const SIGN_IN_REFUSED_MS = 5 * 60_000;

interface SessionEntry {
  session?: Session;
  pending?: Promise<Session>;
  /** The last sign-in failed for good (or was rate limited): the same error until this time, without a call. */
  blocked?: { error: RepwatchError; until: number };
}

/** Sessions per (service, identifier), kept in memory: createSession is limited to 30 per 5 minutes per account. */
const sessions = new Map<string, SessionEntry>();

function sessionTokens(): string[] {
  const out: string[] = [];
  for (const e of sessions.values()) if (e.session) out.push(e.session.accessJwt, e.session.refreshJwt);
  return out;
}

function jwtExpiry(jwt: string): number | undefined {
  const part = jwt.split('.')[1];
  if (!part) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isObj(claims) && typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The PDS endpoint in a session's DID document (`#atproto_pds`), when it is an https URL. */
function pdsFromDidDoc(didDoc: unknown): string | undefined {
  if (!isObj(didDoc) || !Array.isArray(didDoc.service)) return undefined;
  for (const s of didDoc.service) {
    if (!isObj(s) || typeof s.id !== 'string' || !s.id.endsWith('#atproto_pds')) continue;
    const endpoint = str(s.serviceEndpoint);
    if (!endpoint) continue;
    try {
      if (new URL(endpoint).protocol === 'https:') return endpoint;
    } catch {
      // not a URL: use the service
    }
  }
  return undefined;
}

function readSession(a: Auth, reply: Reply): Session {
  const b = reply.body;
  if (!isObj(b) || !str(b.accessJwt) || !str(b.refreshJwt) || !str(b.did)) throw malformed(WHAT_SESSION, 'accessJwt, refreshJwt or did is missing');
  const accessJwt = b.accessJwt as string;
  return {
    accessJwt,
    refreshJwt: b.refreshJwt as string,
    accessExpiresAt: jwtExpiry(accessJwt),
    did: b.did as string,
    pds: (a.followDidDoc ? pdsFromDidDoc(b.didDoc) : undefined) ?? a.service,
  };
}

/** Credentials the server no longer takes (ExpiredToken, InvalidToken, 401): make a new session rather than fail. */
function tokenRefused(reply: Reply): boolean {
  if (reply.status === 401) return true;
  const name = xrpcErrorName(reply);
  return reply.status === 400 && (name === 'ExpiredToken' || name === 'InvalidToken');
}

async function createSession(a: Auth): Promise<Session> {
  const reply = await xrpc({
    base: a.service,
    nsid: 'com.atproto.server.createSession',
    method: 'POST',
    body: { identifier: a.identifier, password: a.password },
    what: WHAT_SESSION,
    signal: a.signal,
  });
  if (reply.status >= 200 && reply.status < 300) return readSession(a, reply);
  const err = xrpcError(WHAT_SESSION, reply, a.now(), a.scrub());
  const name = xrpcErrorName(reply);
  if (reply.status === 401 || name === 'AuthFactorTokenRequired' || name === 'AccountTakedown') {
    // The server's own words, scrubbed, plus what to do about it.
    throw new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${err.message}: check the handle and use an app password (an account with email two-factor sign-in needs one)`, {
      details: err.details,
    });
  }
  throw err;
}

async function refreshSession(a: Auth, s: Session): Promise<Session | undefined> {
  const reply = await xrpc({ base: s.pds, nsid: 'com.atproto.server.refreshSession', method: 'POST', token: s.refreshJwt, what: WHAT_SESSION, signal: a.signal });
  if (reply.status >= 200 && reply.status < 300) {
    const next = readSession(a, reply);
    // A refresh answer carries no DID document: stay on the PDS found at sign-in.
    return { ...next, pds: s.pds };
  }
  if (tokenRefused(reply)) return undefined;
  throw xrpcError(WHAT_SESSION, reply, a.now(), a.scrub());
}

/**
 * The account's session: the cached one while its access token is fresh; else refreshed; else a
 * new one. `stale` is an access token the server just refused: it is replaced even if not yet
 * expired by the clock. Concurrent callers share one sign-in.
 */
function getSession(a: Auth, stale?: string): Promise<Session> {
  const key = `${a.service}\u0000${a.identifier}`;
  const entry = sessions.get(key);
  if (entry?.pending) return entry.pending;
  if (entry?.blocked && entry.blocked.until > a.now()) {
    const { error, until } = entry.blocked;
    return Promise.reject(new RepwatchError(error.code, error.message, { details: error.details, retryAfterMs: error.code === 'RW_ERR_PLATFORM_RATE_LIMITED' ? until - a.now() : undefined }));
  }
  const current = entry?.session;
  if (current && current.accessJwt !== stale && (current.accessExpiresAt === undefined || current.accessExpiresAt - TOKEN_EARLY_MS > a.now())) {
    return Promise.resolve(current);
  }
  const pending = (async () => (current ? await refreshSession(a, current) : undefined) ?? (await createSession(a)))();
  sessions.set(key, { session: current, pending });
  pending.then(
    (session) => sessions.set(key, { session }),
    (err: unknown) => {
      // Refused credentials drop the session and are not tried again for a while (every stream
      // lookup would otherwise sign in again); a passing failure keeps the session for the next try.
      if (err instanceof RepwatchError && err.code === 'RW_ERR_PLATFORM_REJECTED') sessions.set(key, { blocked: { error: err, until: a.now() + SIGN_IN_REFUSED_MS } });
      else if (err instanceof RepwatchError && err.code === 'RW_ERR_PLATFORM_RATE_LIMITED' && !current) {
        sessions.set(key, { blocked: { error: err, until: a.now() + (err.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS) } });
      } else sessions.set(key, { session: current });
    },
  );
  return pending;
}

/** One authenticated call; a refused access token is renewed once and the call made again. */
async function authed(a: Auth, call: (token: string, pds: string) => Promise<Reply>): Promise<Reply> {
  let session = await getSession(a);
  let reply = await call(session.accessJwt, session.pds);
  if (tokenRefused(reply)) {
    a.logger.debug({ status: reply.status, error: xrpcErrorName(reply) }, 'Bluesky access token refused; renewing the session');
    session = await getSession(a, session.accessJwt);
    reply = await call(session.accessJwt, session.pds);
  }
  return reply;
}

function serviceOf(source: BlueskySourceConfig, secrets: PollContext['secrets']): { url: string; pinned: boolean } {
  if (source.baseUrl) return { url: source.baseUrl, pinned: true };
  if (source.baseUrlEnv) return { url: secrets.get(source.baseUrlEnv), pinned: true };
  return { url: source.service, pinned: false };
}

function authOf(ctx: { source: BlueskySourceConfig; secrets: PollContext['secrets']; logger: Logger }, now: () => number, signal?: AbortSignal): Auth {
  const { url, pinned } = serviceOf(ctx.source, ctx.secrets);
  return {
    service: url,
    followDidDoc: !pinned,
    identifier: ctx.secrets.get(ctx.source.identifierEnv),
    password: ctx.secrets.get(ctx.source.appPasswordEnv),
    scrub: () => [...ctx.secrets.values(), ...sessionTokens()],
    now,
    logger: ctx.logger,
    signal,
  };
}

// ---- authors (followers) -------------------------------------------------------------------

interface AuthorInfo {
  handle: string;
  name?: string;
  followers: number;
  verified: boolean;
  verifiedType?: string;
}

/** Followers per DID for an hour, least recently used dropped past 10,000: a busy brand sees the same voices again and again. */
class AuthorCache {
  readonly #entries = new Map<string, { info: AuthorInfo; at: number }>();
  get(did: string, now: number): AuthorInfo | undefined {
    const e = this.#entries.get(did);
    if (!e) return undefined;
    if (now - e.at >= AUTHOR_TTL_MS) {
      this.#entries.delete(did);
      return undefined;
    }
    this.#entries.delete(did);
    this.#entries.set(did, e);
    return e.info;
  }
  set(did: string, info: AuthorInfo, now: number): void {
    this.#entries.delete(did);
    this.#entries.set(did, { info, at: now });
    while (this.#entries.size > AUTHOR_CACHE_MAX) this.#entries.delete(this.#entries.keys().next().value as string);
  }
  clear(): void {
    this.#entries.clear();
  }
}

const authors = new AuthorCache();

/** Forgets cached sessions and followers (tests; a process that changed accounts). */
export function resetBlueskyState(): void {
  sessions.clear();
  authors.clear();
}

function verificationOf(v: unknown): { verified: boolean; verifiedType?: string } {
  if (!isObj(v)) return { verified: false };
  if (v.trustedVerifierStatus === 'valid') return { verified: true, verifiedType: 'trusted-verifier' };
  if (v.verifiedStatus === 'valid') return { verified: true, verifiedType: 'verified' };
  return { verified: false };
}

/**
 * Authors' profiles (followersCount) for some DIDs: from the cache, the rest through
 * app.bsky.actor.getProfiles in calls of 25. Accounts the AppView does not return (deleted,
 * suspended) are left out of the result. A failed call throws its coded error.
 */
async function lookupAuthors(a: Auth, dids: readonly string[]): Promise<Map<string, AuthorInfo>> {
  const out = new Map<string, AuthorInfo>();
  const missing: string[] = [];
  for (const did of new Set(dids)) {
    const hit = authors.get(did, a.now());
    if (hit) out.set(did, hit);
    else missing.push(did);
  }
  for (let i = 0; i < missing.length; i += LOOKUP_BATCH) {
    const batch = missing.slice(i, i + LOOKUP_BATCH);
    const reply = await authed(a, (token, pds) =>
      xrpc({ base: pds, nsid: 'app.bsky.actor.getProfiles', params: batch.map((d) => ['actors', d]), token, what: WHAT_PROFILES, signal: a.signal }),
    );
    if (reply.status < 200 || reply.status >= 300) throw xrpcError(WHAT_PROFILES, reply, a.now(), a.scrub());
    if (!isObj(reply.body) || !Array.isArray(reply.body.profiles)) throw malformed(WHAT_PROFILES, 'profiles is missing or not an array');
    for (const p of reply.body.profiles) {
      if (!isObj(p) || !str(p.did) || !str(p.handle)) continue;
      const info: AuthorInfo = { handle: p.handle as string, name: str(p.displayName), followers: count(p.followersCount), ...verificationOf(p.verification) };
      authors.set(p.did as string, info, a.now());
      out.set(p.did as string, info);
    }
  }
  return out;
}

// ---- posts ---------------------------------------------------------------------------------

function isoTime(...candidates: unknown[]): string | undefined {
  for (const c of candidates) {
    if (typeof c !== 'string' && typeof c !== 'number') continue;
    const t = typeof c === 'number' ? c : Date.parse(c);
    if (Number.isFinite(t)) return new Date(t).toISOString();
  }
  return undefined;
}

interface RecordFields {
  text: string;
  langHint?: string;
  createdAt?: string;
  replyToId?: string;
  rootId?: string;
}

/** The fields repwatch reads from an app.bsky.feed.post record; undefined when it has no text. */
function readRecord(record: unknown): RecordFields | undefined {
  if (!isObj(record) || typeof record.text !== 'string') return undefined;
  const reply = isObj(record.reply) ? record.reply : undefined;
  return {
    text: record.text,
    langHint: Array.isArray(record.langs) ? str(record.langs[0]) : undefined,
    createdAt: isoTime(record.createdAt),
    replyToId: isObj(reply?.parent) ? postIdOfUri(reply.parent.uri) : undefined,
    rootId: isObj(reply?.root) ? postIdOfUri(reply.root.uri) : undefined,
  };
}

function mentionOf(brandId: string, did: string, rkey: string, rec: RecordFields, author: AuthorInfo | undefined, engagement: Engagement, createdAt: string) {
  const postId = blueskyPostId(did, rkey);
  return {
    platform: 'bluesky',
    postId,
    url: postUrl(author?.handle, did, rkey),
    brandId,
    author: {
      id: did,
      handle: author?.handle ?? did,
      name: author?.name,
      followers: author?.followers ?? 0,
      verified: author?.verified ?? false,
      verifiedType: author?.verifiedType,
    },
    text: rec.text,
    langHint: rec.langHint,
    createdAt,
    engagement,
    replyToId: rec.replyToId,
    // A thread's root, as X's conversation_id: a post that starts a thread is its own.
    conversationId: rec.rootId ?? postId,
  };
}

function validMention(candidate: unknown): { mention: Mention } | { reason: string } {
  const r = mentionSchema.safeParse(candidate);
  if (r.success) return { mention: r.data };
  return { reason: `the post does not fit a mention (${[...new Set(r.error.issues.map((i) => i.path.join('.')))].join(', ')})` };
}

interface ViewPost {
  did: string;
  rkey: string;
  record: RecordFields;
  author: AuthorInfo;
  engagement: Engagement;
  createdAt: string;
}

/** A PostView (searchPosts, getPosts) read into its parts, or the reason it cannot be used. */
function readPostView(p: unknown, index: number): ViewPost | SkippedPost {
  const uri = isObj(p) ? p.uri : undefined;
  const ref = parsePostUri(uri);
  const postId = ref ? blueskyPostId(ref.did, ref.rkey) : typeof uri === 'string' && uri ? uri.replace(/:/g, '%3A') : `(posts[${index}] without uri)`;
  if (!isObj(p) || !ref) return { postId, reason: 'the post has no at:// post uri' };
  const a = isObj(p.author) ? p.author : undefined;
  if (!a || !str(a.handle) || a.did !== ref.did) return { postId, reason: 'the post has no author matching its uri' };
  const record = readRecord(p.record);
  if (!record) return { postId, reason: 'the post record has no text' };
  const createdAt = record.createdAt ?? isoTime(p.indexedAt);
  if (!createdAt) return { postId, reason: 'the post has no readable createdAt or indexedAt' };
  return {
    did: ref.did,
    rkey: ref.rkey,
    record,
    author: { handle: a.handle as string, name: str(a.displayName), followers: 0, ...verificationOf(a.verification) },
    engagement: { likes: count(p.likeCount), reposts: count(p.repostCount), replies: count(p.replyCount), quotes: count(p.quoteCount) },
    createdAt,
  };
}

// ---- poll cursor ---------------------------------------------------------------------------

/**
 * Where the search rotation stands. A round searches every term once over the same window
 * [since, until); `until` is the round's start, so pages stay stable while new posts arrive.
 * When the round ends, the next one starts from `until` minus a small overlap.
 */
interface SearchCursor {
  since: string;
  until: string | null;
  term: number;
  page: string | null;
  pages: number;
  /** Which term list the indexes refer to: a changed brand restarts the round over the same window. */
  terms: string;
}

function termsKey(terms: string[]): string {
  return createHash('sha1').update(JSON.stringify(terms)).digest('hex').slice(0, 12);
}

function readSearchCursor(cursor: Cursor | null, now: number, key: string, termCount: number): SearchCursor {
  const since = isoTime(cursor?.since) ?? new Date(now - FIRST_LOOKBACK_MS).toISOString();
  const until = isoTime(cursor?.until);
  const term = typeof cursor?.term === 'number' && Number.isInteger(cursor.term) && cursor.term >= 0 ? cursor.term : -1;
  if (!until || cursor?.terms !== key || term < 0 || term >= termCount) {
    // A new round (or the brand's terms changed mid-round: start it again, the store drops repeats).
    return { since, until: new Date(Math.max(now, Date.parse(since) + 1)).toISOString(), term: 0, page: null, pages: 0, terms: key };
  }
  return { since, until, term, page: typeof cursor.page === 'string' && cursor.page ? cursor.page : null, pages: typeof cursor.pages === 'number' ? cursor.pages : 0, terms: key };
}

function toCursor(c: SearchCursor): Cursor {
  return { since: c.since, until: c.until, term: c.term, page: c.page, pages: c.pages, terms: c.terms };
}

// ---- connector -----------------------------------------------------------------------------

async function poll(ctx: BlueskyPollContext): Promise<PollResult> {
  const { brand, source, logger } = ctx;
  const terms = blueskySearchTerms(brand);
  const cur = readSearchCursor(ctx.cursor, ctx.now, termsKey(terms), terms.length);
  const term = terms[cur.term];
  const a = authOf(ctx, () => ctx.now);
  const params: [string, string][] = [
    ['q', term],
    ['sort', 'latest'],
    ['since', cur.since],
    ['until', cur.until!],
    ['limit', String(SEARCH_PAGE_SIZE)],
  ];
  if (source.lang) params.push(['lang', source.lang]);
  if (cur.page) params.push(['cursor', cur.page]);

  try {
    return await searchPage(ctx, a, terms, cur, params);
  } catch (err) {
    if (err instanceof RepwatchError && err.code === 'RW_ERR_PLATFORM_RATE_LIMITED') {
      // Signing in, searching or looking up followers: wait for the reset and read this page again
      // (without followers an influencer's complaint would look small).
      const resumeAt = ctx.now + (err.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS);
      logger.debug({ brandId: brand.id, sourceId: source.id, resumeAt }, 'Bluesky rate limit reached; waiting for reset');
      return { mentions: [], cursor: toCursor(cur), hasMore: false, resumeAt };
    }
    throw err;
  }
}

async function searchPage(ctx: BlueskyPollContext, a: Auth, terms: string[], cur: SearchCursor, params: [string, string][]): Promise<PollResult> {
  const { brand, source, logger } = ctx;
  const term = terms[cur.term];
  const reply = await authed(a, (token, pds) => xrpc({ base: pds, nsid: 'app.bsky.feed.searchPosts', params, token, what: WHAT_SEARCH }));
  if (reply.status < 200 || reply.status >= 300) throw xrpcError(WHAT_SEARCH, reply, ctx.now, a.scrub());
  if (!reply.json) throw malformed(WHAT_SEARCH, 'body is not JSON');
  const body = reply.body;
  if (!isObj(body)) throw malformed(WHAT_SEARCH, `body is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}, not an object`);
  if (!Array.isArray(body.posts)) throw malformed(WHAT_SEARCH, 'posts is missing or not an array');
  if (body.cursor !== undefined && typeof body.cursor !== 'string') throw malformed(WHAT_SEARCH, 'cursor is not a string');

  // Search found the words; the brand matcher decides as it does for the stream (exclusions, word boundaries).
  const matcher = brandMatcher(brand);
  const skipped: SkippedPost[] = [];
  const views: ViewPost[] = [];
  let notAbout = 0;
  body.posts.forEach((p, i) => {
    const v = readPostView(p, i);
    if ('reason' in v) skipped.push(v);
    else if (matcher.test(v.record.text)) views.push(v);
    else notAbout += 1;
  });

  const profiles = await lookupAuthors(a, views.map((v) => v.did));

  const mentions: Mention[] = [];
  for (const v of views) {
    const followers = profiles.get(v.did)?.followers ?? 0;
    const r = validMention(mentionOf(brand.id, v.did, v.rkey, v.record, { ...v.author, followers }, v.engagement, v.createdAt));
    if ('mention' in r) mentions.push(r.mention);
    else skipped.push({ postId: blueskyPostId(v.did, v.rkey), reason: r.reason });
  }

  let next: SearchCursor;
  let hasMore: boolean;
  const nextPage = str(body.cursor);
  if (nextPage && body.posts.length > 0 && cur.pages + 1 < MAX_PAGES_PER_TERM) {
    next = { ...cur, page: nextPage, pages: cur.pages + 1 };
    hasMore = true;
  } else {
    if (nextPage && body.posts.length > 0) logger.warn({ brandId: brand.id, sourceId: source.id, term, pages: MAX_PAGES_PER_TERM }, 'Bluesky search: page limit for one term reached; older matches in this window are left');
    if (cur.term + 1 < terms.length) {
      next = { ...cur, term: cur.term + 1, page: null, pages: 0 };
      hasMore = true;
    } else {
      const since = new Date(Math.max(Date.parse(cur.since), Date.parse(cur.until!) - ROUND_OVERLAP_MS)).toISOString();
      next = { since, until: null, term: 0, page: null, pages: 0, terms: cur.terms };
      hasMore = false;
    }
  }

  const result: PollResult = { mentions, cursor: toCursor(next), hasMore, ...(skipped.length ? { skipped } : {}) };
  if (reply.headers.get('ratelimit-remaining')?.trim() === '0') {
    result.resumeAt = resumeAtFrom(reply.headers, ctx.now);
    result.hasMore = false;
  }
  logger.debug(
    { brandId: brand.id, sourceId: source.id, term: cur.term, count: mentions.length, notAbout, hasMore: result.hasMore, remaining: reply.headers.get('ratelimit-remaining') },
    'Bluesky search page',
  );
  return result;
}

/**
 * Engagement of earlier posts through app.bsky.feed.getPosts (25 uris per call). Deleted posts
 * are not returned and are left out; a 429 is thrown as rate limited with the reset time.
 */
async function engagement(ctx: BlueskyPollContext, postIds: string[]): Promise<Map<string, Engagement>> {
  const out = new Map<string, Engagement>();
  const uris = [...new Set(postIds.map(blueskyPostUri).filter((u): u is string => u !== undefined))];
  if (uris.length === 0) return out;
  const a = authOf(ctx, () => ctx.now);
  for (let i = 0; i < uris.length; i += LOOKUP_BATCH) {
    const batch = uris.slice(i, i + LOOKUP_BATCH);
    const reply = await authed(a, (token, pds) => xrpc({ base: pds, nsid: 'app.bsky.feed.getPosts', params: batch.map((u) => ['uris', u]), token, what: WHAT_POSTS }));
    if (reply.status < 200 || reply.status >= 300) throw xrpcError(WHAT_POSTS, reply, ctx.now, a.scrub());
    if (!isObj(reply.body) || !Array.isArray(reply.body.posts)) throw malformed(WHAT_POSTS, 'posts is missing or not an array');
    for (const p of reply.body.posts) {
      if (!isObj(p)) continue;
      const id = postIdOfUri(p.uri);
      if (!id) continue;
      out.set(id, { likes: count(p.likeCount), reposts: count(p.repostCount), replies: count(p.replyCount), quotes: count(p.quoteCount) });
    }
  }
  return out;
}

// ---- Jetstream -----------------------------------------------------------------------------

/** The subscribe URL: posts only, from the stored position rewound a few seconds (no cursor: live). */
export function jetstreamUrl(endpoint: string, cursor: Cursor | null): string {
  const url = new URL(endpoint);
  url.searchParams.append('wantedCollections', POST_COLLECTION);
  const timeUs = cursor?.timeUs;
  if (typeof timeUs === 'number' && Number.isFinite(timeUs) && timeUs > 0) {
    url.searchParams.set('cursor', String(Math.max(0, Math.floor(timeUs) - JETSTREAM_REWIND_US)));
  }
  return url.toString();
}

interface Pending {
  did: string;
  rkey: string;
  record: RecordFields;
  createdAt: string;
  timeUs: number;
  /** When it was queued (real clock), for the longest hold. */
  queuedAt: number;
}

function langAllowed(want: string | undefined, record: unknown): boolean {
  if (!want || !isObj(record) || !Array.isArray(record.langs) || record.langs.length === 0) return true;
  const w = want.toLowerCase();
  return record.langs.some((l) => typeof l === 'string' && (l.toLowerCase() === w || l.toLowerCase().startsWith(`${w}-`)));
}

function wsCloseError(message: string, details?: Record<string, unknown>): RepwatchError {
  return new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${WHAT_STREAM} ${message}`, details ? { details } : undefined);
}

/**
 * One Jetstream connection. Every create of an app.bsky.feed.post is matched against the brand;
 * a match waits (≤250 ms, to batch) for its author's followers and is handed on in arrival order.
 * Progress without a match is reported every 1000 events or second, but never past a post still
 * waiting, so a stored position never skips a post that was not handed on.
 */
function stream(ctx: BlueskyStreamContext, handlers: StreamHandlers): Promise<void> {
  const { brand, source, logger } = ctx;
  if (ctx.signal.aborted) return Promise.resolve();
  const matcher = brandMatcher(brand);
  const a = authOf(ctx, ctx.now, ctx.signal);
  const url = jetstreamUrl(source.jetstream, ctx.cursor);

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const queue: Pending[] = [];
    const delivered = new Set<string>();
    let lastSeenUs = 0;
    let lastHandedUs = typeof ctx.cursor?.timeUs === 'number' ? ctx.cursor.timeUs : 0;
    let eventsSinceHanded = 0;
    let handedAt = Date.now();
    let lastMessageAt = Date.now();
    let flushTimer: NodeJS.Timeout | undefined;
    let flushing = false;
    let lookupFailures = 0;

    const ws = new WebSocket(url, { handshakeTimeout: REQUEST_TIMEOUT_MS });
    const stall = setInterval(() => {
      if (Date.now() - lastMessageAt > STALL_MS) finish(wsCloseError(`sent nothing for ${STALL_MS / 1000} s; the connection is treated as dropped`));
    }, Math.min(STALL_MS, 5_000));
    // The socket keeps the process alive while it is open; the watchdog alone should not.
    stall.unref();

    function finish(err?: unknown): void {
      if (settled) return;
      settled = true;
      clearInterval(stall);
      if (flushTimer) clearTimeout(flushTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      // Posts still waiting were not handed on and the position never passed them: the next connection replays them.
      queue.length = 0;
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (err === undefined) resolve();
      else reject(err);
    }
    const onAbort = () => finish();
    ctx.signal.addEventListener('abort', onAbort);

    function handPosition(timeUs: number): void {
      if (timeUs <= lastHandedUs) return;
      lastHandedUs = timeUs;
      eventsSinceHanded = 0;
      handedAt = Date.now();
      handlers.position({ timeUs });
    }

    function handPost(p: Pending, author: AuthorInfo | undefined): void {
      const postId = blueskyPostId(p.did, p.rkey);
      if (delivered.has(postId)) return;
      const r = validMention(mentionOf(brand.id, p.did, p.rkey, p.record, author, { likes: 0, reposts: 0, replies: 0, quotes: 0 }, p.createdAt));
      if (!('mention' in r)) {
        logger.warn({ brandId: brand.id, sourceId: source.id, postId, reason: r.reason }, 'Jetstream post left out');
        return;
      }
      delivered.add(postId);
      if (delivered.size > DELIVERED_MEMORY) delivered.delete(delivered.values().next().value as string);
      handlers.post(r.mention, { timeUs: p.timeUs });
      lastHandedUs = Math.max(lastHandedUs, p.timeUs);
      eventsSinceHanded = 0;
      handedAt = Date.now();
    }

    function scheduleFlush(delay: number): void {
      if (flushTimer || settled) return;
      flushTimer = setTimeout(() => {
        flushTimer = undefined;
        void flush();
      }, delay);
    }

    /** Looks up the waiting posts' authors (cached ones need no call) and hands the posts on in order. */
    async function flush(): Promise<void> {
      if (flushing || settled || queue.length === 0) return;
      flushing = true;
      const batch = queue.slice();
      let found = new Map<string, AuthorInfo>();
      let giveUp = false;
      try {
        found = await lookupAuthors(a, batch.map((p) => p.did));
        lookupFailures = 0;
      } catch (err) {
        if (settled) return;
        lookupFailures += 1;
        const code = err instanceof RepwatchError ? err.code : undefined;
        // Refused credentials will not recover by waiting; anything else is tried again a while before posts go on without followers.
        giveUp = code === 'RW_ERR_PLATFORM_REJECTED' || Date.now() - batch[0].queuedAt >= LOOKUP_MAX_HOLD_MS;
        logger.warn(
          { brandId: brand.id, sourceId: source.id, code, error: err instanceof RepwatchError ? err.message : undefined, waiting: batch.length, handingOn: giveUp },
          giveUp ? 'Bluesky follower lookup failed; posts handed on with followers 0 (the search poll sees them again)' : 'Bluesky follower lookup failed; trying again',
        );
        if (!giveUp) {
          flushing = false;
          const retryAfter = err instanceof RepwatchError && err.retryAfterMs !== undefined ? err.retryAfterMs : 0;
          scheduleFlush(Math.min(LOOKUP_MAX_HOLD_MS, Math.max(LOOKUP_DELAY_MS * 2 ** Math.min(lookupFailures, 6), retryAfter)));
          return;
        }
      } finally {
        flushing = false;
      }
      if (settled) return;
      try {
        for (const p of batch) handPost(p, found.get(p.did));
        queue.splice(0, batch.length);
        // Events seen while the posts waited: their position may be handed on now.
        if (queue.length === 0) handPosition(lastSeenUs);
      } catch (err) {
        finish(err);
        return;
      }
      if (queue.length > 0) scheduleFlush(LOOKUP_DELAY_MS);
    }

    function onEvent(ev: Obj): void {
      const timeUs = ev.time_us;
      if (typeof timeUs !== 'number' || !Number.isFinite(timeUs)) return;
      lastSeenUs = Math.max(lastSeenUs, timeUs);
      eventsSinceHanded += 1;
      const commit = isObj(ev.commit) ? ev.commit : undefined;
      const did = str(ev.did);
      if (ev.kind === 'commit' && commit && commit.operation === 'create' && commit.collection === POST_COLLECTION && did && str(commit.rkey)) {
        const record = readRecord(commit.record);
        if (record && langAllowed(source.lang, commit.record) && matcher.test(record.text) && /^did:[a-z0-9]+:/.test(did)) {
          const p: Pending = { did, rkey: commit.rkey as string, record, createdAt: record.createdAt ?? new Date(timeUs / 1000).toISOString(), timeUs, queuedAt: Date.now() };
          const cached = queue.length === 0 ? authors.get(did, ctx.now()) : undefined;
          if (cached) handPost(p, cached);
          else {
            queue.push(p);
            scheduleFlush(LOOKUP_DELAY_MS);
          }
          return;
        }
      }
      // Identity and account events, deletes, updates and posts not about the brand only move the position.
      if (queue.length === 0 && (eventsSinceHanded >= POSITION_EVERY_EVENTS || Date.now() - handedAt >= POSITION_EVERY_MS)) handPosition(timeUs);
    }

    ws.on('open', () => {
      lastMessageAt = Date.now();
      logger.info({ brandId: brand.id, sourceId: source.id, rewoundFrom: ctx.cursor?.timeUs ?? null }, 'Jetstream connected');
      try {
        handlers.opened();
      } catch (err) {
        finish(err);
      }
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (settled) return;
      lastMessageAt = Date.now();
      let ev: unknown;
      try {
        ev = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8'));
      } catch {
        logger.warn({ brandId: brand.id, sourceId: source.id, binary: isBinary }, 'Jetstream message is not JSON; ignored');
        return;
      }
      if (!isObj(ev)) return;
      try {
        onEvent(ev);
      } catch (err) {
        finish(err);
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      const e = httpError(status, WHAT_STREAM, PLATFORM_CODES);
      finish(new RepwatchError(e.code, `${WHAT_STREAM} refused the connection (HTTP ${status})`, { details: { status } }));
    });
    ws.on('error', (err) => {
      if (ctx.signal.aborted) return finish();
      finish(networkError(err, WHAT_STREAM, PLATFORM_CODES));
    });
    ws.on('close', (code: number) => {
      if (ctx.signal.aborted) return finish();
      finish(wsCloseError(`connection closed (code ${code})`, { code }));
    });
  });
}

export const blueskyConnector: BlueskyConnector = {
  platform: 'bluesky',
  poll,
  engagement,
  streaming: { stream },
};
