import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { rssSourceSchema, type RssSourceConfig } from '../../src/config/sources/rss';
import type { Cursor, PollResult } from '../../src/connectors/connector';
import { RSS_SEEN_MAX, googleNewsQuery, googleNewsSearch, googleNewsUrl, rssConnector, type RssPollContext } from '../../src/connectors/rss';
import { RepwatchError } from '../../src/domain/errors';
import { mentionKey } from '../../src/domain/mention';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', 'fixtures', 'rss', name), 'utf8');
const NOS = fixture('nos-algemeen.xml');
const ATOM = fixture('geldblog.atom');
const GNEWS = fixture('google-news-acme.xml');

const RSS_TYPE = { 'content-type': 'application/rss+xml; charset=utf-8' };
const ETAG = '"5f3a-61e2c0d1b7a40"';
const LAST_MODIFIED = 'Sun, 01 Jun 2025 11:45:00 GMT';
const validators = { ...RSS_TYPE, etag: ETAG, 'last-modified': LAST_MODIFIED };

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme bank', 'acme'],
  handles: ['@AcmeBank'],
  languages: ['nl', 'en'],
  sources: [],
  topics: {},
  exclude: [],
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

const source = (over: Record<string, unknown> = {}): RssSourceConfig => rssSourceSchema.parse({ id: 'nos', platform: 'rss', url: 'https://feeds.nos.nl/nosnieuwsalgemeen', ...over });

function ctx(src: RssSourceConfig, cursor: Cursor | null = null, env: [string, string][] = [], b: ResolvedBrand = brand): RssPollContext {
  return { brand: b, source: src, cursor, now: NOW, secrets: new Secrets(env), configDir: '/tmp', logger: pino({ level: 'silent' }) };
}

