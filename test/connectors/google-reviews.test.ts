import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { googleReviewsSourceSchema, type GoogleReviewsSourceConfig } from '../../src/config/sources/google-reviews';
import type { Cursor } from '../../src/connectors/connector';
import { clearGoogleTokenCache, googleReviewsConnector, type GoogleReviewsPollContext } from '../../src/connectors/google-reviews';
import { RepwatchError } from '../../src/domain/errors';
import fixture from '../fixtures/google-reviews/reviews-page.json';

const CLIENT_ID = '123456789012-abcdefghijklmnop.apps.googleusercontent.com';
const CLIENT_SECRET = 'GOCSPX-client-secret-Zx81QwErTy';
const REFRESH_TOKEN = '1//04refresh-token-secret-Kq9PlMnBvC';
const ACCESS_TOKEN = 'ya29.access-token-secret-Hj7TgRfEdW';
const ACCESS_TOKEN_2 = 'ya29.second-access-token-Uy6TrEwQ';
const SECRETS = [CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN, ACCESS_TOKEN_2];

const API = 'https://mybusiness.googleapis.com';
const OAUTH = 'https://oauth2.googleapis.com';
const ACCOUNT = '112233445566778899';
const LOC_A = '9876543210123456789';
const LOC_B = '5555555555555555555';
const pathOf = (loc: string) => `/v4/accounts/${ACCOUNT}/locations/${loc}/reviews`;
const NOW = Date.parse('2025-06-01T12:00:00Z');

const baseSource: GoogleReviewsSourceConfig = googleReviewsSourceSchema.parse({
  id: 'gbp',
  platform: 'google-reviews',
  clientIdEnv: 'GBP_CLIENT_ID',
  clientSecretEnv: 'GBP_CLIENT_SECRET',
  refreshTokenEnv: 'GBP_REFRESH_TOKEN',
  accountId: ACCOUNT,
  locationIds: [LOC_A],
});

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

