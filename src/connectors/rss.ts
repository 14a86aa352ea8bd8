import { createHash } from 'node:crypto';
import Parser from 'rss-parser';
import type { BrandConfig } from '../config/schema';
import type { GoogleNewsConfig, RssSourceConfig } from '../config/sources/rss';
import { RepwatchError } from '../domain/errors';
import { brandMatcher, parseKeyword } from '../domain/matcher';
import { mentionSchema, type Mention } from '../domain/mention';
import { scrubSecrets } from '../logger';
import { PLATFORM_CODES, httpError, networkError, parseRetryAfter } from '../notifiers/http';
import type { Cursor, PollContext, PollResult, SkippedPost } from './connector';

export const GOOGLE_NEWS = 'https://news.google.com';
const REQUEST_TIMEOUT_MS = 30_000;
/** A first poll (no cursor, or a new feed address) keeps only this recent a past: a feed's backlog is not news. */
export const RSS_FIRST_LOOKBACK_MS = 24 * 3_600_000;
/** Item keys remembered for dedupe; every item currently in the feed is kept even past this, up to MAX_ITEMS. */
export const RSS_SEEN_MAX = 500;
/** Items read from one feed body; a feed lists newest first, and anything past this is an archive. */
const MAX_ITEMS = 2_000;
/** A feed larger than this is not a feed (or is an archive dump): refused rather than held in memory. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_TEXT = 20_000;
const ACCEPT = 'application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1';
const USER_AGENT = 'repwatch/1 (feed reader; conditional GET)';

/**
 * Typed against the source's own config rather than `Connector<RssSourceConfig>` so that it
 * compiles before the source joins the SourceConfig union; it is structurally a Connector.
 */
export type RssPollContext = Omit<PollContext, 'source'> & { source: RssSourceConfig };

// ---- Google News ----------------------------------------------------------------------------

/** A matcher term as Google News words: its quotes dropped ('"' cannot be escaped there), '#'/'@' too. */
function newsPhrase(raw: string): string {
  return raw.replace(/"/g, ' ').replace(/^[#@]/, '').replace(/\s+/g, ' ').trim();
}

/**
 * The default Google News search for a brand, from the same keyword definitions as the brand
 * matcher (src/domain/matcher.ts): plain keywords as quoted phrases, OR-ed, and the brand's
 * exclusions negated (Google News takes "…", OR and -"…"). Google's precedence of OR over
 * AND differs from the matcher's and its grouping is undocumented, so a boolean keyword is
 * widened to one term per OR branch (its first non-negated one): then `exact` is false and the
 * connector applies the full keyword to each item itself. Handles are left out: news articles
 * name the brand, not its social accounts.
 */
export function googleNewsSearch(brand: Pick<BrandConfig, 'id' | 'keywords'> & { exclude?: readonly string[] }): { query: string; exact: boolean } {
  const terms: string[] = [];
  const seen = new Set<string>();
  const add = (raw: string, into: string[]): void => {
    const p = newsPhrase(raw);
    if (p && !seen.has(p.toLowerCase())) {
      seen.add(p.toLowerCase());
      into.push(p);
    }
  };
  let exact = true;
  for (const keyword of brand.keywords) {
    const parsed = parseKeyword(keyword);
    if (!parsed) continue;
    if (!parsed.isQuery) {
      add(parsed.branches[0]![0]!.term.raw, terms);
      continue;
    }
    exact = false;
    for (const branch of parsed.branches) {
      // Any non-negated term of a branch occurs in every text the branch matches; the first is usually the brand.
      const first = branch.find((l) => !l.negated);
      if (first) add(first.term.raw, terms);
    }
  }
  if (terms.length === 0) {
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `brand "${brand.id}" has no keyword to search Google News for: give googleNews.query or keywords`, {
      details: { brandId: brand.id },
    });
  }
  const exclusions: string[] = [];
  for (const e of brand.exclude ?? []) add(e, exclusions);
  return { query: [terms.map((p) => `"${p}"`).join(' OR '), ...exclusions.map((p) => `-"${p}"`)].join(' '), exact };
}

