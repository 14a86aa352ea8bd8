import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { redditSourceSchema, type RedditSourceConfig } from '../../src/config/sources/reddit';
import type { Cursor, PollContext } from '../../src/connectors/connector';
import { buildRedditQuery, redditConnector, resetRedditTokens } from '../../src/connectors/reddit';
import { RepwatchError } from '../../src/domain/errors';
import searchNew from '../fixtures/reddit/search-new.json';
import subComments from '../fixtures/reddit/subreddit-comments.json';
import subNew from '../fixtures/reddit/subreddit-new.json';
import tokenBody from '../fixtures/reddit/token.json';

// Shapes from Reddit's API docs (reddit.com/dev/api, the OAuth2 wiki's "Application Only OAuth",
// the JSON wiki's Listing/t1/t3) and its rate-limit headers (X-Ratelimit-Used/Remaining/Reset).
const CLIENT_ID = 'p-jcoLKBynTLew';
const CLIENT_SECRET = 'gko_LXELoV07ZBNUXrvWZfzE3aI';
const TOKEN = tokenBody.access_token;
const AUTH = 'https://www.reddit.com';
const API = 'https://oauth.reddit.com';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const UA = 'repwatch/0.1 (by /u/acme_social)';

const baseSource = (over: Partial<RedditSourceConfig> = {}): RedditSourceConfig =>
  redditSourceSchema.parse({ id: 'reddit', platform: 'reddit', clientIdEnv: 'REDDIT_CLIENT_ID', clientSecretEnv: 'REDDIT_CLIENT_SECRET', userAgent: UA, ...over });

const brand = (source: RedditSourceConfig): ResolvedBrand => ({
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme', 'acme bank'],
  handles: ['@AcmeBank'],
  exclude: ['anvil'],
  languages: ['nl', 'en'],
  sources: [source as never],
  topics: {},
  effectivePolicy: policySchema.parse({}),
});

type Ctx = Parameters<typeof redditConnector.poll>[0];
function ctx(source: RedditSourceConfig, cursor: Cursor | null = null, now = NOW): Ctx {
  return {
    brand: brand(source),
    source,
    cursor,
    now,
    secrets: new Secrets([
      ['REDDIT_CLIENT_ID', CLIENT_ID],
      ['REDDIT_CLIENT_SECRET', CLIENT_SECRET],
    ]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
  } as Omit<PollContext, 'source'> & { source: RedditSourceConfig };
}

const limits = (remaining: number, reset = 372, used = 600 - remaining) => ({
  'x-ratelimit-used': String(used),
  'x-ratelimit-remaining': `${remaining}.0`,
  'x-ratelimit-reset': String(reset),
});

const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;

function expectToken(status = 200, body: unknown = tokenBody) {
  const seen: { body?: string } = {};
  const scope = nock(AUTH)
    .matchHeader('authorization', basic)
    .matchHeader('user-agent', UA)
    .post('/api/v1/access_token', (b) => {
      seen.body = typeof b === 'string' ? b : new URLSearchParams(b as Record<string, string>).toString();
      return true;
    })
    .reply(status, body as nock.Body);
  return { scope, seen };
}

function expectGet(path: string, status: number, body: unknown, headers: Record<string, string> = limits(590), token = TOKEN) {
  const seen: { query?: Record<string, string> } = {};
  const scope = nock(API)
    .matchHeader('authorization', `Bearer ${token}`)
    .matchHeader('user-agent', UA)
    .get(path)
    .query((q) => {
      seen.query = q as Record<string, string>;
      return true;
    })
    .reply(status, body as nock.Body, headers);
  return { scope, seen };
}

const listing = (children: unknown[]) => ({ kind: 'Listing', data: { after: null, dist: children.length, modhash: '', geo_filter: '', children, before: null } });
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function pollError(c: Ctx): Promise<RepwatchError> {
  const err = await redditConnector.poll(c).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

function expectNoSecret(err: RepwatchError): void {
  for (const s of [CLIENT_SECRET, TOKEN, CLIENT_ID]) {
    expect(err.message).not.toContain(s);
    expect(JSON.stringify(err.details ?? {})).not.toContain(s);
    expect(String(err.stack)).not.toContain(s);
  }
}

beforeAll(() => nock.disableNetConnect());
beforeEach(() => resetRedditTokens());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('redditSourceSchema', () => {
  it('fills the defaults and drops "r/" from subreddit names', () => {
    const s = baseSource({ subreddits: ['r/geldzaken', '/r/nl', 'thenetherlands'] });
    expect(s).toMatchObject({ search: true, pollEvery: 60_000, authUrl: 'https://www.reddit.com', subreddits: ['geldzaken', 'nl', 'thenetherlands'] });
  });

  it('refuses a source with nothing to read, a generic User-Agent and a bad subreddit name', () => {
    const r = redditSourceSchema.safeParse({ id: 'r', platform: 'reddit', clientIdEnv: 'A', clientSecretEnv: 'B', userAgent: 'Mozilla/5.0 (X11)', search: false, subreddits: ['no spaces'] });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['userAgent', 'subreddits.0']));
    const r2 = redditSourceSchema.safeParse({ id: 'r', platform: 'reddit', clientIdEnv: 'A', clientSecretEnv: 'B', userAgent: UA, search: false });
    expect(r2.error!.issues[0]).toMatchObject({ path: ['subreddits'], message: expect.stringMatching(/search: true or at least one subreddit/) });
  });
});

