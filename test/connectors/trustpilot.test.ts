import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { trustpilotSourceSchema, type TrustpilotSourceConfig } from '../../src/config/sources/trustpilot';
import type { Cursor } from '../../src/connectors/connector';
import { trustpilotConnector, type TrustpilotPollContext } from '../../src/connectors/trustpilot';
import { RepwatchError } from '../../src/domain/errors';
import fixture from '../fixtures/trustpilot/reviews-page.json';

const API_KEY = 'tp-secret-api-key-9Qm2xV7rLw4Z';
const API = 'https://api.trustpilot.com';
const BU = '507f191e810c19729de860ea';
const PATH = `/v1/business-units/${BU}/reviews`;
const NOW = Date.parse('2025-06-01T12:00:00Z');

const baseSource: TrustpilotSourceConfig = trustpilotSourceSchema.parse({ id: 'tp', platform: 'trustpilot', apiKeyEnv: 'TRUSTPILOT_API_KEY', businessUnitId: BU });

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme'],
  handles: [],
  languages: ['nl', 'en'],
  sources: [],
  topics: {},
  exclude: [],
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

function ctx(cursor: Cursor | null = null, source: Partial<TrustpilotSourceConfig> = {}, env: [string, string][] = []): TrustpilotPollContext {
  return {
    brand,
    source: { ...baseSource, ...source },
    cursor,
    now: NOW,
    secrets: new Secrets([['TRUSTPILOT_API_KEY', API_KEY], ...env]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
  };
}

type Review = (typeof fixture.reviews)[number];
const [oneStar, fiveStar, older] = fixture.reviews;

/** A review in the fixture's shape with its own id and time. */
function review(id: string, createdAt: string, over: Partial<Review> | Record<string, unknown> = {}): Review {
  return { ...oneStar, id, createdAt, consumer: { ...oneStar.consumer, id: `c-${id}` }, ...over } as Review;
}

/** Intercepts one reviews call; records its query string and headers. */
function expectPage(status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }, base = API) {
  const seen: { query?: Record<string, string>; apikey?: string } = {};
  const scope = nock(base)
    .get(PATH)
    .query((q) => {
      seen.query = q as Record<string, string>;
      return true;
    })
    .reply(function () {
      seen.apikey = this.req.headers.apikey as string;
      return [status, body as nock.Body, headers];
    });
  return { scope, seen };
}