/** The default Google News search query for a brand (see googleNewsSearch). */
export function googleNewsQuery(brand: Parameters<typeof googleNewsSearch>[0]): string {
  return googleNewsSearch(brand).query;
}

/**
 * `ceid` is "{country}:{language}", where Google drops the region of a region-tagged hl
 * (hl=en-GB → ceid=GB:en) but keeps numeric ones (es-419).
 */
function ceidLanguage(hl: string): string {
  return /^([a-z]{2,3})-[A-Za-z]{2}$/.exec(hl)?.[1] ?? hl;
}

/** https://news.google.com/rss/search?q=…&hl=nl&gl=NL&ceid=NL:nl (hl and gl are checked by the schema). */
export function googleNewsUrl(brand: Parameters<typeof googleNewsQuery>[0], gn: GoogleNewsConfig, base: string = GOOGLE_NEWS): string {
  const q = gn.query ?? googleNewsQuery(brand);
  return `${base.replace(/\/+$/, '')}/rss/search?q=${encodeURIComponent(q)}&hl=${gn.hl}&gl=${gn.gl}&ceid=${gn.gl}:${ceidLanguage(gn.hl)}`;
}

function feedUrlOf(ctx: RssPollContext): string {
  const { source } = ctx;
  if (source.googleNews) {
    const base = source.baseUrl ?? (source.baseUrlEnv ? ctx.secrets.get(source.baseUrlEnv) : undefined) ?? GOOGLE_NEWS;
    return googleNewsUrl(ctx.brand, source.googleNews, base);
  }
  if (source.url) return source.url;
  if (source.urlEnv) return ctx.secrets.get(source.urlEnv);
  throw new RepwatchError('RW_ERR_CONFIG_INVALID', `rss source "${source.id}" has no url, urlEnv or googleNews`);
}

// ---- cursor -------------------------------------------------------------------------------

/**
 * `feed` is a hash of the feed address (which may be a secret): when the address changes (a new
 * url, other keywords for Google News), validators and seen keys of the old feed mean nothing and
 * the poll starts afresh with the first-poll look-back. `seen` is space-separated item keys,
 * newest first (a Cursor holds only scalars).
 */
interface RssCursor {
  feed: string;
  etag: string | null;
  lastModified: string | null;
  seen: string[];
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function shortHash(text: string, length = 20): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function readCursor(c: Cursor | null, feed: string): RssCursor | null {
  if (!c || str(c.feed) !== feed) return null;
  return { feed, etag: str(c.etag), lastModified: str(c.lastModified), seen: (str(c.seen) ?? '').split(' ').filter(Boolean) };
}

function toCursor(c: RssCursor): Cursor {
  return { feed: c.feed, etag: c.etag, lastModified: c.lastModified, seen: c.seen.join(' ') };
}

// ---- parsing ------------------------------------------------------------------------------

/** Fields rss-parser leaves as they came (a string, or an object when the element has attributes or markup). */
interface ItemExtra {
  id?: unknown;
  author?: unknown;
  language?: unknown;
  newsSource?: unknown;
  guidElement?: unknown;
  titleText?: unknown;
  titleTextSnippet?: unknown;
  summaryText?: unknown;
  summaryTextSnippet?: unknown;
  'content:encodedSnippet'?: unknown;
}
interface FeedExtra {
  language?: unknown;
}
type FeedItem = Parser.Item & ItemExtra;

/** The parser's built-in Atom entry step, which this one wraps. */
type AtomStep = (this: Parser<FeedExtra, ItemExtra>, entry: Record<string, unknown>) => unknown;

class FeedParser extends Parser<FeedExtra, ItemExtra> {
  constructor() {
    super({
      customFields: {
        // `includeSnippet` (tags stripped, HTML entities decoded) is honoured by rss-parser 3.13 but missing from its types.
        item: [
          ['source', 'newsSource', { keepArray: true }],
          ['guid', 'guidElement', { keepArray: true }],
          ['title', 'titleText', { includeSnippet: true }],
          ['summary', 'summaryText', { includeSnippet: true }],
          'id',
        ] as unknown as (keyof ItemExtra)[],
      },
    });
  }