describe('buildRedditQuery', () => {
  it('ORs keywords and handles, quoting phrases and operator words', () => {
    expect(buildRedditQuery({ id: 'a', keywords: ['acme', 'acme bank', 'Acme', 'OR'], handles: ['@AcmeBank'] })).toBe('acme OR "acme bank" OR "or" OR acmebank');
  });

  it('keeps a query keyword\'s ANDs and leaves its negations to the local matcher', () => {
    expect(buildRedditQuery({ id: 'a', keywords: ['acme bank AND storing', 'acme -koffie', 'volta OR #voltabank'], handles: [] })).toBe('("acme bank" AND storing) OR acme OR volta OR voltabank');
  });

  it('refuses a query over Reddit\'s 512 characters', () => {
    expect(() => buildRedditQuery({ id: 'big', keywords: Array.from({ length: 60 }, (_, i) => `keyword${i}`), handles: [] })).toThrow(/512/);
  });
});

describe('redditConnector.poll: search', () => {
  it('gets an app-only token, searches newest posts and maps t3 things (dropping posts the brand matcher rejects)', async () => {
    const source = baseSource();
    const tok = expectToken();
    const get = expectGet('/search', 200, searchNew);
    const r = await redditConnector.poll(ctx(source));
    tok.scope.done();
    get.scope.done();

    expect(tok.seen.body).toBe('grant_type=client_credentials');
    expect(get.seen.query).toEqual({ q: 'acme OR "acme bank" OR acmebank', sort: 'new', type: 'link', limit: '100', raw_json: '1' });
    expect(r.mentions).toHaveLength(2);
    expect(r.mentions[0]).toEqual({
      platform: 'reddit',
      postId: 't3_1d5zq9x',
      url: 'https://www.reddit.com/r/thenetherlands/comments/1d5zq9x/acme_bank_blokkeert_al_drie_dagen_mijn_pas/',
      brandId: 'acme',
      author: { id: 't2_8xk2mq1v', handle: 'kaaskop_88', followers: 0, verified: false },
      text: 'Acme Bank blokkeert al drie dagen mijn pas\n\nNiemand neemt op bij de klantenservice. Iemand anders dit ook?',
      createdAt: new Date(1748779000 * 1000).toISOString(),
      engagement: { likes: 57, reposts: 1, replies: 23, quotes: 0 },
      conversationId: 't3_1d5zq9x',
    });
    // A link post matches on its target (nos.nl/…acme-bank…); a negative score counts as no likes.
    expect(r.mentions[1]).toMatchObject({ postId: 't3_1d5zp2k', text: 'Outage today?', engagement: { likes: 0, replies: 4 } });
    // The anvil post matched Reddit's search but the brand's exclusion drops it: not a mention, not skipped.
    expect(r.mentions.map((m) => m.postId)).not.toContain('t3_1d5zm7q');
    expect(r.skipped).toBeUndefined();
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toEqual({
      query: 'acme OR "acme bank" OR acmebank',
      subs: null,
      'search.before': 't3_1d5zq9x',
      'search.at': 1748779000,
      'search.checkedAt': NOW,
    });
  });

  it('first poll looks back 24 hours only, but anchors on the newest thing', async () => {
    const old = clone(searchNew);
    for (const c of old.data.children) c.data.created_utc -= 2 * 86400;
    expectToken();
    expectGet('/search', 200, old);
    const r = await redditConnector.poll(ctx(baseSource()));
    expect(r.mentions).toEqual([]);
    expect(r.cursor['search.before']).toBe('t3_1d5zq9x');
  });

  it('reuses the cached token and asks for what came before the anchor', async () => {
    const source = baseSource();
    expectToken();
    expectGet('/search', 200, searchNew);
    const first = await redditConnector.poll(ctx(source));

    // No token call this time: nock would fail on an unexpected POST.
    const newer = clone(searchNew.data.children[0]);
    newer.data.name = 't3_1d61xyz';
    newer.data.id = '1d61xyz';
    newer.data.created_utc = 1748779100;
    const get = expectGet('/search', 200, listing([newer]));
    const r = await redditConnector.poll(ctx(source, first.cursor, NOW + 60_000));
    get.scope.done();
    expect(get.seen.query).toMatchObject({ before: 't3_1d5zq9x', limit: '100' });
    expect(r.mentions.map((m) => m.postId)).toEqual(['t3_1d61xyz']);
    expect(r.cursor).toMatchObject({ 'search.before': 't3_1d61xyz', 'search.at': 1748779100 });
  });

  it('renews the token shortly before expires_in runs out', async () => {
    const source = baseSource();
    expectToken(200, { ...tokenBody, expires_in: 3600 });
    expectGet('/search', 200, listing([]));
    await redditConnector.poll(ctx(source));
    const renewed = 'renewed-app-only-token-0123456789';
    const tok = expectToken(200, { ...tokenBody, access_token: renewed, expires_in: 3600 });
    const get = expectGet('/search', 200, listing([]), limits(590), renewed);
    await redditConnector.poll(ctx(source, null, NOW + 3600_000 - 30_000));
    tok.scope.done();
    get.scope.done();
  });

  it('pages: a full page means more is waiting; the anchor moves to its newest thing', async () => {
    const template = searchNew.data.children[0];
    const page = Array.from({ length: 100 }, (_, i) => {
      const c = clone(template);
      c.data.name = `t3_p${String(200 - i).padStart(4, '0')}`;
      c.data.id = c.data.name.slice(3);
      c.data.created_utc = 1748779100 + (100 - i);
      return c;
    });
    const cursor = { query: 'acme OR "acme bank" OR acmebank', subs: null, 'search.before': 't3_1d5zq9x', 'search.at': 1748779000, 'search.checkedAt': NOW - 60_000 };
    expectToken();
    const get = expectGet('/search', 200, listing(page));
    const r = await redditConnector.poll(ctx(baseSource(), cursor));
    expect(get.seen.query?.before).toBe('t3_1d5zq9x');
    expect(r.mentions).toHaveLength(100);
    expect(r.hasMore).toBe(true);
    expect(r.cursor['search.before']).toBe('t3_p0200');

    const next = expectGet('/search', 200, listing([]));
    const r2 = await redditConnector.poll(ctx(baseSource(), r.cursor, NOW + 1000));
    expect(next.seen.query?.before).toBe('t3_p0200');
    expect(r2.hasMore).toBe(false);
    expect(r2.mentions).toEqual([]);
  });

  it('an empty page keeps the anchor; after 30 quiet minutes the newest page is read once to re-anchor past a removed anchor', async () => {
    const anchorAt = 1748779000;
    const cursor = { query: 'acme OR "acme bank" OR acmebank', subs: null, 'search.before': 't3_gone01', 'search.at': anchorAt, 'search.checkedAt': NOW - 5 * 60_000 };
    expectToken();
    expectGet('/search', 200, listing([]));
    const quiet = await redditConnector.poll(ctx(baseSource(), cursor));
    expect(quiet.cursor).toEqual(cursor);

    // 40 minutes on: still nothing before the anchor (it was removed), so the newest page is checked.
    const later = NOW + 40 * 60_000;
    const fresh = clone(searchNew.data.children[0]);
    fresh.data.name = 't3_1d62new';
    fresh.data.created_utc = anchorAt + 1200;
    const older = clone(searchNew.data.children[0]);
    older.data.name = 't3_1d5old1';
    older.data.created_utc = anchorAt - 600;
    const before = expectGet('/search', 200, listing([]));
    const newest = expectGet('/search', 200, listing([fresh, older]));
    const r = await redditConnector.poll(ctx(baseSource(), cursor, later));
    before.scope.done();
    newest.scope.done();
    expect(before.seen.query?.before).toBe('t3_gone01');
    expect(newest.seen.query).not.toHaveProperty('before');
    expect(r.mentions.map((m) => m.postId)).toEqual(['t3_1d62new']);
    expect(r.cursor).toMatchObject({ 'search.before': 't3_1d62new', 'search.at': anchorAt + 1200, 'search.checkedAt': later });
  });
});