async function pollError(c: RssPollContext): Promise<RepwatchError> {
  const err = await rssConnector.poll(c).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

/** A minimal RSS 2.0 document around some <item> elements. */
const rss = (items: string, channel = '<title>Testfeed</title><link>https://www.example-nieuws.nl/</link>') =>
  `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>${channel}${items}</channel></rss>`;

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('rssSourceSchema', () => {
  it('fills the defaults: 5 minutes, and hl/gl for Google News', () => {
    expect(source()).toEqual({ id: 'nos', platform: 'rss', url: 'https://feeds.nos.nl/nosnieuwsalgemeen', pollEvery: 300_000 });
    expect(rssSourceSchema.parse({ id: 'gn', platform: 'rss', googleNews: {} }).googleNews).toEqual({ hl: 'nl', gl: 'NL' });
  });

  it('refuses polling faster than once a minute, with a message that says so', () => {
    const r = rssSourceSchema.safeParse({ id: 'nos', platform: 'rss', url: 'https://feeds.nos.nl/x', pollEvery: '30s' });
    expect(r.success).toBe(false);
    expect(r.error?.issues).toEqual([expect.objectContaining({ path: ['pollEvery'], message: expect.stringMatching(/at least 1m/) })]);
    expect(rssSourceSchema.parse({ id: 'nos', platform: 'rss', url: 'https://feeds.nos.nl/x', pollEvery: '1m' }).pollEvery).toBe(60_000);
  });

  it('needs exactly one of url, urlEnv and googleNews', () => {
    const problems = (s: Record<string, unknown>) => rssSourceSchema.safeParse({ id: 's', platform: 'rss', ...s }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({})).toEqual(['url: an rss source needs url, urlEnv or googleNews']);
    expect(problems({ url: 'https://a.nl/feed', urlEnv: 'FEED_URL' })).toEqual(['urlEnv: give the feed address as url or as urlEnv, not both']);
    expect(problems({ url: 'https://a.nl/feed', googleNews: {} })).toEqual(['googleNews: googleNews builds the feed address itself: leave out url and urlEnv']);
    expect(problems({ url: 'https://a.nl/feed', baseUrl: 'http://localhost:9000' })).toEqual([
      'baseUrl: baseUrl only applies to googleNews; for a plain feed, url is the whole address',
    ]);
    expect(problems({ url: 'ftp://a.nl/feed' })?.[0]).toMatch(/^url: /);
    expect(problems({ urlEnv: 'FEED_URL' })).toBeUndefined();
    expect(problems({ googleNews: { hl: 'fr', gl: 'BE' }, baseUrl: 'http://localhost:9000' })).toBeUndefined();
    expect(problems({ googleNews: { gl: 'be' } })?.[0]).toMatch(/^googleNews\.gl: /);
    expect(problems({ url: 'https://a.nl/feed', token: 'x' })?.[0]).toMatch(/token/);
  });
});

describe('Google News URL', () => {
  it('quotes each keyword as a phrase, ORs them, negates exclusions, and encodes the query', () => {
    expect(googleNewsQuery({ id: 'a', keywords: ['Acme Bank', 'acme', '#AcmeApp', 'acme bank'], exclude: ['acme cartoon'] })).toBe(
      '"Acme Bank" OR "acme" OR "AcmeApp" -"acme cartoon"',
    );
    const url = new URL(googleNewsUrl(brand, { hl: 'nl', gl: 'NL' }));
    expect(url.origin + url.pathname).toBe('https://news.google.com/rss/search');
    expect(url.search).toBe('?q=%22acme%20bank%22%20OR%20%22acme%22&hl=nl&gl=NL&ceid=NL:nl');
    expect(url.searchParams.get('q')).toBe('"acme bank" OR "acme"');
  });

  it('builds ceid from gl and the language of hl, and takes an explicit query as given', () => {
    const be = new URL(googleNewsUrl(brand, { hl: 'fr', gl: 'BE', query: 'Acme & Zonen "Brussel" #storing' }, 'http://127.0.0.1:8123/'));
    expect(be.origin + be.pathname).toBe('http://127.0.0.1:8123/rss/search');
    expect(be.searchParams.get('q')).toBe('Acme & Zonen "Brussel" #storing');
    expect(be.search).toContain('q=Acme%20%26%20Zonen%20%22Brussel%22%20%23storing&');
    expect(be.searchParams.get('ceid')).toBe('BE:fr');
    expect(new URL(googleNewsUrl(brand, { hl: 'en-GB', gl: 'GB' })).searchParams.get('ceid')).toBe('GB:en');
  });

  it('widens a boolean keyword to one term per alternative, and says the search is then not exact', () => {
    expect(googleNewsSearch({ id: 'a', keywords: ['acme'] })).toEqual({ query: '"acme"', exact: true });
    expect(googleNewsSearch({ id: 'a', keywords: ['"acme bank" AND storing OR acme -koffie', 'acme'] })).toEqual({ query: '"acme bank" OR "acme"', exact: false });
  });

  it('refuses a brand without keywords', () => {
    expect(() => googleNewsQuery({ id: 'h', keywords: [] })).toThrow(expect.objectContaining({ code: 'RW_ERR_CONFIG_INVALID' }));
  });
});

describe('rssConnector.poll: an RSS 2.0 news feed', () => {
  it('keeps the last 24 h of items that mention the brand on a first poll, and skips an item without a link', async () => {
    const scope = nock('https://feeds.nos.nl', { badheaders: ['if-none-match', 'if-modified-since'] })
      .matchHeader('accept', /application\/rss\+xml/)
      .matchHeader('user-agent', /^repwatch/)
      .get('/nosnieuwsalgemeen')
      .reply(200, NOS, validators);
    const r = await rssConnector.poll(ctx(source()));
    scope.done();

    // The voorjaarsnota is not about the brand; the new office is from 30 May.
    expect(r.mentions.map((m) => m.url)).toEqual([
      'https://nos.nl/artikel/2570001-storing-bij-acme-bank-klanten-kunnen-urenlang-niet-pinnen',
      'https://nos.nl/liveblog/2570003-problemen-met-app',
    ]);
    const [first, second] = r.mentions;
    expect(first).toEqual({
      platform: 'rss',
      postId: expect.stringMatching(/^[0-9a-f]{20}$/),
      url: 'https://nos.nl/artikel/2570001-storing-bij-acme-bank-klanten-kunnen-urenlang-niet-pinnen',
      brandId: 'acme',
      author: { id: 'nos.nl/Redactie Economie', handle: 'nos.nl', name: 'Redactie Economie', followers: 0, verified: false },
      text:
        'Storing bij Acme Bank: klanten kunnen urenlang niet pinnen\n' +
        'Klanten van Acme Bank konden zondag urenlang niet pinnen of inloggen.\n' +
        'De bank zegt "met man en macht" te werken aan een oplossing & biedt excuses aan.',
      langHint: 'nl',
      createdAt: '2025-06-01T11:30:00.000Z',
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    });
    expect(mentionKey(first!)).not.toContain(':');
    // No creator: the publication is the author.
    expect(second!.author).toEqual({ id: 'nos.nl', handle: 'nos.nl', name: 'NOS Nieuws - Algemeen', followers: 0, verified: false });
    expect(second!.createdAt).toBe('2025-06-01T09:05:00.000Z');

    expect(r.skipped).toEqual([{ postId: expect.stringMatching(/^[0-9a-f]{20}$/), reason: 'the item has no link' }]);
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toEqual({ feed: expect.any(String), etag: ETAG, lastModified: LAST_MODIFIED, seen: expect.any(String) });
    // All five items are remembered, also those left out, so none comes back on the next poll.
    expect((r.cursor.seen as string).split(' ')).toHaveLength(5);
    expect(JSON.parse(JSON.stringify(r.cursor))).toEqual(r.cursor);
  });

  it('sends the validators back and answers a 304 with an empty page and the same cursor', async () => {
    const first = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, validators);
    const r1 = await rssConnector.poll(ctx(source()));
    first.done();

    const second = nock('https://feeds.nos.nl')
      .matchHeader('if-none-match', ETAG)
      .matchHeader('if-modified-since', LAST_MODIFIED)
      .get('/nosnieuwsalgemeen')
      .reply(304, '', { etag: ETAG });
    const r2 = await rssConnector.poll(ctx(source(), r1.cursor));
    second.done();
    expect(r2).toEqual({ mentions: [], cursor: r1.cursor, hasMore: false });
  });

  it('hands each item on once across polls (by guid, else link), also when the server ignores the validators', async () => {
    const first = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, RSS_TYPE);
    const r1 = await rssConnector.poll(ctx(source()));
    first.done();
    expect(r1.cursor).toMatchObject({ etag: null, lastModified: null });

    const fresh = `<item><title>Acme Bank compenseert klanten na storing</title><link>https://nos.nl/artikel/2570010-acme-compenseert</link><guid isPermaLink="false">https://nos.nl/l/2570010</guid><pubDate>Sun, 01 Jun 2025 13:55:00 +0200</pubDate><description>Klanten krijgen 10 euro.</description></item>`;
    // The same article again with a new pubDate and a tracking link: the guid says it is the same.
    const republished = `<item><title>Storing bij Acme Bank voorbij</title><link>https://nos.nl/artikel/2570001?utm_source=rss</link><guid isPermaLink="false">https://nos.nl/l/2570001</guid><pubDate>Sun, 01 Jun 2025 13:58:00 +0200</pubDate></item>`;
    const body2 = NOS.replace('<item>', `${fresh}${republished}<item>`);
    const second = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, body2, RSS_TYPE);
    const r2 = await rssConnector.poll(ctx(source(), r1.cursor));
    second.done();
    // Not the 30 May item either: it was seen (and left out) on the first poll.
    expect(r2.mentions.map((m) => m.url)).toEqual(['https://nos.nl/artikel/2570010-acme-compenseert']);
    expect(r2.skipped).toBeUndefined();
    expect(r2.mentions[0]!.postId).not.toBe(r1.mentions[0]!.postId);
  });

  it('keeps the seen list bounded, but never forgets an item still in the feed', async () => {
    const old = Array.from({ length: 700 }, (_, i) => `k${String(i).padStart(19, '0')}`);
    const first = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, RSS_TYPE);
    const r1 = await rssConnector.poll(ctx(source()));
    first.done();
    const inFeed = (r1.cursor.seen as string).split(' ');

    const second = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, RSS_TYPE);
    const r2 = await rssConnector.poll(ctx(source(), { ...r1.cursor, seen: [...old, ...inFeed].join(' ') }));
    second.done();
    expect(r2.mentions).toEqual([]);
    const seen = (r2.cursor.seen as string).split(' ');
    expect(seen).toHaveLength(RSS_SEEN_MAX);
    expect(seen.slice(0, 5)).toEqual(inFeed);
  });

  it('on a later poll, keeps a new item even when it is older than a day', async () => {
    const first = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, rss(''), RSS_TYPE);
    const r1 = await rssConnector.poll(ctx(source()));
    first.done();
    const late = `<item><title>Acme Bank schrapt 300 banen</title><link>https://nos.nl/artikel/2560000</link><pubDate>Mon, 26 May 2025 08:00:00 +0200</pubDate></item>`;
    const second = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, rss(late), RSS_TYPE);
    const r2 = await rssConnector.poll(ctx(source(), r1.cursor));
    second.done();
    expect(r2.mentions.map((m) => m.createdAt)).toEqual(['2025-05-26T06:00:00.000Z']);
  });

  it('starts afresh (look-back window, no validators) when the feed address changed', async () => {
    const first = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, validators);
    const r1 = await rssConnector.poll(ctx(source()));
    first.done();
    const other = source({ url: 'https://feeds.nos.nl/nosnieuwseconomie' });
    const second = nock('https://feeds.nos.nl', { badheaders: ['if-none-match', 'if-modified-since'] }).get('/nosnieuwseconomie').reply(200, NOS, RSS_TYPE);
    const r2 = await rssConnector.poll(ctx(other, r1.cursor));
    second.done();
    expect(r2.mentions).toHaveLength(2);
    expect(r2.cursor.feed).not.toBe(r1.cursor.feed);
  });

  it('with matchBrand false, keeps items that do not name the brand', async () => {
    const scope = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, RSS_TYPE);
    const r = await rssConnector.poll(ctx(source({ matchBrand: false })));
    scope.done();
    expect(r.mentions.map((m) => m.text.split('\n')[0])).toEqual([
      'Storing bij Acme Bank: klanten kunnen urenlang niet pinnen',
      'Kabinet presenteert voorjaarsnota: meer geld voor defensie',
      'ACME-BANK-KLANTEN MELDEN OPNIEUW PROBLEMEN MET APP',
    ]);
  });

  it("drops items the brand's exclusions rule out", async () => {
    const scope = nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen').reply(200, NOS, RSS_TYPE);
    const r = await rssConnector.poll(ctx(source(), null, [], { ...brand, exclude: ['man en macht'] }));
    scope.done();
    expect(r.mentions.map((m) => m.url)).toEqual(['https://nos.nl/liveblog/2570003-problemen-met-app']);
  });

  it('reads items without a title (description only), items whose only address is a permalink guid, and caps the text', async () => {
    const items =
      `<item><title>Acme Bank: geen adres</title><guid isPermaLink="false">https://www.example-nieuws.nl/a/76</guid></item>` +
      `<item><link>https://mastodon.example/@jan/1123</link><description>&lt;p&gt;Weer geen verbinding met &lt;a href="https://mastodon.example/tags/acme"&gt;#&lt;span&gt;Acme&lt;/span&gt;&lt;/a&gt; Bank.&lt;/p&gt;</description><pubDate>Sun, 01 Jun 2025 11:00:00 GMT</pubDate></item>` +
      `<item><title>Acme Bank: lang verhaal</title><guid isPermaLink="true">https://www.example-nieuws.nl/a/77</guid><description>${'acme '.repeat(6000)}</description></item>`;
    const scope = nock('https://www.example-nieuws.nl').get('/rss').reply(200, rss(items), RSS_TYPE);
    const r = await rssConnector.poll(ctx(source({ url: 'https://www.example-nieuws.nl/rss' })));
    scope.done();
    // A guid that says it is not a permalink is no address.
    expect(r.skipped).toEqual([{ postId: expect.any(String), reason: 'the item has no link' }]);
    expect(r.mentions[0]).toMatchObject({ url: 'https://mastodon.example/@jan/1123', text: 'Weer geen verbinding met #Acme Bank.', createdAt: '2025-06-01T11:00:00.000Z' });
    // No date: the fetch time. No <language>: no hint.
    expect(r.mentions[1]).toMatchObject({ url: 'https://www.example-nieuws.nl/a/77', createdAt: new Date(NOW).toISOString(), author: { handle: 'example-nieuws.nl' } });
    expect(r.mentions[1]!.text).toHaveLength(20_000);
    expect(r.mentions[1]!.langHint).toBeUndefined();
  });

  it('decodes a feed in the charset its Content-Type names', async () => {
    const body = Buffer.from(
      rss('<item><title>Acme Bank: cliënten boos over één fout</title><link>https://www.example-nieuws.nl/a/1</link></item>').replace('UTF-8', 'ISO-8859-1'),
      'latin1',
    );
    const scope = nock('https://www.example-nieuws.nl').get('/rss').reply(200, body, { 'content-type': 'text/xml; charset=ISO-8859-1' });
    const r = await rssConnector.poll(ctx(source({ url: 'https://www.example-nieuws.nl/rss' })));
    scope.done();
    expect(r.mentions[0]!.text).toBe('Acme Bank: cliënten boos over één fout');
  });
});