  /**
   * rss-parser 3.13 throws on an Atom entry whose <published>/<updated> is not a date, which would
   * fail the whole feed; such an entry is read again without its dates (it gets the fetch time).
   */
  parseItemAtom(entry: Record<string, unknown>): unknown {
    const step = (Parser.prototype as unknown as { parseItemAtom: AtomStep }).parseItemAtom;
    try {
      return step.call(this, entry);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      return step.call(this, { ...entry, published: undefined, updated: undefined });
    }
  }
}

/** Trimmed string, or undefined for anything else (rss-parser gives objects for odd markup). */
function text(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t || undefined;
}

/** Runs of white space (incl. no-break spaces) become one space; paragraph breaks stay one newline. */
function tidy(s: string): string {
  return s
    .split(/\n+/)
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.hostname.replace(/^www\./, '') || undefined;
  } catch {
    return undefined;
  }
}

/** A link as an absolute http(s) URL (relative ones resolved against the feed), else undefined. */
function absoluteLink(link: string | undefined, base: string): string | undefined {
  if (!link) return undefined;
  try {
    const u = new URL(link, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** 'nl-NL', 'NL', 'nl_BE' → 'nl'; anything that is not a language tag → undefined. */
function language(v: unknown): string | undefined {
  const m = /^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$/i.exec(text(v) ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}

/** Atom puts the language on the root element (xml:lang), which rss-parser does not expose. */
function atomLanguage(body: string): string | undefined {
  const m = /<feed\b[^>]*?\bxml:lang\s*=\s*["']([^"']+)["']/.exec(body.slice(0, 4096));
  return m ? language(m[1]) : undefined;
}

function isPermaLink(element: unknown): boolean {
  const first: unknown = Array.isArray(element) ? element[0] : undefined;
  const attr = typeof first === 'object' && first !== null ? (first as { $?: { isPermaLink?: unknown } }).$?.isPermaLink : undefined;
  return typeof attr !== 'string' || attr.trim().toLowerCase() !== 'false';
}

/** Google News' <source url="https://nos.nl">NOS</source>: the publisher behind the Google link. */
function newsSource(v: unknown): { name?: string; host?: string } | undefined {
  const first: unknown = Array.isArray(v) ? v[0] : undefined;
  if (typeof first === 'string') return { name: text(first) };
  if (typeof first !== 'object' || first === null) return undefined;
  const o = first as { _?: unknown; $?: { url?: unknown } };
  return { name: text(o._), host: hostOf(text(o.$?.url)) };
}

/** HTTP says the charset parameter wins; without one, the XML declaration's encoding; else UTF-8. */
function decodeBody(bytes: Uint8Array, contentType: string | null): string {
  let label = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  if (!label) {
    const head = new TextDecoder('latin1').decode(bytes.subarray(0, 200));
    label = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head)?.[1];
  }
  try {
    return new TextDecoder(label ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function malformed(what: string, problem: string): RepwatchError {
  return new RepwatchError('RW_ERR_PAYLOAD_MALFORMED', `${what} answered with a body that is not an RSS or Atom feed: ${problem}`, { details: { problem } });
}

// ---- items --------------------------------------------------------------------------------

interface Built {
  /** Dedupe key (hash of guid / Atom id, else link, else title and date); also the postId. */
  key: string;
  createdAtMs: number;
  text: string;
  mention?: Mention;
  problem?: string;
}

interface FeedFacts {
  brandId: string;
  /** What relative links are resolved against: the site's address, else the feed's. */
  base: string;
  host: string;
  title?: string;
  lang?: string;
  googleNews: boolean;
  now: number;
}

function buildItem(item: FeedItem, facts: FeedFacts): Built {
  const link = absoluteLink(text(item.link), facts.base);
  const guid = text(item.guid) ?? text(item.id);
  // An RSS guid is a permalink unless isPermaLink="false": then it is no address (RSS 2.0, <guid>).
  const url = link ?? (guid && isPermaLink(item.guidElement) ? absoluteLink(/^https?:\/\//i.test(guid) ? guid : undefined, facts.base) : undefined);

  const isoDate = text(item.isoDate);
  const parsedDate = isoDate ? Date.parse(isoDate) : NaN;
  const createdAtMs = Number.isNaN(parsedDate) ? facts.now : parsedDate;

  const source = facts.googleNews ? newsSource(item.newsSource) : undefined;
  let title = tidy(text(item.titleTextSnippet) ?? text(item.title) ?? '');
  // Google News titles end in " - Publisher", which the author already says.
  if (source?.name && title.endsWith(` - ${source.name}`)) title = title.slice(0, -` - ${source.name}`.length).trim();
  const body = tidy(text(item.contentSnippet) ?? text(item.summaryTextSnippet) ?? text(item['content:encodedSnippet']) ?? '');
  // Google News' description only repeats the headline and publisher as links.
  const joined = facts.googleNews || !body || body === title ? title : title ? `${title}\n${body}` : body;
  const fullText = joined.slice(0, MAX_TEXT);

  const keySource = guid ?? link ?? `${title || body}\n${text(item.pubDate) ?? ''}`;
  const key = shortHash(keySource);
  const built: Built = { key, createdAtMs, text: fullText };
  if (!guid && !link && !title && !body) return { ...built, problem: 'the item has no guid, link, title or description' };
  if (!url) return { ...built, problem: 'the item has no link' };
  if (!fullText) return { ...built, problem: 'the item has neither title nor description' };

  const host = source?.host ?? facts.host;
  const creator = text(item.creator) ?? text(item.author);
  const candidate = {
    platform: 'rss',
    postId: key,
    url,
    brandId: facts.brandId,
    author: {
      // A byline is only unique within its publication ("Redactie" writes for every paper).
      id: creator ? `${host}/${creator.slice(0, 200)}` : host,
      handle: host,
      name: creator ?? source?.name ?? facts.title,
      followers: 0,
      verified: false,
    },
    text: fullText,
    langHint: language(item.language) ?? facts.lang,
    createdAt: new Date(createdAtMs).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  };
  const r = mentionSchema.safeParse(candidate);
  if (!r.success) return { ...built, problem: `the item does not fit a mention (${[...new Set(r.error.issues.map((i) => i.path.join('.')))].join(', ')})` };
  return { ...built, mention: r.data };
}

// ---- connector ----------------------------------------------------------------------------

async function poll(ctx: RssPollContext): Promise<PollResult> {
  const { source, brand, logger } = ctx;
  const googleNews = source.googleNews !== undefined;
  const what = googleNews ? `Google News search of source "${source.id}"` : `feed of rss source "${source.id}"`;
  const secrets = ctx.secrets.values();
  const feedUrl = feedUrlOf(ctx);
  const feed = shortHash(feedUrl, 16);
  const cursor = readCursor(ctx.cursor, feed);

  const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': USER_AGENT };
  if (cursor?.etag) headers['if-none-match'] = cursor.etag;
  if (cursor?.lastModified) headers['if-modified-since'] = cursor.lastModified;

  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await fetch(feedUrl, { headers, redirect: 'follow', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (res.status === 304) {
      await res.body?.cancel().catch(() => undefined);
      logger.debug({ sourceId: source.id }, 'feed not modified');
      return { mentions: [], cursor: ctx.cursor ?? {}, hasMore: false };
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const wait = parseRetryAfter(res.headers.get('retry-after'), ctx.now);
      // A 429 without Retry-After still means slow down: wait at least one polling interval.
      throw httpError(res.status, what, PLATFORM_CODES, res.status === 429 ? (wait ?? source.pollEvery) : wait);
    }
    const declared = Number(res.headers.get('content-length'));
    if (declared > MAX_BODY_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw malformed(what, `body of ${declared} bytes is over the ${MAX_BODY_BYTES}-byte limit`);
    }
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    if (err instanceof RepwatchError) throw err;
    throw networkError(err, what, PLATFORM_CODES);
  }
  if (bytes.byteLength > MAX_BODY_BYTES) throw malformed(what, `body of ${bytes.byteLength} bytes is over the ${MAX_BODY_BYTES}-byte limit`);

  const body = decodeBody(bytes, res.headers.get('content-type'));
  let parsed: Awaited<ReturnType<FeedParser['parseString']>>;
  try {
    parsed = await new FeedParser().parseString(body);
  } catch (err) {
    // The parser's message names the line and column, never the address; first line only.
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : 'unreadable';
    throw malformed(what, scrubSecrets(why, secrets).slice(0, 200));
  }
  if (!Array.isArray(parsed.items)) throw malformed(what, 'the feed has no item list');

  const firstPoll = cursor === null;
  const since = firstPoll ? ctx.now - RSS_FIRST_LOOKBACK_MS : -Infinity;
  const seen = new Set(cursor?.seen ?? []);
  // A Google News search built from plain keywords already matched; a widened one (see googleNewsSearch) or a plain feed did not.
  const matchBrand = source.matchBrand ?? (source.googleNews ? !source.googleNews.query && !googleNewsSearch(brand).exact : true);
  const matcher = matchBrand ? brandMatcher(brand) : undefined;
  const siteUrl = absoluteLink(text(parsed.link), feedUrl);
  const facts: FeedFacts = {
    brandId: brand.id,
    base: siteUrl ?? feedUrl,
    host: hostOf(siteUrl) ?? hostOf(feedUrl) ?? 'feed',
    title: text(parsed.title),
    lang: language(parsed.language) ?? atomLanguage(body),
    googleNews,
    now: ctx.now,
  };

  const mentions: Mention[] = [];
  const skipped: SkippedPost[] = [];
  const inFeed = new Set<string>();
  let old = 0;
  let unmatched = 0;
  for (const item of parsed.items.slice(0, MAX_ITEMS) as FeedItem[]) {
    const built = buildItem(item, facts);
    if (inFeed.has(built.key)) continue;
    inFeed.add(built.key);
    // Every item in the feed is remembered, whatever becomes of it, so none is looked at twice.
    if (seen.has(built.key)) continue;
    if (built.createdAtMs < since) {
      old++;
      continue;
    }
    if (matcher && !matcher.test(built.text)) {
      unmatched++;
      continue;
    }
    if (built.mention) mentions.push(built.mention);
    else skipped.push({ postId: built.key, reason: built.problem ?? 'unreadable item' });
  }

  const keep = Math.max(RSS_SEEN_MAX, inFeed.size);
  const nextSeen = [...new Set([...inFeed, ...(cursor?.seen ?? [])])].slice(0, keep);
  const next: RssCursor = { feed, etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified'), seen: nextSeen };
  logger.debug({ sourceId: source.id, items: parsed.items.length, mentions: mentions.length, skipped: skipped.length, old, unmatched, firstPoll }, 'feed polled');
  return { mentions, cursor: toCursor(next), hasMore: false, ...(skipped.length ? { skipped } : {}) };
}

/** News and RSS/Atom feeds, and Google News searches: one conditional GET per poll. */
export const rssConnector: { readonly platform: 'rss'; poll(ctx: RssPollContext): Promise<PollResult> } = {
  platform: 'rss',
  poll,
};