describe('redditConnector.poll: subreddits', () => {
  it('reads new posts and comments of all subreddits in one combined listing each, matched locally', async () => {
    const source = baseSource({ search: false, subreddits: ['thenetherlands', 'r/geldzaken'] });
    expectToken();
    const posts = expectGet('/r/geldzaken+thenetherlands/new', 200, subNew);
    const comments = expectGet('/r/geldzaken+thenetherlands/comments', 200, subComments);
    const r = await redditConnector.poll(ctx(source));
    posts.scope.done();
    comments.scope.done();
    expect(posts.seen.query).toEqual({ limit: '100', raw_json: '1' });

    // The removed post's title still names the brand: skipped with Reddit's reason, not silently lost.
    expect(r.skipped).toEqual([{ postId: 't3_1d60a1b', reason: 'the post was deleted or removed on Reddit (moderator)' }]);
    // The savings question does not name the brand, nor do two of the comments (one deleted): dropped.
    expect(r.mentions).toHaveLength(1);
    expect(r.mentions[0]).toEqual({
      platform: 'reddit',
      postId: 't1_l6x0k2p',
      url: 'https://www.reddit.com/r/geldzaken/comments/1d609zz/welke_spaarrekening_raden_jullie_aan/l6x0k2p/',
      brandId: 'acme',
      author: { id: 't2_3mvn8c1d', handle: 'renteJager', followers: 0, verified: false },
      text: 'Zeker niet bij Acme Bank, daar wachten ze maanden met uitbetalen.',
      createdAt: new Date(1748778900 * 1000).toISOString(),
      engagement: { likes: 9, reposts: 0, replies: 0, quotes: 0 },
      replyToId: 't1_l6wzz01',
      conversationId: 't3_1d609zz',
    });
    expect(r.cursor).toMatchObject({
      subs: 'geldzaken+thenetherlands',
      query: null,
      'posts.before': 't3_1d60a1b',
      'comments.before': 't1_l6x0k2p',
    });
    expect(r.cursor).not.toHaveProperty('search.before');
  });

  it('starts the subreddit listings afresh when the subreddit list changed', async () => {
    const source = baseSource({ search: false, subreddits: ['geldzaken'] });
    const stale = { subs: 'geldzaken+thenetherlands', query: null, 'posts.before': 't3_x', 'posts.at': 1, 'posts.checkedAt': 1, 'comments.before': 't1_y', 'comments.at': 1, 'comments.checkedAt': 1 };
    expectToken();
    const posts = expectGet('/r/geldzaken/new', 200, listing([]));
    const comments = expectGet('/r/geldzaken/comments', 200, listing([]));
    await redditConnector.poll(ctx(source, stale));
    expect(posts.seen.query).not.toHaveProperty('before');
    expect(comments.seen.query).not.toHaveProperty('before');
  });
});

