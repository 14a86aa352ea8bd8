import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Secrets } from '../config/load';
import { RepwatchError } from '../domain/errors';
import { mentionSchema, type Mention } from '../domain/mention';
import type { Logger } from '../logger';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError } from '../notifiers/http';
import type { Cursor, WebhookItem } from './connector';

/**
 * What Instagram and Facebook Pages share: both are read through Meta's Graph API with the same
 * error body, rate-limit headers and batch requests, and both push changes as Meta webhooks
 * (the same GET handshake and the same X-Hub-Signature-256 on every POST).
 *
 * Docs checked: developers.facebook.com/docs/graph-api/webhooks/getting-started (handshake,
 * signature), /docs/graph-api/guides/error-handling (error body, codes 190/102, 1/2, 4/17/32/613),
 * /docs/graph-api/overview/rate-limiting (X-App-Usage, X-Business-Use-Case-Usage,
 * estimated_time_to_regain_access in minutes; 80001 Pages and 80002 Instagram BUC throttling),
 * /docs/graph-api/batch-requests (max 50 operations, {code, body} per operation, null when an
 * operation did not finish), and the Graph API v26/v27 notes: multi-ID look-ups (`?ids=a,b`) may
 * not be introduced by new apps since 2026-11-04, so batches are used instead.
 */

export const GRAPH_API = 'https://graph.facebook.com';
/** Meta's limit on operations in one batch request. */
export const META_BATCH_MAX = 50;
const REQUEST_TIMEOUT_MS = 30_000;
/** Meta gives no reset time for platform (X-App-Usage) throttling; its windows roll over an hour, so wait a quarter of one and try. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 15 * 60_000;

/** 4 app, 17 user, 32 page, 613 custom, 80001 Pages BUC, 80002 Instagram BUC throttling. */
export const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([4, 17, 32, 613, 80001, 80002]);
/** 190 expired/invalid access token; 102 API session (no subcode: the login has expired). */
export const TOKEN_CODES: ReadonlySet<number> = new Set([190, 102]);
/** 1 API Unknown, 2 API Service: Meta's own downtime, worth another try. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2]);

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 0);

/** Config fields every Meta source has (src/config/sources/instagram.ts and facebook.ts). */
export interface MetaSourceFields {
  id: string;
  accessTokenEnv: string;
  appSecretEnv: string;
  verifyTokenEnv: string;
  graphVersion: string;
  baseUrl?: string;
  baseUrlEnv?: string;
}

// ---- webhook handshake and signature -----------------------------------------------------------

const SIGNATURE_HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether `X-Hub-Signature-256` ("sha256=" + hex HMAC-SHA256 of the raw body with the app secret)
 * matches. The raw bytes matter: Meta signs the body with non-ASCII characters escaped (\u00e9),
 * so a re-serialised JSON object does not verify. A missing, malformed or short header is simply
 * false (never a throw), and the digest comparison is constant-time.
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (typeof header !== 'string' || !appSecret) return false;
  const m = SIGNATURE_HEADER.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1], 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** hub.challenge is documented as an int; anything beyond a short token is refused so the route never echoes markup. */
const CHALLENGE = /^[A-Za-z0-9_-]{1,128}$/;

/** Equal strings in time independent of where they differ (hashing first evens out the lengths). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * The GET verification request: `hub.mode=subscribe`, `hub.verify_token` equal to the one set in
 * the App Dashboard, and `hub.challenge` to echo. Returns the challenge to answer with (HTTP 200,
 * text/plain), or undefined when the request is not a valid handshake (answer 403). Accepts the
 * query flat ({'hub.mode': …}, fastify's default) or nested ({hub: {mode: …}}, qs-style parsers).
 */
export function metaChallenge(query: unknown, verifyToken: string): string | undefined {
  if (!isObj(query) || !verifyToken) return undefined;
  const nested = isObj(query.hub) ? query.hub : {};
  const mode = query['hub.mode'] ?? nested.mode;
  const token = query['hub.verify_token'] ?? nested.verify_token;
  const challenge = query['hub.challenge'] ?? nested.challenge;
  if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string') return undefined;
  if (!CHALLENGE.test(challenge)) return undefined;
  return sameSecret(token, verifyToken) ? challenge : undefined;
}

// ---- webhook bodies ------------------------------------------------------------------------------