describe('rssConnector.poll: an Atom feed', () => {
  it('maps entries (html title and content, relative link, xml:lang), and an entry with a bad date does not fail the feed', async () => {
    const scope = nock('https://www.geldblog.example.be').get('/feed.atom').reply(200, ATOM, { 'content-type': 'application/atom+xml' });
    const r = await rssConnector.poll(ctx(source({ url: 'https://www.geldblog.example.be/feed.atom' })));
    scope.done();
    expect(r.skipped).toBeUndefined();
    expect(r.mentions).toHaveLength(3);
    const [tarieven, sparen, donker] = r.mentions;
    expect(tarieven).toMatchObject({
      url: 'https://www.geldblog.example.be/2025/06/acme-tarieven/',
      author: { id: 'geldblog.example.be/Sofie Peeters', handle: 'geldblog.example.be', name: 'Sofie Peeters', followers: 0, verified: false },
      langHint: 'nl',
      createdAt: '2025-06-01T07:15:00.000Z',
    });
    expect(tarieven!.text).toBe(
      'Acme Bank verhoogt tarieven & niemand snapt waarom\nVanaf juli betaal je bij Acme Bank € 4 per maand voor je betaalrekening.\nGeen uitleg\nGeen overgangsperiode',
    );
    expect(sparen).toMatchObject({
      url: 'https://www.geldblog.example.be/2025/06/spaarrekeningen/',
      author: { id: 'geldblog.example.be', name: 'Het Geldblog' },
      text: 'Vijf spaarrekeningen vergeleken\nOok de spaarrekening van Acme Bank doet mee: de rente blijft laag.',
      createdAt: '2025-06-01T08:00:00.000Z',
    });
    expect(donker).toMatchObject({ text: 'Acme Bank-app krijgt donkere modus\nEindelijk.', createdAt: new Date(NOW).toISOString() });
    // Atom ids are the dedupe keys.
    expect(new Set(r.mentions.map((m) => m.postId)).size).toBe(3);
  });
});