describe('redditConnector.poll: partial and malformed answers', () => {
  it('skips a thing it cannot read and keeps the rest', async () => {
    const body = clone(searchNew) as { data: { children: unknown[] } };
    body.data.children.splice(1, 0, { kind: 't3', data: { title: 'Acme Bank zonder id', created_utc: 1748778500 } }, 'not a thing');
    expectToken();
    expectGet('/search', 200, body);
    const r = await redditConnector.poll(ctx(baseSource()));
    expect(r.mentions.map((m) => m.postId)).toEqual(['t3_1d5zq9x', 't3_1d5zp2k']);
    expect(r.skipped).toEqual([
      { postId: '(children[1] without name)', reason: 'the item has no fullname or created_utc' },
      { postId: '(children[2] without name)', reason: 'the item has no kind and data' },
    ]);
  });

  it('skips a post whose author deleted their account when it is about the brand', async () => {
    const body = clone(searchNew);
    body.data.children[0].data.author = '[deleted]';
    expectToken();
    expectGet('/search', 200, body);
    const r = await redditConnector.poll(ctx(baseSource()));
    expect(r.skipped).toEqual([{ postId: 't3_1d5zq9x', reason: 'the post was deleted or removed on Reddit (author deleted)' }]);
    expect(r.mentions.map((m) => m.postId)).toEqual(['t3_1d5zp2k']);
  });

  it.each([
    ['a body that is not JSON', '<html><body>upstream error</body></html>', /not valid JSON/],
    ['a body that is not a Listing', { kind: 't3', data: {} }, /not "Listing"/],
    ['children that are not an array', { kind: 'Listing', data: { children: {} } }, /children is not an array/],
    ['an array body', [], /an array/],
  ])('maps %s to RW_ERR_PAYLOAD_MALFORMED', async (_what, body, message) => {
    expectToken();
    expectGet('/search', 200, body);
    const err = await pollError(ctx(baseSource()));
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(message);
  });
});