export function malformed(what: string, problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${what} sent a body that does not have the documented shape: ${problem}`, { details: { problem } });
}

/** Graph ids are digits, Page post and comment ids digits_digits: anything else must not reach a request path. */
const GRAPH_ID = /^[0-9]+(_[0-9]+)*$/;
export const isGraphId = (v: unknown): v is string => typeof v === 'string' && GRAPH_ID.test(v);

export interface WebhookChange {
  /** entry.id: the Page or Instagram account the notification is for. */
  accountId: string;
  field: string;
  value: Obj;
}

/**
 * The documented envelope `{object, entry: [{id, time, changes: [{field, value}]}]}` (also when
 * wrapped in an array, as the Instagram examples show it). Entries without `changes` (messaging)
 * are skipped; anything else off the documented shape is RW_ERR_PAYLOAD_MALFORMED.
 */
export function webhookChanges(body: unknown, object: 'instagram' | 'page', what: string): WebhookChange[] {
  const bodies = Array.isArray(body) ? body : [body];
  const out: WebhookChange[] = [];
  bodies.forEach((b, bi) => {
    const at = bodies.length > 1 ? `[${bi}].` : '';
    if (!isObj(b)) throw malformed(what, `${at}body is ${b === null ? 'null' : Array.isArray(b) ? 'an array' : typeof b}, not an object`);
    if (b.object !== object) throw malformed(what, `${at}object is ${JSON.stringify(b.object)}, not "${object}"`);
    if (!Array.isArray(b.entry)) throw malformed(what, `${at}entry is not an array`);
    b.entry.forEach((e, ei) => {
      if (!isObj(e)) throw malformed(what, `${at}entry[${ei}] is not an object`);
      if (!isGraphId(e.id)) throw malformed(what, `${at}entry[${ei}].id is not a Graph id`);
      if (e.changes === undefined) return;
      if (!Array.isArray(e.changes)) throw malformed(what, `${at}entry[${ei}].changes is not an array`);
      e.changes.forEach((c, ci) => {
        if (!isObj(c) || typeof c.field !== 'string' || !isObj(c.value)) {
          throw malformed(what, `${at}entry[${ei}].changes[${ci}] has no string field and object value`);
        }
        out.push({ accountId: e.id as string, field: c.field, value: c.value });
      });
    });
  });
  return out;
}

// ---- rate-limit headers ----------------------------------------------------------------------------

interface HeaderSource {
  get(name: string): string | null;
}

function parseJsonHeader(headers: HeaderSource, name: string): unknown {
  const raw = headers.get(name);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

const PCT_FIELDS = ['call_count', 'total_cputime', 'total_time'] as const;

/**
 * When calls may resume according to Meta's usage headers, or undefined when they say nothing is
 * throttled. X-Business-Use-Case-Usage (`{"<object id>": [{type, call_count, total_cputime,
 * total_time, estimated_time_to_regain_access}]}`, the wait in minutes) is what Page and Instagram
 * tokens are counted under; X-App-Usage and X-Page-Usage (`{call_count, total_cputime,
 * total_time}`, percentages) are the platform limits. A percentage at 100 without a wait given
 * means waiting DEFAULT_RATE_LIMIT_WAIT_MS. Unreadable headers are ignored.
 */
export function usageResumeAt(headers: HeaderSource, now: number): number | undefined {
  let regainMinutes = 0;
  let pct = 0;
  const read = (u: unknown) => {
    if (!isObj(u)) return;
    const regain = u.estimated_time_to_regain_access;
    if (typeof regain === 'number' && Number.isFinite(regain)) regainMinutes = Math.max(regainMinutes, regain);
    for (const f of PCT_FIELDS) {
      const v = u[f];
      if (typeof v === 'number' && Number.isFinite(v)) pct = Math.max(pct, v);
    }
  };
  const buc = parseJsonHeader(headers, 'x-business-use-case-usage');
  if (isObj(buc)) for (const list of Object.values(buc)) if (Array.isArray(list)) list.forEach(read);
  read(parseJsonHeader(headers, 'x-app-usage'));
  read(parseJsonHeader(headers, 'x-page-usage'));
  if (regainMinutes > 0) return now + Math.ceil(regainMinutes * 60_000);
  if (pct >= 100) return now + DEFAULT_RATE_LIMIT_WAIT_MS;
  return undefined;
}

// ---- errors ------------------------------------------------------------------------------------------

/**
 * A coded error from a Graph error body `{"error": {message, type, code, error_subcode, fbtrace_id}}`:
 * decided by Meta's code first (its HTTP status is 400 for most of them), then by the status.
 * Meta's message is kept (scrubbed of every secret value, shortened) because it says which
 * permission or field is wrong; the token and app secret never appear.
 */
export function graphError(status: number, body: unknown, headers: HeaderSource, now: number, what: string, secrets: readonly string[]): RepwatchError {
  const e = isObj(body) && isObj(body.error) ? body.error : {};
  const code = typeof e.code === 'number' ? e.code : undefined;
  const subcode = typeof e.error_subcode === 'number' ? e.error_subcode : undefined;
  const type = str(e.type) ? scrubSecrets(e.type as string, secrets).slice(0, 80) : undefined;
  const fbtraceId = str(e.fbtrace_id) ? scrubSecrets(e.fbtrace_id as string, secrets).slice(0, 80) : undefined;
  const metaMessage = str(e.message) ? scrubSecrets(e.message as string, secrets).slice(0, 200) : undefined;
  const details = { status, code, subcode, type, fbtraceId };
  const tag = code === undefined ? '' : ` (Graph error ${code}${subcode === undefined ? '' : `/${subcode}`}${metaMessage ? `: ${metaMessage}` : ''})`;

  if (code !== undefined && TOKEN_CODES.has(code)) {
    return new RepwatchError('RW_ERR_PLATFORM_REJECTED', `${what} refused the access token: it has expired or been revoked, renew it${tag}`, { details });
  }
  if ((code !== undefined && RATE_LIMIT_CODES.has(code)) || status === 429) {
    const at = usageResumeAt(headers, now) ?? now + DEFAULT_RATE_LIMIT_WAIT_MS;
    return new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', `${what} rate limit reached${tag}`, { retryAfterMs: Math.max(0, at - now), details });
  }
  if ((code !== undefined && TRANSIENT_CODES.has(code)) || status >= 500) {
    return new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${what} answered HTTP ${status}${tag}`, { details });
  }
  const base = httpError(status, what, PLATFORM_CODES);
  return new RepwatchError(base.code, `${base.message}${tag}`, { details });
}

