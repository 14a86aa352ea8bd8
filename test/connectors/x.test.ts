import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema, type XSourceConfig } from '../../src/config/schema';
import type { Cursor, PollContext } from '../../src/connectors/connector';
import { buildXQuery, xConnector } from '../../src/connectors/x';
import { RepwatchError } from '../../src/domain/errors';

const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAsecret-test-bearer-token-7f3a9c';
const API = 'https://api.x.com';
const PATH = '/2/tweets/search/recent';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const RESET = Math.floor(NOW / 1000) + 600;

const source: XSourceConfig = {
  id: 'x',
  platform: 'x',
  bearerTokenEnv: 'X_BEARER_TOKEN',
  pageSize: 100,
  maxPagesPerPoll: 5,
  pollEvery: 60000,
  queryExtra: '-is:retweet',
};

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme', 'acme bank'],
  handles: ['@AcmeBank'],
  languages: ['nl', 'en'],
  sources: [source],
  topics: {},
  exclude: [],
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

function ctx(cursor: Cursor | null = null): PollContext<XSourceConfig> {
  return {
    brand,
    source,
    cursor,
    now: NOW,
    secrets: new Secrets([['X_BEARER_TOKEN', TOKEN]]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
  };
}

const rateHeaders = (remaining: number, reset = RESET) => ({
  'x-rate-limit-limit': '450',
  'x-rate-limit-remaining': String(remaining),
  'x-rate-limit-reset': String(reset),
});

// Shapes as in the X API v2 recent-search reference.
const tweetA = {
  id: '1800000000000000002',
  text: '@AcmeBank my card has been blocked for three days, nobody answers',
  author_id: '111',
  created_at: '2025-06-01T11:58:00.000Z',
  lang: 'en',
  conversation_id: '1799999999999999999',
  in_reply_to_user_id: '999',
  referenced_tweets: [{ type: 'replied_to', id: '1799999999999999999' }],
  edit_history_tweet_ids: ['1800000000000000002'],
  public_metrics: { retweet_count: 3, reply_count: 4, like_count: 25, quote_count: 1, bookmark_count: 0, impression_count: 900 },
};
const tweetB = {
  id: '1800000000000000001',
  text: 'Acme bank app werkt weer prima',
  author_id: '222',
  created_at: '2025-06-01T11:55:00.000Z',
  lang: 'nl',
  conversation_id: '1800000000000000001',
  edit_history_tweet_ids: ['1800000000000000001'],
  public_metrics: { retweet_count: 0, reply_count: 0, like_count: 2, quote_count: 0, bookmark_count: 0, impression_count: 40 },
};
const users = [
  {
    id: '111',
    name: 'Big Voice',
    username: 'bigvoice',
    verified: false,
    verified_type: 'blue',
    public_metrics: { followers_count: 250000, following_count: 10, tweet_count: 5000, listed_count: 12, like_count: 3 },
  },
  {
    id: '222',
    name: 'Jan',
    username: 'jan_nl',
    verified: false,
    verified_type: 'none',
    public_metrics: { followers_count: 42, following_count: 80, tweet_count: 300, listed_count: 0, like_count: 10 },
  },
];
const page = (meta: Record<string, unknown>, data: unknown[] = [tweetA, tweetB], incl = users) => ({
  data,
  includes: { users: incl },
  meta: { newest_id: (data[0] as { id: string })?.id, oldest_id: (data[data.length - 1] as { id: string })?.id, result_count: data.length, ...meta },
});

/** Intercepts one search call and records its query string. */
function expectSearch(status: number, body: unknown, headers: Record<string, string> = rateHeaders(449)) {
  const seen: { query?: Record<string, string> } = {};
  const scope = nock(API)
    .matchHeader('authorization', `Bearer ${TOKEN}`)
    .get(PATH)
    .query((q) => {
      seen.query = q as Record<string, string>;
      return true;
    })
    .reply(status, body as nock.Body, headers);
  return { scope, seen };
}

async function pollError(cursor: Cursor | null = null): Promise<RepwatchError> {
  const err = await xConnector.poll(ctx(cursor)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('xConnector.poll', () => {
  it('normalises a page into mentions (author, followers, verification, reply ids, url)', async () => {
    const { scope, seen } = expectSearch(200, page({}));
    const r = await xConnector.poll(ctx());
    scope.done();

    expect(seen.query).toMatchObject({
      query: '(acme OR "acme bank" OR @AcmeBank OR to:AcmeBank) -is:retweet',
      max_results: '100',
      expansions: 'author_id',
      'user.fields': 'public_metrics,verified,verified_type,username,name',
      'tweet.fields': 'created_at,lang,public_metrics,conversation_id,in_reply_to_user_id,referenced_tweets,author_id,note_tweet',
    });
    expect(seen.query).not.toHaveProperty('since_id');
    expect(seen.query).not.toHaveProperty('next_token');

    expect(r.mentions).toHaveLength(2);
    expect(r.mentions[0]).toEqual({
      platform: 'x',
      postId: '1800000000000000002',
      url: 'https://x.com/bigvoice/status/1800000000000000002',
      brandId: 'acme',
      author: { id: '111', handle: 'bigvoice', name: 'Big Voice', followers: 250000, verified: true, verifiedType: 'blue' },
      text: tweetA.text,
      langHint: 'en',
      createdAt: '2025-06-01T11:58:00.000Z',
      engagement: { likes: 25, reposts: 3, replies: 4, quotes: 1 },
      replyToId: '1799999999999999999',
      conversationId: '1799999999999999999',
    });
    expect(r.mentions[1].author).toMatchObject({ handle: 'jan_nl', followers: 42, verified: false, verifiedType: 'none' });
    expect(r.mentions[1].replyToId).toBeUndefined();
    expect(r.mentions[1].url).toBe('https://x.com/jan_nl/status/1800000000000000001');
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toEqual({ sinceId: '1800000000000000002', nextToken: null, pendingNewestId: null });
  });

  it('sends since_id from the cursor', async () => {
    const { scope, seen } = expectSearch(200, page({}));
    await xConnector.poll(ctx({ sinceId: '1700000000000000000', nextToken: null, pendingNewestId: null }));
    scope.done();
    expect(seen.query?.since_id).toBe('1700000000000000000');
    expect(seen.query).not.toHaveProperty('next_token');
  });

  it('pages through a result set and commits the watermark only after the last page', async () => {
    const first = expectSearch(200, page({ next_token: 'b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy' }, [tweetA]));
    const r1 = await xConnector.poll(ctx({ sinceId: '1700000000000000000', nextToken: null, pendingNewestId: null }));
    first.scope.done();
    expect(r1.hasMore).toBe(true);
    expect(r1.cursor).toEqual({ sinceId: '1700000000000000000', nextToken: 'b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy', pendingNewestId: tweetA.id });

    const second = expectSearch(200, page({}, [tweetB]));
    const r2 = await xConnector.poll(ctx(r1.cursor));
    second.scope.done();
    expect(second.seen.query).toMatchObject({ since_id: '1700000000000000000', next_token: 'b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy' });
    expect(r2.mentions.map((m) => m.postId)).toEqual([tweetB.id]);
    expect(r2.hasMore).toBe(false);
    // The newest id of the whole set (from page one), not page two's.
    expect(r2.cursor).toEqual({ sinceId: tweetA.id, nextToken: null, pendingNewestId: null });
  });

  it('returns no mentions and keeps since_id on an empty result', async () => {
    const { scope } = expectSearch(200, { meta: { result_count: 0 } });
    const r = await xConnector.poll(ctx({ sinceId: '1700000000000000000', nextToken: null, pendingNewestId: null }));
    scope.done();
    expect(r.mentions).toEqual([]);
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toEqual({ sinceId: '1700000000000000000', nextToken: null, pendingNewestId: null });
  });

  it('on 429 waits until x-rate-limit-reset without throwing and keeps the cursor', async () => {
    const cursor = { sinceId: '1700000000000000000', nextToken: 'tok', pendingNewestId: '1700000000000000009' };
    const { scope } = expectSearch(
      429,
      { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
      rateHeaders(0),
    );
    const r = await xConnector.poll(ctx(cursor));
    scope.done();
    expect(r).toEqual({ mentions: [], cursor, hasMore: false, resumeAt: RESET * 1000 });
  });

  it('on 429 without a reset header waits 15 minutes; a null cursor becomes {}', async () => {
    const { scope } = expectSearch(429, { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 }, {});
    const r = await xConnector.poll(ctx(null));
    scope.done();
    expect(r).toEqual({ mentions: [], cursor: {}, hasMore: false, resumeAt: NOW + 15 * 60_000 });
  });

  it('sets resumeAt and stops paging when a 200 says x-rate-limit-remaining is 0', async () => {
    const { scope } = expectSearch(200, page({ next_token: 'more' }), rateHeaders(0));
    const r = await xConnector.poll(ctx());
    scope.done();
    expect(r.mentions).toHaveLength(2);
    expect(r.resumeAt).toBe(RESET * 1000);
    expect(r.hasMore).toBe(false);
    // The page was read: the position still moves on.
    expect(r.cursor).toMatchObject({ nextToken: 'more', pendingNewestId: tweetA.id });
  });

  it('maps 503 to RW_ERR_PLATFORM_UNAVAILABLE (retryable)', async () => {
    expectSearch(503, { title: 'Service Unavailable', detail: 'Service Unavailable', type: 'about:blank', status: 503 });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ status: 503 });
  });

  it('maps a network failure to RW_ERR_PLATFORM_UNAVAILABLE (retryable)', async () => {
    nock(API).get(PATH).query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/ECONNRESET/);
  });

  it('maps 401 to RW_ERR_PLATFORM_REJECTED (permanent) and never shows the token', async () => {
    expectSearch(401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.details).toMatchObject({ status: 401 });
    expect(err.message).not.toContain(TOKEN);
    expect(JSON.stringify(err.details)).not.toContain(TOKEN);
    expect(String(err)).not.toContain(TOKEN);
    expect(String(err.stack)).not.toContain(TOKEN);
    expect(err.cause).toBeUndefined();
  });

  it('maps a 400 for a bad query to RW_ERR_PLATFORM_REJECTED', async () => {
    expectSearch(400, {
      errors: [{ parameters: { query: ['(acme'] }, message: 'There were errors processing your request' }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
  });

  it('starts a new result set when X rejects a stale since_id (older than 7 days)', async () => {
    expectSearch(400, {
      errors: [{ parameters: { since_id: ['1500000000000000000'] }, message: "Invalid 'since_id'" }],
      title: 'Invalid Request',
      detail: 'One or more parameters to your request was invalid.',
      type: 'https://api.twitter.com/2/problems/invalid-request',
    });
    const r = await xConnector.poll(ctx({ sinceId: '1500000000000000000', nextToken: null, pendingNewestId: null }));
    expect(r).toEqual({ mentions: [], cursor: { sinceId: null, nextToken: null, pendingNewestId: null }, hasMore: true });
  });

  it('maps a 200 whose JSON does not parse to RW_ERR_PAYLOAD_MALFORMED', async () => {
    expectSearch(200, '{"data":[{"id":', { ...rateHeaders(449), 'content-type': 'application/json; charset=utf-8' });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
  });

  it.each([
    ['data is a string', { data: 'oops', meta: { result_count: 1 } }, /data is string/],
    ['the body is not an object', 'Service maintenance', /body is string/],
    ['includes.users is not an array', { data: [tweetA], includes: { users: 'none' }, meta: { result_count: 1 } }, /includes\.users/],
    ['meta is missing', { data: [tweetA], includes: { users } }, /meta/],
  ])('maps a malformed body (%s) to RW_ERR_PAYLOAD_MALFORMED', async (_what, body, message) => {
    expectSearch(200, body);
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(TOKEN);
  });
});

describe('xConnector.poll: partial errors and long posts', () => {
  // A page whose author X could not return (suspended or deleted), in the shape of X's partial-error
  // responses: the post is in `data`, its author is not in `includes.users`, and `errors` says why.
  const missingAuthor = {
    value: '333',
    detail: 'Could not find user with author_id: [333].',
    title: 'Not Found Error',
    resource_type: 'user',
    parameter: 'author_id',
    resource_id: '333',
    type: 'https://api.twitter.com/2/problems/resource-not-found',
  };
  const orphan = { ...tweetB, id: '1800000000000000003', author_id: '333', text: 'Acme bank kwijt mijn geld' };

  it('keeps the good posts, skips the post whose author is missing with X\'s reason, and moves the cursor on', async () => {
    const body = { data: [orphan, tweetA, tweetB], includes: { users }, errors: [missingAuthor], meta: { newest_id: orphan.id, oldest_id: tweetB.id, result_count: 3 } };
    const { scope } = expectSearch(200, body);
    const r = await xConnector.poll(ctx({ sinceId: '1700000000000000000', nextToken: null, pendingNewestId: null }));
    scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual([tweetA.id, tweetB.id]);
    expect(r.skipped).toEqual([{ postId: orphan.id, reason: 'author 333: Not Found Error: Could not find user with author_id: [333].' }]);
    // The watermark passes the skipped post too: the source does not fetch it again and again.
    expect(r.cursor).toEqual({ sinceId: orphan.id, nextToken: null, pendingNewestId: null });
  });

  it('skips a post whose author is missing without an errors entry, and one without text, and keeps the rest', async () => {
    const noText = { id: '1800000000000000004', author_id: '111' };
    const { scope } = expectSearch(200, page({}, [noText, orphan, tweetA]));
    const r = await xConnector.poll(ctx());
    scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual([tweetA.id]);
    expect(r.skipped).toEqual([
      { postId: noText.id, reason: 'the post has no string id and text' },
      { postId: orphan.id, reason: 'author 333 is missing from includes.users' },
    ]);
  });

  it('a page without errors has no skipped list', async () => {
    expectSearch(200, page({}));
    expect((await xConnector.poll(ctx())).skipped).toBeUndefined();
  });

  it('judges a long post by its whole text (note_tweet.text), not the 280-character preview', async () => {
    const whole = `@AcmeBank ${'my card was blocked and nobody answers the phone. '.repeat(12)}I am closing my account today.`;
    const longPost = { ...tweetA, text: whole.slice(0, 277) + '…', note_tweet: { text: whole, entities: { mentions: [{ start: 0, end: 9, username: 'AcmeBank' }] } } };
    expectSearch(200, page({}, [longPost, tweetB]));
    const r = await xConnector.poll(ctx());
    expect(whole.length).toBeGreaterThan(280);
    expect(r.mentions[0].text).toBe(whole);
    expect(r.mentions[1].text).toBe(tweetB.text);
  });
});

describe('buildXQuery', () => {
  it('OR-joins keywords (phrases quoted) and handles, then appends queryExtra', () => {
    expect(buildXQuery({ id: 'acme', keywords: ['acme', 'acme bank', 'Acme'], handles: ['@AcmeBank', 'acme_help'] }, '-is:retweet')).toBe(
      '(acme OR "acme bank" OR @AcmeBank OR to:AcmeBank OR @acme_help OR to:acme_help) -is:retweet',
    );
  });

  it('quotes keywords with operator characters and drops embedded quotes', () => {
    expect(buildXQuery({ id: 'b', keywords: ['coca-cola', 'say "hi"', 'OR', '#acme'], handles: [] })).toBe('("coca-cola" OR "say hi" OR "OR" OR #acme)');
  });

  it('accepts a query of exactly 512 characters and rejects a longer one with RW_ERR_CONFIG_INVALID', () => {
    // "(" + k + ")" is k.length + 2 characters.
    expect(buildXQuery({ id: 'b', keywords: ['k'.repeat(510)], handles: [] })).toHaveLength(512);
    const many = Array.from({ length: 60 }, (_, i) => `keyword${i}`);
    let err: unknown;
    try {
      buildXQuery({ id: 'big', keywords: many, handles: ['somehandle'] }, '-is:retweet');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RepwatchError);
    expect((err as RepwatchError).code).toBe('RW_ERR_CONFIG_INVALID');
    expect((err as RepwatchError).message).toMatch(/brand "big".*512/);
  });

  it.each([
    ['AND becomes a space, in parentheses', ['acme AND storing'], '((acme storing))'],
    ['"-word" and NOT "phrase" become X negations', ['acme -koffie', 'acme NOT "acme coffee"'], '((acme -koffie) OR (acme -"acme coffee"))'],
    ['OR branches join the group', ['ing AND bank OR ing AND app'], '((ing bank) OR (ing app))'],
    ['unquoted words next to each other stay one phrase', ['acme bank AND "geen internet"'], '(("acme bank" "geen internet"))'],
    ['hashtags and mentions keep their operator', ['#acme OR @AcmeHelp', 'storing -#acmecoffee'], '(#acme OR @AcmeHelp OR (storing -#acmecoffee))'],
    ['a term already in the group is not repeated', ['acme', 'acme OR acme bank', 'Acme'], '(acme OR "acme bank")'],
    ['a quoted operator word stays a phrase', ['acme AND "OR"'], '((acme "OR"))'],
    ['a Dutch keyword with an accent is sent as written (X search folds accents itself); a quoted single word goes bare', ['Coöp -"coöperatie"'], '((Coöp -coöperatie))'],
  ])('translates boolean keywords: %s', (_what, keywords, query) => {
    expect(buildXQuery({ id: 'b', keywords, handles: [] })).toBe(query);
  });

  it('adds exclusions as negated terms after the group, before queryExtra', () => {
    expect(
      buildXQuery({ id: 'zz', keywords: ['zeezicht'], handles: ['@HotelZeezicht'], exclude: ['zeezicht uitzicht', 'camping', '#ZeezichtCamping', 'Zeezicht Uitzicht'] }, '-is:retweet'),
    ).toBe('(zeezicht OR @HotelZeezicht OR to:HotelZeezicht) -"zeezicht uitzicht" -camping -#ZeezichtCamping -is:retweet');
    expect(buildXQuery({ id: 'zz', keywords: ['zeezicht'], handles: [], exclude: [] })).toBe('(zeezicht)');
  });

  it('counts exclusions in the 512-character limit', () => {
    // "(" + 500 + ")" + " -" + exclusion
    const keywords = ['k'.repeat(500)];
    expect(buildXQuery({ id: 'b', keywords, handles: [], exclude: ['abcdefgh'] })).toHaveLength(512);
    expect(() => buildXQuery({ id: 'b', keywords, handles: [], exclude: ['abcdefghi'] })).toThrow(/brand "b".*513 characters.*512/);
  });

  it.each([
    ['acme AND', /AND needs a term on each side/],
    ['NOT acme', /needs a term that is not negated/],
    ['(acme OR ing) AND bank', /parentheses are not supported/],
  ])('refuses the keyword %j with RW_ERR_CONFIG_INVALID naming the brand', (keyword, message) => {
    let err: unknown;
    try {
      buildXQuery({ id: 'acme', keywords: ['acme', keyword], handles: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RepwatchError);
    expect((err as RepwatchError).code).toBe('RW_ERR_CONFIG_INVALID');
    expect((err as RepwatchError).message).toMatch(new RegExp(`^brand "acme": keyword "${keyword.replace(/[()]/g, '\\$&')}": `));
    expect((err as RepwatchError).message).toMatch(message);
    expect((err as RepwatchError).details).toMatchObject({ brandId: 'acme', keyword });
  });

  it('refuses an exclusion without letters or digits', () => {
    expect(() => buildXQuery({ id: 'acme', keywords: ['acme'], handles: [], exclude: ['!!!'] })).toThrow(/brand "acme": exclusion "!!!"/);
  });

  it('a poll sends the brand exclusions in the query', async () => {
    const { scope, seen } = expectSearch(200, { meta: { result_count: 0 } });
    await xConnector.poll({ ...ctx(), brand: { ...brand, exclude: ['acme coffee'] } });
    scope.done();
    expect(seen.query?.query).toBe('(acme OR "acme bank" OR @AcmeBank OR to:AcmeBank) -"acme coffee" -is:retweet');
  });

  it('a poll with an over-long query throws RW_ERR_CONFIG_INVALID before calling X', async () => {
    const big = { ...brand, keywords: Array.from({ length: 80 }, (_, i) => `keyword${i}`) };
    const c = { ...ctx(), brand: big };
    await expect(xConnector.poll(c)).rejects.toMatchObject({ code: 'RW_ERR_CONFIG_INVALID' });
  });
});