async function pollError(c: TrustpilotPollContext = ctx()): Promise<RepwatchError> {
  const err = await trustpilotConnector.poll(c).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

function expectNoSecret(err: RepwatchError): void {
  for (const text of [err.message, String(err), String(err.stack), JSON.stringify(err.details ?? {})]) expect(text).not.toContain(API_KEY);
  expect(err.cause).toBeUndefined();
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('trustpilotSourceSchema', () => {
  it('fills the defaults (10 minutes, 100 per page, 3 pages per poll)', () => {
    expect(baseSource).toEqual({ id: 'tp', platform: 'trustpilot', apiKeyEnv: 'TRUSTPILOT_API_KEY', businessUnitId: BU, pageSize: 100, maxPagesPerPoll: 3, pollEvery: 600_000 });
  });

  it('refuses a path-unsafe business unit id, polling faster than a minute, pages over 100 and unknown fields', () => {
    const r = trustpilotSourceSchema.safeParse({ id: 'tp', platform: 'trustpilot', apiKeyEnv: 'TRUSTPILOT_API_KEY', businessUnitId: '../x', pollEvery: '30s', pageSize: 200, apikey: 'inline' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.') || i.code).sort()).toEqual(['businessUnitId', 'pageSize', 'pollEvery', 'unrecognized_keys']);
  });
});

describe('trustpilotConnector.poll', () => {
  it('maps a page to mentions with stars, language and likes, sends the key as a header, and looks back one week on the first poll', async () => {
    const { scope, seen } = expectPage(200, fixture);
    const r = await trustpilotConnector.poll(ctx());
    scope.done();

    expect(seen.apikey).toBe(API_KEY);
    expect(seen.query).toEqual({ orderBy: 'createdat.desc', perPage: '100', page: '1' });
    // The third review is older than the first poll's one-week floor (2025-05-25T12:00Z).
    expect(r.mentions.map((m) => m.postId)).toEqual([oneStar.id, fiveStar.id]);
    expect(r.mentions[0]).toEqual({
      platform: 'trustpilot',
      postId: oneStar.id,
      url: `https://www.trustpilot.com/reviews/${oneStar.id}`,
      brandId: 'acme',
      author: { id: oneStar.consumer.id, handle: 'Sanne V.', name: 'Sanne V.', followers: 0, verified: false },
      text: 'Pas al drie dagen geblokkeerd\nNiemand neemt op bij de klantenservice en mijn pas werkt nog steeds niet.',
      langHint: 'nl',
      createdAt: '2025-06-01T10:15:00.000Z',
      engagement: { likes: 3, reposts: 0, replies: 0, quotes: 0 },
      rating: { stars: 1, outOf: 5 },
    });
    // A company reply counts as one reply.
    expect(r.mentions[1]).toMatchObject({ langHint: 'en', rating: { stars: 5, outOf: 5 }, engagement: { likes: 0, replies: 1 } });
    expect(r.hasMore).toBe(false);
    expect(r.skipped).toBeUndefined();
    expect(r.cursor).toEqual({ since: '2025-06-01T10:15:00.000Z', sinceIds: oneStar.id, page: null, runNewest: null, runNewestIds: '', burst: 0 });
  });

  it.each([1, 2, 3, 4, 5])('keeps %i star(s) as rating {stars, outOf: 5}', async (stars) => {
    expectPage(200, { links: [], reviews: [review('r1', '2025-06-01T11:00:00Z', { stars })] });
    const r = await trustpilotConnector.poll(ctx());
    expect(r.mentions).toHaveLength(1);
    expect(r.mentions[0].rating).toEqual({ stars, outOf: 5 });
  });

  it('pages newest first, stops after maxPagesPerPoll, continues at the next poll and commits the watermark only at the end', async () => {
    const cursor0 = { since: '2025-05-30T00:00:00.000Z', sinceIds: 'old1', page: null, runNewest: null, runNewestIds: '', burst: 0 };
    const src = { pageSize: 2, maxPagesPerPoll: 2 };

    const p1 = expectPage(200, { links: [], reviews: [review('a', '2025-06-01T11:00:00Z'), review('b', '2025-06-01T10:00:00Z')] });
    const r1 = await trustpilotConnector.poll(ctx(cursor0, src));
    p1.scope.done();
    expect(p1.seen.query).toMatchObject({ perPage: '2', page: '1' });
    expect(r1.mentions.map((m) => m.postId)).toEqual(['a', 'b']);
    expect(r1.hasMore).toBe(true);
    expect(r1.cursor).toEqual({ ...cursor0, page: 2, runNewest: '2025-06-01T11:00:00.000Z', runNewestIds: 'a', burst: 1 });

    const p2 = expectPage(200, { links: [], reviews: [review('c', '2025-05-31T10:00:00Z'), review('d', '2025-05-31T09:00:00Z')] });
    const r2 = await trustpilotConnector.poll(ctx(r1.cursor, src));
    p2.scope.done();
    expect(p2.seen.query).toMatchObject({ page: '2' });
    expect(r2.mentions.map((m) => m.postId)).toEqual(['c', 'd']);
    // Two pages back to back: the rest waits for the next poll, from page 3.
    expect(r2.hasMore).toBe(false);
    expect(r2.cursor).toEqual({ ...cursor0, page: 3, runNewest: '2025-06-01T11:00:00.000Z', runNewestIds: 'a', burst: 0 });

    const p3 = expectPage(200, { links: [], reviews: [review('e', '2025-05-30T12:00:00Z'), review('old1', '2025-05-30T00:00:00Z')] });
    const r3 = await trustpilotConnector.poll(ctx(r2.cursor, src));
    p3.scope.done();
    expect(p3.seen.query).toMatchObject({ page: '3' });
    expect(r3.mentions.map((m) => m.postId)).toEqual(['e']);
    expect(r3.hasMore).toBe(false);
    expect(r3.cursor).toEqual({ since: '2025-06-01T11:00:00.000Z', sinceIds: 'a', page: null, runNewest: null, runNewestIds: '', burst: 0 });
  });

  it('a short page ends the run even without reaching known reviews', async () => {
    expectPage(200, { links: [], reviews: [review('a', '2025-06-01T11:00:00Z')] });
    const r = await trustpilotConnector.poll(ctx({ since: '2025-05-01T00:00:00.000Z', sinceIds: '', page: 4, runNewest: '2025-06-01T11:30:00.000Z', runNewestIds: 'z', burst: 1 }, { pageSize: 2 }));
    expect(r.hasMore).toBe(false);
    // The run's newest came from an earlier page.
    expect(r.cursor).toMatchObject({ since: '2025-06-01T11:30:00.000Z', sinceIds: 'z', page: null });
  });

  it('leaves out reviews seen at the cursor instant, keeps a new one at that instant, and remembers both ids', async () => {
    const cursor = { since: '2025-06-01T10:00:00.000Z', sinceIds: 'seen', page: null, runNewest: null, runNewestIds: '', burst: 0 };
    expectPage(200, { links: [], reviews: [review('new', '2025-06-01T10:00:00Z'), review('seen', '2025-06-01T10:00:00Z'), review('older', '2025-06-01T09:00:00Z')] });
    const r = await trustpilotConnector.poll(ctx(cursor));
    expect(r.mentions.map((m) => m.postId)).toEqual(['new']);
    expect(r.cursor).toMatchObject({ since: '2025-06-01T10:00:00.000Z', sinceIds: 'seen,new', page: null });
    expect(r.hasMore).toBe(false);
  });

  it('reads a createdAt without a zone as UTC', async () => {
    expectPage(200, { links: [], reviews: [review('a', '2025-06-01T11:00:00')] });
    const r = await trustpilotConnector.poll(ctx());
    expect(r.mentions[0].createdAt).toBe('2025-06-01T11:00:00.000Z');
  });

  it('an empty page (also past the last page) returns nothing and keeps the position', async () => {
    const cursor = { since: '2025-06-01T10:00:00.000Z', sinceIds: 'x', page: null, runNewest: null, runNewestIds: '', burst: 0 };
    const { scope } = expectPage(200, { links: [], reviews: [] });
    const r = await trustpilotConnector.poll(ctx(cursor));
    scope.done();
    expect(r).toEqual({ mentions: [], cursor, hasMore: false });
  });

  it('a review deleted since the last poll is simply absent: the next poll hands on only the new ones', async () => {
    // 'gone' was handed on before and has been removed from Trustpilot since; 'kept' is still there.
    const cursor = { since: '2025-06-01T10:00:00.000Z', sinceIds: 'gone', page: null, runNewest: null, runNewestIds: '', burst: 0 };
    expectPage(200, { links: [], reviews: [review('fresh', '2025-06-01T11:00:00Z'), review('kept', '2025-06-01T09:00:00Z')] });
    const r = await trustpilotConnector.poll(ctx(cursor));
    expect(r.mentions.map((m) => m.postId)).toEqual(['fresh']);
    expect(r.skipped).toBeUndefined();
    expect(r.cursor).toMatchObject({ since: '2025-06-01T11:00:00.000Z', sinceIds: 'fresh' });
  });

  it('uses a trustpilot.com web link from the review links when there is one, and the baseUrl override', async () => {
    const withWebLink = review('w', '2025-06-01T11:00:00Z', {
      links: [
        { href: 'https://api.trustpilot.com/v1/reviews/w', method: 'GET', rel: 'reviews' },
        { href: 'https://nl.trustpilot.com/reviews/w', method: 'GET', rel: 'web' },
      ],
    });
    const { scope } = expectPage(200, { links: [], reviews: [withWebLink] }, undefined, 'http://127.0.0.1:4010');
    const r = await trustpilotConnector.poll(ctx(null, { baseUrl: 'http://127.0.0.1:4010/' }));
    scope.done();
    expect(r.mentions[0].url).toBe('https://nl.trustpilot.com/reviews/w');
  });

  it('reads the base URL from baseUrlEnv', async () => {
    const { scope } = expectPage(200, { links: [], reviews: [] }, undefined, 'http://localhost:4011');
    await trustpilotConnector.poll(ctx(null, { baseUrlEnv: 'TP_BASE' }, [['TP_BASE', 'http://localhost:4011']]));
    scope.done();
  });

  it('keeps the good reviews of a partial page, skips the bad ones with their reason, and moves past them', async () => {
    const noConsumer = review('nc', '2025-06-01T11:30:00Z', { consumer: null });
    const noStars = review('ns', '2025-06-01T11:20:00Z', { stars: 0 });
    const noTime = review('nt', 'yesterday');
    const body = { links: [], reviews: [noConsumer, 'not a review', review('good', '2025-06-01T11:10:00Z'), noStars, noTime] };
    expectPage(200, body);
    const r = await trustpilotConnector.poll(ctx({ since: '2025-06-01T00:00:00.000Z', sinceIds: '', page: null, runNewest: null, runNewestIds: '', burst: 0 }));
    expect(r.mentions.map((m) => m.postId)).toEqual(['good']);
    expect(r.skipped).toEqual([
      { postId: 'nc', reason: 'the review has no consumer id and displayName' },
      { postId: '(reviews[1] without id)', reason: 'the review has no string id' },
      { postId: 'ns', reason: 'the review has no star rating of 1 to 5' },
      { postId: 'nt', reason: 'the review has no valid createdAt' },
    ]);
    // The skipped newest review sets the watermark: it is kept with its reason, not fetched again and again.
    expect(r.cursor).toMatchObject({ since: '2025-06-01T11:30:00.000Z', sinceIds: 'nc' });
  });

  it('maps 429 to RW_ERR_PLATFORM_RATE_LIMITED with Retry-After, or one 5-minute window without it, and keeps nothing', async () => {
    expectPage(429, { message: 'Too many requests' }, { 'retry-after': '120' });
    const withHeader = await pollError();
    expect(withHeader.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(withHeader.retryable).toBe(true);
    expect(withHeader.retryAfterMs).toBe(120_000);

    expectPage(429, '');
    const without = await pollError();
    expect(without.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(without.retryAfterMs).toBe(300_000);
  });

  it('maps 401 (invalid key) to RW_ERR_PLATFORM_REJECTED and never shows the key, even when the body echoes it', async () => {
    expectPage(401, { fault: { faultstring: `Invalid ApiKey ${API_KEY}`, detail: { errorcode: 'oauth.v2.InvalidApiKey' } } });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/HTTP 401 \(check the API key\): Invalid ApiKey \[Redacted\]/);
    expect(err.details).toMatchObject({ status: 401 });
    expectNoSecret(err);
  });

  it.each([
    [403, /paid Trustpilot plan/],
    [404, /check businessUnitId/],
  ])('maps %i to RW_ERR_PLATFORM_REJECTED with a hint', async (status, hint) => {
    expectPage(status, { message: 'Forbidden' });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(hint);
    expectNoSecret(err);
  });

  it('maps 500 to RW_ERR_PLATFORM_UNAVAILABLE, retried after 5 minutes as Trustpilot advises', async () => {
    expectPage(500, 'Internal Server Error', { 'content-type': 'text/plain' });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(300_000);
  });

  it('maps a network failure to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    nock(API).get(PATH).query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expectNoSecret(err);
  });

  it.each([
    ['the body is not JSON', '<html>maintenance</html>', /not valid JSON/],
    ['the body is an array', [], /body is an array/],
    ['reviews is missing', { links: [] }, /reviews is missing/],
    ['reviews is an object', { reviews: { id: 'x' } }, /reviews is object/],
  ])('maps a malformed body (%s) to RW_ERR_PAYLOAD_MALFORMED', async (_what, body, message) => {
    expectPage(200, body as nock.Body);
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(message);
    expectNoSecret(err);
  });

  it('does not lose its place on a failure mid-run: the same page is asked again', async () => {
    const cursor = { since: '2025-05-30T00:00:00.000Z', sinceIds: '', page: 2, runNewest: '2025-06-01T11:00:00.000Z', runNewestIds: 'a', burst: 1 };
    expectPage(503, '');
    await pollError(ctx(cursor));
    const { seen } = expectPage(200, { links: [], reviews: [] });
    const r = await trustpilotConnector.poll(ctx(cursor));
    expect(seen.query).toMatchObject({ page: '2' });
    expect(r.cursor).toMatchObject({ since: '2025-06-01T11:00:00.000Z', sinceIds: 'a', page: null });
  });

  it('sees older reviews only within the first poll window', async () => {
    // Every review is older than a week: nothing is handed on and the position stays unset.
    expectPage(200, { links: [], reviews: [older] });
    const r = await trustpilotConnector.poll(ctx());
    expect(r.mentions).toEqual([]);
    expect(r.cursor).toMatchObject({ since: null, page: null });
  });
});