// ---- Graph client --------------------------------------------------------------------------------------

export interface GraphResponse {
  body: Obj;
  headers: Headers;
}

/** One answer of a batch: the operation's status and parsed body, or null when Meta did not finish it. */
export type BatchAnswer = { status: number; body: unknown } | null;

export interface GraphClient {
  /** GET {base}/{version}/{path}?params; rejects with a coded RepwatchError. */
  get(path: string, params: Record<string, string>): Promise<GraphResponse>;
  /** One batch request (at most META_BATCH_MAX GET operations, relative URLs without version). */
  batch(relativeUrls: string[]): Promise<{ answers: BatchAnswer[]; headers: Headers }>;
  /** The latest resume time any response's usage headers asked for (undefined: not throttled). */
  resumeAt(): number | undefined;
  /** The secret values, for scrubbing Meta's own text. */
  readonly secrets: readonly string[];
}

export function graphBaseUrl(source: MetaSourceFields, secrets: Secrets): string {
  const base = source.baseUrl ?? (source.baseUrlEnv ? secrets.get(source.baseUrlEnv) : undefined) ?? GRAPH_API;
  return base.replace(/\/+$/, '');
}

/**
 * A small Graph API client for one source. The access token travels in the Authorization header
 * (GET) or the form body (batch POST), never in a URL; `appsecret_proof` (HMAC-SHA256 of the token
 * with the app secret, hex) goes along so that apps with "Require App Secret" on are served.
 */