describe('rssConnector.poll: a Google News search', () => {
  const gn = (over: Record<string, unknown> = {}) => rssSourceSchema.parse({ id: 'gnews', platform: 'rss', googleNews: {}, ...over });

  it('searches the brand, names the publisher as author, and keeps the Google link', async () => {
    const scope = nock('https://news.google.com')
      .get('/rss/search')
      .query({ q: '"acme bank" OR "acme"', hl: 'nl', gl: 'NL', ceid: 'NL:nl' })
      .reply(200, GNEWS, { 'content-type': 'application/xml; charset=utf-8' });
    const r = await rssConnector.poll(ctx(gn()));
    scope.done();
    // The search already matched (Pinstoring... is kept); the 28 May item is past the first-poll window.
    expect(r.mentions.map((m) => [m.author.handle, m.author.name, m.text])).toEqual([
      ['nos.nl', 'NOS', 'Storing bij Acme Bank: klanten kunnen urenlang niet pinnen'],
      ['rtlnieuws.nl', 'RTL Nieuws', 'Acme Bank excuseert zich na landelijke storing'],
      ['telegraaf.nl', 'De Telegraaf', 'Pinstoring treft honderdduizenden klanten'],
    ]);
    expect(r.mentions[0]).toMatchObject({
      url: 'https://news.google.com/rss/articles/CBMiggFBVV95cUxQX2Fjb21lLXN0b3JpbmctMjU3MDAwMQ?oc=5',
      author: { id: 'nos.nl', followers: 0, verified: false },
      langHint: 'nl',
      createdAt: '2025-06-01T11:31:00.000Z',
    });
  });

  it('applies a boolean keyword to each headline itself, as Google only searched its widened form', async () => {
    const scope = nock('https://news.google.com')
      .get('/rss/search')
      .query({ q: '"acme bank" OR "acme"', hl: 'nl', gl: 'NL', ceid: 'NL:nl' })
      .reply(200, GNEWS, RSS_TYPE);
    const r = await rssConnector.poll(ctx(gn(), null, [], { ...brand, keywords: ['"acme bank" AND storing OR acme AND winst'] }));
    scope.done();
    expect(r.mentions.map((m) => m.author.handle)).toEqual(['nos.nl', 'rtlnieuws.nl']);
  });

  it('filters by brand when matchBrand is set, and goes to baseUrl with the configured language and region', async () => {
    const scope = nock('http://127.0.0.1:8123')
      .get('/rss/search')
      .query({ q: 'Acme', hl: 'fr', gl: 'BE', ceid: 'BE:fr' })
      .reply(200, GNEWS, RSS_TYPE);
    const r = await rssConnector.poll(ctx(gn({ googleNews: { query: 'Acme', hl: 'fr', gl: 'BE' }, matchBrand: true, baseUrl: 'http://127.0.0.1:8123' })));
    scope.done();
    expect(r.mentions.map((m) => m.author.handle)).toEqual(['nos.nl', 'rtlnieuws.nl']);
  });
});