describe('redditConnector.poll: rate limits', () => {
  it('a 429 waits for X-Ratelimit-Reset, keeps the cursor and is not a failure', async () => {
    const cursor = { query: 'acme OR "acme bank" OR acmebank', subs: null, 'search.before': 't3_1d5zq9x', 'search.at': 1748779000, 'search.checkedAt': NOW - 60_000 };
    expectToken();
    expectGet('/search', 429, { message: 'Too Many Requests', error: 429 }, limits(0, 245));
    const r = await redditConnector.poll(ctx(baseSource(), cursor));
    expect(r).toEqual({ mentions: [], cursor, hasMore: false, resumeAt: NOW + 245_000 });
  });

  it('when fewer than 2 calls are left, keeps the page, waits for the reset and makes no further call', async () => {
    const source = baseSource({ subreddits: ['geldzaken'] });
    expectToken();
    // Only the search is answered: a call for the subreddit listings would find no interceptor and fail the poll.
    expectGet('/search', 200, searchNew, limits(1, 30));
    const r = await redditConnector.poll(ctx(source));
    expect(r.mentions).toHaveLength(2);
    expect(r.resumeAt).toBe(NOW + 30_000);
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toMatchObject({ 'search.before': 't3_1d5zq9x', 'posts.before': null, 'comments.before': null });
  });

  it('without rate-limit headers a 429 waits one minute', async () => {
    expectToken();
    expectGet('/search', 429, { message: 'Too Many Requests', error: 429 }, {});
    const r = await redditConnector.poll(ctx(baseSource()));
    expect(r.resumeAt).toBe(NOW + 60_000);
  });
});