export function graphClient(source: MetaSourceFields, secrets: Secrets, what: string, now: number): GraphClient {
  const token = secrets.get(source.accessTokenEnv);
  const appSecret = secrets.get(source.appSecretEnv);
  const proof = createHmac('sha256', appSecret).update(token).digest('hex');
  const root = `${graphBaseUrl(source, secrets)}/${source.graphVersion}`;
  const secretValues = secrets.values();
  let resumeAt: number | undefined;

  async function send(url: string, init: RequestInit): Promise<{ body: unknown; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      throw networkError(err, what, PLATFORM_CODES);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw networkError(err, what, PLATFORM_CODES);
    }
    let body: unknown;
    let parsed = true;
    try {
      body = JSON.parse(text);
    } catch {
      parsed = false;
    }
    const usage = usageResumeAt(res.headers, now);
    if (usage !== undefined) resumeAt = Math.max(resumeAt ?? 0, usage);
    if (!res.ok) throw graphError(res.status, parsed ? body : undefined, res.headers, now, what, secretValues);
    if (!parsed) throw malformed(what, 'body is not valid JSON');
    return { body, headers: res.headers };
  }

  return {
    secrets: secretValues,
    resumeAt: () => resumeAt,
    async get(path, params) {
      const query = new URLSearchParams({ ...params, appsecret_proof: proof });
      const { body, headers } = await send(`${root}/${path}?${query}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
      if (!isObj(body)) throw malformed(what, `body is ${Array.isArray(body) ? 'an array' : typeof body}, not an object`);
      return { body, headers };
    },
    async batch(relativeUrls) {
      if (relativeUrls.length === 0) return { answers: [], headers: new Headers() };
      if (relativeUrls.length > META_BATCH_MAX) throw new RepwatchError('RW_ERR_INPUT_INVALID', `a Graph batch takes at most ${META_BATCH_MAX} operations, not ${relativeUrls.length}`);
      const form = new URLSearchParams({
        access_token: token,
        appsecret_proof: proof,
        include_headers: 'false',
        batch: JSON.stringify(relativeUrls.map((u) => ({ method: 'GET', relative_url: u }))),
      });
      const { body, headers } = await send(`${root}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
      if (!Array.isArray(body) || body.length !== relativeUrls.length) {
        throw malformed(what, `a batch of ${relativeUrls.length} was answered with ${Array.isArray(body) ? `${body.length} results` : 'no array'}`);
      }
      const answers: BatchAnswer[] = body.map((a, i) => {
        if (a === null) return null;
        if (!isObj(a) || typeof a.code !== 'number') throw malformed(what, `batch result ${i} has no numeric code`);
        let parsed: unknown;
        try {
          parsed = typeof a.body === 'string' ? JSON.parse(a.body) : a.body;
        } catch {
          parsed = undefined;
        }
        return { status: a.code, body: parsed };
      });
      return { answers, headers };
    },
  };
}

/**
 * One batch answer: the object, or a reason it is gone (deleted, hidden, no longer readable:
 * Graph error 100 and most other 4xx), or a throw when the whole call should wait or stop
 * (expired token, rate limit, Meta's own failure, an operation Meta did not finish).
 */
export function batchOutcome(answer: BatchAnswer, headers: Headers, client: GraphClient, now: number, what: string): { ok: Obj } | { gone: string } {
  if (answer === null) {
    throw new RepwatchError('RW_ERR_PLATFORM_UNAVAILABLE', `${what} did not finish every operation of a batch request (timed out); it is tried again`);
  }
  if (answer.status >= 200 && answer.status < 300) {
    return isObj(answer.body) ? { ok: answer.body } : { gone: 'the answer is not an object' };
  }
  const err = graphError(answer.status, answer.body, headers, now, what, client.secrets);
  const metaCode = err.details?.code;
  if (err.code !== 'RW_ERR_PLATFORM_REJECTED' || (typeof metaCode === 'number' && TOKEN_CODES.has(metaCode)) || answer.status === 401) throw err;
  return { gone: `HTTP ${answer.status}${typeof metaCode === 'number' ? `, Graph error ${metaCode}${typeof err.details?.subcode === 'number' ? `/${err.details.subcode}` : ''}` : ''}` };
}