describe('rssConnector.poll: failures', () => {
  const feed = () => nock('https://feeds.nos.nl').get('/nosnieuwsalgemeen');

  it.each([
    ['an HTML page', '<!DOCTYPE html><html><head><title>Consent</title></head><body><p>Before you continue<br></body></html>'],
    ['a cut-off feed', NOS.slice(0, 900)],
    ['JSON', '{"items":[]}'],
    ['an empty body', ''],
    ['an XML document that is not a feed', '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://nos.nl/</loc></url></urlset>'],
  ])('a 200 with %s is RW_ERR_PAYLOAD_MALFORMED', async (_what, body) => {
    const scope = feed().reply(200, body, { 'content-type': 'text/html' });
    const err = await pollError(ctx(source()));
    scope.done();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.retryable).toBe(false);
  });

  it('a 429 with Retry-After is rate limited for that long', async () => {
    const scope = feed().reply(429, 'Too Many Requests', { 'retry-after': '120' });
    const err = await pollError(ctx(source()));
    scope.done();
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(120_000);
  });

  it('a 429 without Retry-After waits one polling interval', async () => {
    const scope = feed().reply(429, '');
    const err = await pollError(ctx(source({ pollEvery: '10m' })));
    scope.done();
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(600_000);
  });

  it('a 503 with an HTTP-date Retry-After is unavailable until then', async () => {
    const scope = feed().reply(503, 'Service Unavailable', { 'retry-after': new Date(NOW + 300_000).toUTCString() });
    const err = await pollError(ctx(source()));
    scope.done();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(300_000);
  });

  it.each([401, 403, 404, 410])('a %i is RW_ERR_PLATFORM_REJECTED', async (status) => {
    const scope = feed().reply(status, '<html>nope</html>');
    const err = await pollError(ctx(source()));
    scope.done();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.details).toEqual({ status });
  });

  it('a refused connection is RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    const scope = feed().replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    const err = await pollError(ctx(source()));
    scope.done();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
  });

  it('never puts a feed address from urlEnv (with its token) in an error', async () => {
    const TOKEN = 'c2VjcmV0LWZlZWQtdG9rZW4tOWYxYzRh';
    const env: [string, string][] = [['PRIVATE_FEED_URL', `https://intranet.example-nieuws.nl/feeds/pers.xml?token=${TOKEN}`]];
    const src = source({ url: undefined, urlEnv: 'PRIVATE_FEED_URL' });
    const intranet = () => nock('https://intranet.example-nieuws.nl').get('/feeds/pers.xml').query({ token: TOKEN });

    const messages: string[] = [];
    for (const reply of [
      () => intranet().reply(403, `<error>token ${TOKEN} expired</error>`),
      () => intranet().reply(200, `<rss version="2.0"><channel><title>${TOKEN}</title><item></channel></rss>`),
      () => intranet().replyWithError({ code: 'ECONNRESET', message: `socket hang up for ${TOKEN}` }),
    ]) {
      const scope = reply();
      const err = await pollError(ctx(src, null, env));
      scope.done();
      messages.push(`${err.message} ${JSON.stringify(err.details ?? {})}`);
    }
    expect(messages).toHaveLength(3);
    for (const m of messages) {
      expect(m).not.toContain(TOKEN);
      expect(m).not.toContain('intranet.example-nieuws.nl');
      expect(m).toContain('"nos"');
    }
  });

  it('skips an item without a link and keeps the rest of the page', async () => {
    const items = `<item><title>Acme Bank zonder link</title><pubDate>Sun, 01 Jun 2025 11:00:00 GMT</pubDate></item><item><title>Acme Bank met link</title><link>https://www.example-nieuws.nl/a/2</link></item>`;
    const scope = nock('https://www.example-nieuws.nl').get('/rss').reply(200, rss(items), RSS_TYPE);
    const r: PollResult = await rssConnector.poll(ctx(source({ url: 'https://www.example-nieuws.nl/rss' })));
    scope.done();
    expect(r.mentions.map((m) => m.url)).toEqual(['https://www.example-nieuws.nl/a/2']);
    expect(r.skipped).toEqual([{ postId: expect.stringMatching(/^[0-9a-f]{20}$/), reason: 'the item has no link' }]);
  });
});