describe('redditConnector.poll: credentials and failures', () => {
  it('on 401 (token expired or revoked) fetches a new token once and retries', async () => {
    const source = baseSource();
    expectToken();
    expectGet('/search', 401, { message: 'Unauthorized', error: 401 }, { 'www-authenticate': 'Bearer realm="reddit", error="invalid_token"' });
    const renewed = 'second-app-only-token-abcdef012345';
    const tok2 = expectToken(200, { ...tokenBody, access_token: renewed });
    const retry = expectGet('/search', 200, searchNew, limits(588), renewed);
    const r = await redditConnector.poll(ctx(source));
    tok2.scope.done();
    retry.scope.done();
    expect(r.mentions).toHaveLength(2);
  });

  it('a second 401 with a fresh token is RW_ERR_PLATFORM_REJECTED without secrets', async () => {
    expectToken();
    expectGet('/search', 401, { message: 'Unauthorized', error: 401 });
    expectToken();
    expectGet('/search', 401, { message: 'Unauthorized', error: 401 });
    const err = await pollError(ctx(baseSource()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expectNoSecret(err);
  });

  it('invalid client credentials (401 from the token endpoint) are RW_ERR_PLATFORM_REJECTED without the secret', async () => {
    expectToken(401, { message: 'Unauthorized', error: 401 });
    const err = await pollError(ctx(baseSource()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/client id or secret/);
    expect(err.details).toMatchObject({ status: 401 });
    expectNoSecret(err);
    expect(err.cause).toBeUndefined();
  });

  it('an OAuth error in a 200 token answer is RW_ERR_PLATFORM_REJECTED', async () => {
    expectToken(200, { error: 'unsupported_grant_type' });
    const err = await pollError(ctx(baseSource()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/unsupported_grant_type/);
  });

  it('a private subreddit (403) is RW_ERR_PLATFORM_REJECTED naming Reddit\'s reason', async () => {
    expectToken();
    expectGet('/r/geldzaken/new', 403, { reason: 'private', message: 'Forbidden', error: 403 });
    const err = await pollError(ctx(baseSource({ search: false, subreddits: ['geldzaken'] })));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/HTTP 403 \(private: Forbidden\)/);
  });

  it('maps 503 and network failures to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    expectToken();
    expectGet('/search', 503, '<html>Our servers are busy</html>');
    expect((await pollError(ctx(baseSource()))).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    nock(API).get('/search').query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = await pollError(ctx(baseSource()));
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });

  it('sends requests to baseUrl and tokens to authUrl when overridden', async () => {
    const source = baseSource({ baseUrl: 'http://127.0.0.1:9911', authUrl: 'http://127.0.0.1:9912' });
    const tok = nock('http://127.0.0.1:9912').post('/api/v1/access_token').reply(200, tokenBody);
    const get = nock('http://127.0.0.1:9911').get('/search').query(true).reply(200, listing([]));
    await redditConnector.poll(ctx(source));
    tok.done();
    get.done();
  });
});

describe('redditConnector.engagement', () => {
  it('reads score and comment counts of earlier things through /api/info; deleted ones are left out', async () => {
    const gone = clone(subComments.data.children[1]);
    expectToken();
    const get = expectGet('/api/info', 200, listing([searchNew.data.children[0], subComments.data.children[0], gone]));
    const out = await redditConnector.engagement(ctx(baseSource()), ['t3_1d5zq9x', 't1_l6x0k2p', 't1_l6x0j9a']);
    expect(get.seen.query).toMatchObject({ id: 't3_1d5zq9x,t1_l6x0k2p,t1_l6x0j9a' });
    expect(out).toEqual(
      new Map([
        ['t3_1d5zq9x', { likes: 57, reposts: 1, replies: 23, quotes: 0 }],
        ['t1_l6x0k2p', { likes: 9, reposts: 0, replies: 0, quotes: 0 }],
      ]),
    );
  });

  it('throws RW_ERR_PLATFORM_RATE_LIMITED with the reset on a 429', async () => {
    expectToken();
    expectGet('/api/info', 429, { message: 'Too Many Requests', error: 429 }, limits(0, 90));
    await expect(redditConnector.engagement(ctx(baseSource()), ['t3_1d5zq9x'])).rejects.toMatchObject({ code: 'RW_ERR_PLATFORM_RATE_LIMITED', retryAfterMs: 90_000 });
  });
});