/** Splits into batches of at most META_BATCH_MAX. */
export function chunks<T>(list: T[], size = META_BATCH_MAX): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Webhook items to mentions through batch requests: one operation per distinct item, 50 per
 * call. Items Meta no longer has are left out (logged with Meta's code, never its payload).
 */
export async function fetchBatched(opts: {
  client: GraphClient;
  items: WebhookItem[];
  now: number;
  what: string;
  logger: Logger;
  sourceId: string;
  /** The relative URL for an item, or a reason it needs no fetch. */
  operation(item: WebhookItem): string | { skip: string };
  /** The mention for an item's answer, or a reason it is left out. */
  toMention(item: WebhookItem, answer: Obj): Mention | string;
}): Promise<Mention[]> {
  const { client, now, what, logger, sourceId } = opts;
  const seen = new Set<string>();
  const work: { item: WebhookItem; url: string }[] = [];
  for (const item of opts.items) {
    const op = opts.operation(item);
    if (typeof op !== 'string') {
      logger.debug({ sourceId, id: item.id, field: item.field, reason: op.skip }, `${what}: webhook item needs no fetch`);
      continue;
    }
    if (seen.has(op)) continue;
    seen.add(op);
    work.push({ item, url: op });
  }
  const mentions: Mention[] = [];
  for (const part of chunks(work)) {
    const { answers, headers } = await client.batch(part.map((w) => w.url));
    part.forEach((w, i) => {
      const outcome = batchOutcome(answers[i], headers, client, now, what);
      const m = 'ok' in outcome ? opts.toMention(w.item, outcome.ok) : outcome.gone;
      if (typeof m === 'string') logger.info({ sourceId, id: w.item.id, field: w.item.field, reason: m }, `${what}: webhook item left out`);
      else mentions.push(m);
    });
  }
  return mentions;
}

// ---- mapping helpers -----------------------------------------------------------------------------------

/** Graph times are ISO 8601 with a "+0000" offset (or unix seconds in webhooks); normalised to ISO, or undefined. */
export function isoTime(v: unknown): string | undefined {
  let ms: number;
  if (typeof v === 'number' && Number.isFinite(v)) ms = v * 1000;
  else if (typeof v === 'string' && v) ms = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  else return undefined;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * Meta withholds the author of some items (a Facebook user's privacy settings, a mentioned
 * Instagram comment): such a post keeps an author of its own, so it never joins anyone else's case.
 */
export function unknownAuthor(postId: string): Mention['author'] {
  return { id: `unknown-${postId}`, handle: 'unknown', followers: 0, verified: false };
}

/** A candidate mention through mentionSchema: the mention, or why it does not fit. */
export function checkMention(candidate: unknown): Mention | string {
  const r = mentionSchema.safeParse(candidate);
  if (r.success) return r.data;
  return `the item does not fit a mention (${[...new Set(r.error.issues.map((iss) => iss.path.join('.')))].join(', ')})`;
}

// ---- cursor watermarks -------------------------------------------------------------------------------------

/** The newest creation time handed on (ms) and the ids seen at exactly that instant (Graph times are whole seconds). */
export interface Watermark {
  at: number;
  ids: string[];
}

export function readWatermark(cursor: Cursor | null, atKey: string, idsKey: string, fallback: number): Watermark {
  const raw = cursor?.[atKey];
  const at = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (Number.isNaN(at)) return { at: fallback, ids: [] };
  const ids = cursor?.[idsKey];
  return { at, ids: typeof ids === 'string' && ids ? ids.split(',').filter(Boolean) : [] };
}

export function watermarkCursor(w: Watermark, atKey: string, idsKey: string): Cursor {
  return { [atKey]: new Date(w.at).toISOString(), [idsKey]: w.ids.join(',') };
}

export const isNewer = (w: Watermark, at: number, id: string): boolean => at > w.at || (at === w.at && !w.ids.includes(id));

/** The watermark after handing on an item created at `at`. */
export function advance(w: Watermark, at: number, id: string): Watermark {
  if (at > w.at) return { at, ids: [id] };
  if (at === w.at && !w.ids.includes(id)) return { at, ids: [...w.ids, id] };
  return w;
}

/** The later of two watermarks (ids merged when they share the instant). */
export function later(a: Watermark, b: Watermark): Watermark {
  if (a.at !== b.at) return a.at > b.at ? a : b;
  return { at: a.at, ids: [...new Set([...a.ids, ...b.ids])] };
}

/** `data` of a Graph list answer, or RW_ERR_PAYLOAD_MALFORMED. */
export function listData(body: Obj, what: string, edge: string): unknown[] {
  if (!Array.isArray(body.data)) throw malformed(what, `${edge}: data is not an array`);
  return body.data;
}

/** The `after` cursor of a Graph list answer when a next page exists. */
export function nextAfter(list: unknown): string | undefined {
  if (!isObj(list) || !isObj(list.paging) || !str(list.paging.next)) return undefined;
  return isObj(list.paging.cursors) ? str(list.paging.cursors.after) : undefined;
}