function ctx(cursor: Cursor | null = null, source: Partial<GoogleReviewsSourceConfig> = {}, now = NOW): GoogleReviewsPollContext {
  return {
    brand,
    source: { ...baseSource, ...source },
    cursor,
    now,
    secrets: new Secrets([
      ['GBP_CLIENT_ID', CLIENT_ID],
      ['GBP_CLIENT_SECRET', CLIENT_SECRET],
      ['GBP_REFRESH_TOKEN', REFRESH_TOKEN],
    ]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
  };
}

type Review = (typeof fixture.reviews)[number];
const [janOneStar, anonTwoStars, fatimaFive] = fixture.reviews;

function review(reviewId: string, updateTime: string, over: Record<string, unknown> = {}): Review {
  return { ...janOneStar, name: `accounts/${ACCOUNT}/locations/${LOC_A}/reviews/${reviewId}`, reviewId, createTime: updateTime, updateTime, ...over } as Review;
}

/** The token endpoint, as documented: a form POST, answered with access_token and expires_in. */
function expectToken(status = 200, body: unknown = { access_token: ACCESS_TOKEN, expires_in: 3599, scope: 'https://www.googleapis.com/auth/business.manage', token_type: 'Bearer' }) {
  const seen: { form?: URLSearchParams; contentType?: string } = {};
  const scope = nock(OAUTH)
    .post('/token', (b) => {
      seen.form = new URLSearchParams(typeof b === 'string' ? b : (b as Record<string, string>));
      return true;
    })
    .reply(function () {
      seen.contentType = this.req.headers['content-type'] as string;
      return [status, body as nock.Body, { 'content-type': 'application/json; charset=utf-8' }];
    });
  return { scope, seen };
}

function expectReviews(loc: string, status: number, body: unknown, token = ACCESS_TOKEN, headers: Record<string, string> = {}) {
  const seen: { query?: Record<string, string> } = {};
  const scope = nock(API)
    .matchHeader('authorization', `Bearer ${token}`)
    .get(pathOf(loc))
    .query((q) => {
      seen.query = q as Record<string, string>;
      return true;
    })
    .reply(status, body as nock.Body, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  return { scope, seen };
}

async function pollError(c: GoogleReviewsPollContext = ctx()): Promise<RepwatchError> {
  const err = await googleReviewsConnector.poll(c).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

function expectNoSecret(err: RepwatchError): void {
  for (const text of [err.message, String(err), String(err.stack), JSON.stringify(err.details ?? {})]) {
    for (const s of SECRETS) expect(text).not.toContain(s);
  }
  expect(err.cause).toBeUndefined();
}

const googleError = (code: number, status: string, message: string) => ({ error: { code, message, status } });

beforeAll(() => nock.disableNetConnect());
beforeEach(() => clearGoogleTokenCache());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('googleReviewsSourceSchema', () => {
  it('fills the defaults (15 minutes, 50 per page, Google token URL)', () => {
    expect(baseSource).toMatchObject({ pageSize: 50, pollEvery: 900_000, tokenUrl: 'https://oauth2.googleapis.com/token' });
  });

  it('refuses prefixed or repeated ids, an empty location list, polling faster than a minute and pages over 50', () => {
    const r = googleReviewsSourceSchema.safeParse({ ...baseSource, accountId: `accounts/${ACCOUNT}`, locationIds: [LOC_A, LOC_A], pollEvery: '10s', pageSize: 100 });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['accountId', 'locationIds', 'pageSize', 'pollEvery']);
    expect(googleReviewsSourceSchema.safeParse({ ...baseSource, locationIds: [] }).success).toBe(false);
  });
});

describe('googleReviewsConnector.poll', () => {
  it('gets an access token from the refresh token, lists reviews newest change first and maps them', async () => {
    const token = expectToken();
    const { scope, seen } = expectReviews(LOC_A, 200, fixture);
    const r = await googleReviewsConnector.poll(ctx());
    token.scope.done();
    scope.done();

    expect(token.seen.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(token.seen.form ?? [])).toEqual({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: REFRESH_TOKEN, grant_type: 'refresh_token' });
    expect(seen.query).toEqual({ pageSize: '50', orderBy: 'updateTime desc' });

    expect(r.mentions.map((m) => m.postId)).toEqual([janOneStar.reviewId, anonTwoStars.reviewId, fatimaFive.reviewId]);
    expect(r.mentions[0]).toEqual({
      platform: 'google-reviews',
      postId: janOneStar.reviewId,
      url: '',
      brandId: 'acme',
      author: { id: 'Jan de Vries', handle: 'Jan de Vries', name: 'Jan de Vries', followers: 0, verified: false },
      text: janOneStar.comment,
      createdAt: '2025-06-01T09:30:12.345Z',
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
      rating: { stars: 1, outOf: 5 },
    });
    // A rating without words is kept with empty text; an anonymous reviewer gets a handle of their own.
    expect(r.mentions[1]).toMatchObject({ text: '', rating: { stars: 2, outOf: 5 }, author: { name: 'anonymous', followers: 0 } });
    expect(r.mentions[1].author.handle).toMatch(/^anonymous-[0-9a-f]{12}$/);
    expect(r.mentions[1].author.id).toBe(r.mentions[1].author.handle);
    expect(r.mentions[1].langHint).toBeUndefined();
    // createdAt is when the review was written; the owner's reply counts as one reply.
    expect(r.mentions[2]).toMatchObject({ createdAt: '2025-05-30T11:00:00.000Z', engagement: { replies: 1 }, rating: { stars: 5, outOf: 5 } });

    expect(r.hasMore).toBe(false);
    expect(r.skipped).toBeUndefined();
    expect(r.cursor).toEqual({
      [`since:${LOC_A}`]: '2025-06-01T09:30:12.345Z',
      [`ids:${LOC_A}`]: janOneStar.reviewId,
      current: null,
      pageToken: null,
      pendingSince: null,
      pendingIds: '',
    });
  });

  it.each([
    ['ONE', 1],
    ['TWO', 2],
    ['THREE', 3],
    ['FOUR', 4],
    ['FIVE', 5],
  ])('maps starRating %s to %i of 5 stars', async (starRating, stars) => {
    expectToken();
    expectReviews(LOC_A, 200, { reviews: [review('r1', '2025-06-01T11:00:00Z', { starRating })] });
    const r = await googleReviewsConnector.poll(ctx());
    expect(r.mentions).toHaveLength(1);
    expect(r.mentions[0].rating).toEqual({ stars, outOf: 5 });
  });

  it('keeps a review with STAR_RATING_UNSPECIFIED but words, without a rating; skips one with neither stars nor words', async () => {
    expectToken();
    expectReviews(LOC_A, 200, {
      reviews: [
        review('words', '2025-06-01T11:00:00Z', { starRating: 'STAR_RATING_UNSPECIFIED', comment: 'Geen sterren maar wel boos' }),
        review('nothing', '2025-06-01T10:00:00Z', { starRating: 'STAR_RATING_UNSPECIFIED', comment: undefined }),
      ],
    });
    const r = await googleReviewsConnector.poll(ctx());
    expect(r.mentions.map((m) => m.postId)).toEqual(['words']);
    expect(r.mentions[0].rating).toBeUndefined();
    expect(r.skipped).toEqual([{ postId: 'nothing', reason: 'the review has neither a star rating (STAR_RATING_UNSPECIFIED) nor a comment' }]);
  });

  it('reuses the access token until shortly before it expires, then gets a new one', async () => {
    expectToken();
    expectReviews(LOC_A, 200, {});
    await googleReviewsConnector.poll(ctx());
    // No token interceptor: a second token request would fail the poll.
    expectReviews(LOC_A, 200, {});
    await googleReviewsConnector.poll(ctx(null, {}, NOW + 30 * 60_000));

    const renewed = expectToken(200, { access_token: ACCESS_TOKEN_2, expires_in: 3599, token_type: 'Bearer' });
    const s = expectReviews(LOC_A, 200, {}, ACCESS_TOKEN_2);
    await googleReviewsConnector.poll(ctx(null, {}, NOW + 59 * 60_000));
    renewed.scope.done();
    s.scope.done();
  });

  it('pages with nextPageToken, commits the watermark at the end of the location, then moves on to the next location', async () => {
    const src = { locationIds: [LOC_A, LOC_B], pageSize: 2 };
    const start: Cursor = { [`since:${LOC_A}`]: '2025-05-31T00:00:00.000Z', [`ids:${LOC_A}`]: 'old', [`since:${LOC_B}`]: '2025-05-31T00:00:00.000Z', [`ids:${LOC_B}`]: '' };
    expectToken();
    const p1 = expectReviews(LOC_A, 200, { reviews: [review('a1', '2025-06-01T11:00:00Z'), review('a2', '2025-06-01T10:00:00Z')], nextPageToken: 'CiAKGjBDaUlEVEsx', totalReviewCount: 9 });
    const r1 = await googleReviewsConnector.poll(ctx(start, src));
    p1.scope.done();
    expect(p1.seen.query).toEqual({ pageSize: '2', orderBy: 'updateTime desc' });
    expect(r1.mentions.map((m) => m.postId)).toEqual(['a1', 'a2']);
    expect(r1.hasMore).toBe(true);
    expect(r1.cursor).toEqual({ ...start, current: LOC_A, pageToken: 'CiAKGjBDaUlEVEsx', pendingSince: '2025-06-01T11:00:00.000Z', pendingIds: 'a1' });

    const p2 = expectReviews(LOC_A, 200, { reviews: [review('a3', '2025-06-01T09:00:00Z'), review('old', '2025-05-31T00:00:00Z')], nextPageToken: 'CiAKGjBDaUlEVEsy' });
    const r2 = await googleReviewsConnector.poll(ctx(r1.cursor, src));
    p2.scope.done();
    expect(p2.seen.query).toMatchObject({ pageToken: 'CiAKGjBDaUlEVEsx' });
    expect(r2.mentions.map((m) => m.postId)).toEqual(['a3']);
    // Known reviews reached: location A is done (its newest from page one), location B is next.
    expect(r2.hasMore).toBe(true);
    expect(r2.cursor).toEqual({ ...start, [`since:${LOC_A}`]: '2025-06-01T11:00:00.000Z', [`ids:${LOC_A}`]: 'a1', current: LOC_B, pageToken: null, pendingSince: null, pendingIds: '' });

    const p3 = expectReviews(LOC_B, 200, { reviews: [review('b1', '2025-06-01T08:00:00Z')] });
    const r3 = await googleReviewsConnector.poll(ctx(r2.cursor, src));
    p3.scope.done();
    expect(p3.seen.query).not.toHaveProperty('pageToken');
    expect(r3.mentions.map((m) => m.postId)).toEqual(['b1']);
    expect(r3.hasMore).toBe(false);
    expect(r3.cursor).toMatchObject({ [`since:${LOC_B}`]: '2025-06-01T08:00:00.000Z', [`ids:${LOC_B}`]: 'b1', [`since:${LOC_A}`]: '2025-06-01T11:00:00.000Z', current: null });
  });

  it('hands on an edited review again with the same postId; a review seen at the cursor instant is left out', async () => {
    const cursor: Cursor = { [`since:${LOC_A}`]: '2025-06-01T10:00:00.000Z', [`ids:${LOC_A}`]: 'same' };
    expectToken();
    expectReviews(LOC_A, 200, {
      reviews: [
        // Written last week, edited from five stars to one just now.
        review('edited', '2025-06-01T11:30:00Z', { createTime: '2025-05-20T10:00:00Z', starRating: 'ONE', comment: 'Toch niet goed geholpen' }),
        review('same', '2025-06-01T10:00:00Z'),
        review('older', '2025-06-01T09:00:00Z'),
      ],
    });
    const r = await googleReviewsConnector.poll(ctx(cursor));
    expect(r.mentions.map((m) => m.postId)).toEqual(['edited']);
    expect(r.mentions[0]).toMatchObject({ createdAt: '2025-05-20T10:00:00.000Z', rating: { stars: 1, outOf: 5 } });
    expect(r.cursor).toMatchObject({ [`since:${LOC_A}`]: '2025-06-01T11:30:00.000Z', [`ids:${LOC_A}`]: 'edited' });
  });

  it('an empty location (Google leaves `reviews` out) returns nothing and keeps the position', async () => {
    const cursor: Cursor = { [`since:${LOC_A}`]: '2025-06-01T10:00:00.000Z', [`ids:${LOC_A}`]: 'x' };
    expectToken();
    const { scope } = expectReviews(LOC_A, 200, { averageRating: 0, totalReviewCount: 0 });
    const r = await googleReviewsConnector.poll(ctx(cursor));
    scope.done();
    expect(r).toEqual({ mentions: [], cursor: { ...cursor, current: null, pageToken: null, pendingSince: null, pendingIds: '' }, hasMore: false });
  });

  it('a deleted review is simply absent, and a location removed from the config is dropped from the cursor', async () => {
    const cursor: Cursor = { [`since:${LOC_A}`]: '2025-06-01T10:00:00.000Z', [`ids:${LOC_A}`]: 'deleted', [`since:${LOC_B}`]: '2025-06-01T10:00:00.000Z', [`ids:${LOC_B}`]: '' };
    expectToken();
    expectReviews(LOC_A, 200, { reviews: [review('new', '2025-06-01T11:00:00Z'), review('kept', '2025-06-01T09:00:00Z')] });
    const r = await googleReviewsConnector.poll(ctx(cursor));
    expect(r.mentions.map((m) => m.postId)).toEqual(['new']);
    expect(r.cursor).not.toHaveProperty(`since:${LOC_B}`);
    expect(r.cursor).toMatchObject({ [`since:${LOC_A}`]: '2025-06-01T11:00:00.000Z', [`ids:${LOC_A}`]: 'new' });
  });

  it('keeps the good reviews of a partial page and skips the bad ones with their reason', async () => {
    expectToken();
    expectReviews(LOC_A, 200, {
      reviews: [
        review('badtime', '2025-06-01T11:50:00Z', { createTime: 'gisteren' }),
        { name: 'no id', starRating: 'ONE' },
        review('good', '2025-06-01T11:00:00Z'),
        review('notime', '2025-06-01T11:00:00Z', { createTime: undefined, updateTime: undefined }),
      ],
    });
    const r = await googleReviewsConnector.poll(ctx());
    expect(r.mentions.map((m) => m.postId)).toEqual(['good']);
    expect(r.skipped).toEqual([
      { postId: 'badtime', reason: 'the review has no valid createTime' },
      { postId: `(${LOC_A}: reviews[1] without reviewId)`, reason: 'the review has no string reviewId' },
      { postId: 'notime', reason: 'the review has no valid updateTime or createTime' },
    ]);
    // The watermark moves past the skipped newest review.
    expect(r.cursor).toMatchObject({ [`since:${LOC_A}`]: '2025-06-01T11:50:00.000Z', [`ids:${LOC_A}`]: 'badtime' });
  });

  it('maps 429 RESOURCE_EXHAUSTED to RW_ERR_PLATFORM_RATE_LIMITED, waiting one minute without Retry-After', async () => {
    expectToken();
    expectReviews(LOC_A, 429, googleError(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'"));
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(60_000);
    expect(err.message).toMatch(/RESOURCE_EXHAUSTED/);
    expect(err.details).toMatchObject({ status: 429, googleStatus: 'RESOURCE_EXHAUSTED', location: LOC_A });

    expectReviews(LOC_A, 429, googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'), ACCESS_TOKEN, { 'retry-after': '30' });
    expect((await pollError()).retryAfterMs).toBe(30_000);
  });

  it('maps a revoked refresh token (400 invalid_grant) to RW_ERR_PLATFORM_REJECTED without any secret', async () => {
    // The description echoes the token to prove nothing but the OAuth error code reaches the message.
    const { scope } = expectToken(400, { error: 'invalid_grant', error_description: `Token has been expired or revoked: ${REFRESH_TOKEN}` });
    const err = await pollError();
    scope.done();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/invalid_grant.*revoked or has expired/);
    expect(err.details).toEqual({ status: 400, oauthError: 'invalid_grant' });
    expectNoSecret(err);
  });

  it('maps 401 invalid_client from the token endpoint to RW_ERR_PLATFORM_REJECTED without any secret', async () => {
    expectToken(401, { error: 'invalid_client', error_description: `The OAuth client was not found. ${CLIENT_SECRET}` });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/invalid_client.*client id and client secret/);
    expectNoSecret(err);
  });

  it('maps a token endpoint 5xx to RW_ERR_PLATFORM_UNAVAILABLE and a token body without access_token to RW_ERR_PAYLOAD_MALFORMED', async () => {
    expectToken(503, 'Service Unavailable');
    expect((await pollError()).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expectToken(200, { token_type: 'Bearer' });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.message).toMatch(/no access_token/);
  });

  it('renews a cached access token Google no longer accepts, once', async () => {
    expectToken();
    expectReviews(LOC_A, 200, {});
    await googleReviewsConnector.poll(ctx());

    expectReviews(LOC_A, 401, googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.'));
    const renewed = expectToken(200, { access_token: ACCESS_TOKEN_2, expires_in: 3599, token_type: 'Bearer' });
    const retry = expectReviews(LOC_A, 200, { reviews: [review('r', '2025-06-01T11:00:00Z')] }, ACCESS_TOKEN_2);
    const r = await googleReviewsConnector.poll(ctx());
    renewed.scope.done();
    retry.scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual(['r']);
  });

  it('maps a 401 with a fresh access token to RW_ERR_PLATFORM_REJECTED without asking again', async () => {
    expectToken();
    expectReviews(LOC_A, 401, googleError(401, 'UNAUTHENTICATED', `Request had invalid authentication credentials: ${ACCESS_TOKEN}`));
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/UNAUTHENTICATED/);
    expectNoSecret(err);
  });

  it.each([
    [403, 'PERMISSION_DENIED', 'RW_ERR_PLATFORM_REJECTED'],
    [404, 'NOT_FOUND', 'RW_ERR_PLATFORM_REJECTED'],
    [503, 'UNAVAILABLE', 'RW_ERR_PLATFORM_UNAVAILABLE'],
  ])('maps %i %s to %s', async (status, googleStatus, code) => {
    expectToken();
    expectReviews(LOC_A, status, googleError(status, googleStatus, 'The caller does not have permission'));
    const err = await pollError();
    expect(err.code).toBe(code);
    expect(err.details).toMatchObject({ status, googleStatus, location: LOC_A });
    expectNoSecret(err);
  });

  it('maps a network failure to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    expectToken();
    nock(API).get(pathOf(LOC_A)).query(true).replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expectNoSecret(err);
  });

  it.each([
    ['the body is not JSON', '<html>oops</html>', /not valid JSON/],
    ['the body is an array', [], /body is an array/],
    ['reviews is not an array', { reviews: 'none' }, /reviews is string/],
    ['nextPageToken is not a string', { reviews: [], nextPageToken: 7 }, /nextPageToken/],
  ])('maps a malformed body (%s) to RW_ERR_PAYLOAD_MALFORMED', async (_what, body, message) => {
    expectToken();
    expectReviews(LOC_A, 200, body);
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.message).toMatch(message);
    expectNoSecret(err);
  });

  it('uses the baseUrl and tokenUrl overrides', async () => {
    nock('http://127.0.0.1:4020').post('/oauth/token').reply(200, { access_token: ACCESS_TOKEN, expires_in: 3599 });
    const s = nock('http://127.0.0.1:4021').get(pathOf(LOC_A)).query(true).reply(200, {});
    await googleReviewsConnector.poll(ctx(null, { baseUrl: 'http://127.0.0.1:4021', tokenUrl: 'http://127.0.0.1:4020/oauth/token' }));
    s.done();
  });

  it('a failure mid-location asks for the same page again', async () => {
    const cursor: Cursor = { current: LOC_A, pageToken: 'tok2', pendingSince: '2025-06-01T11:00:00.000Z', pendingIds: 'a1' };
    expectToken();
    expectReviews(LOC_A, 500, googleError(500, 'INTERNAL', 'Internal error encountered.'));
    expect((await pollError(ctx(cursor))).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    const { seen } = expectReviews(LOC_A, 200, { reviews: [review('a2', '2025-06-01T10:00:00Z')] });
    const r = await googleReviewsConnector.poll(ctx(cursor));
    expect(seen.query).toMatchObject({ pageToken: 'tok2' });
    expect(r.cursor).toMatchObject({ [`since:${LOC_A}`]: '2025-06-01T11:00:00.000Z', [`ids:${LOC_A}`]: 'a1', current: null });
  });
});
