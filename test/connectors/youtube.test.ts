import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { estimateYoutubeQuota, youtubeSourceSchema, type YoutubeSourceConfig } from '../../src/config/sources/youtube';
import type { Cursor, PollContext } from '../../src/connectors/connector';
import { buildYoutubeQuery, nextQuotaReset, quotaDay, resetYoutubeCaches, youtubeConnector } from '../../src/connectors/youtube';
import { RepwatchError } from '../../src/domain/errors';
import channels from '../fixtures/youtube/channels.json';
import threadsChannel from '../fixtures/youtube/comment-threads-channel.json';
import threadsVideo from '../fixtures/youtube/comment-threads-video.json';
import commentsDisabled from '../fixtures/youtube/error-comments-disabled.json';
import forbidden from '../fixtures/youtube/error-forbidden.json';
import keyInvalidLegacy from '../fixtures/youtube/error-key-invalid-legacy.json';
import keyInvalid from '../fixtures/youtube/error-key-invalid.json';
import quotaExceeded from '../fixtures/youtube/error-quota-exceeded.json';
import searchBody from '../fixtures/youtube/search.json';

// Shapes from the YouTube Data API v3 reference (commentThreads.list, search.list, channels.list,
// the errors page) and its quota costs (developers.google.com/youtube/data/determine_quota_cost:
// list calls 1 unit; search.list its own bucket of 100 calls a day).
const KEY = 'AIzaSyD-test-key-9f8e7d6c5b4a3f2e1d0c9b8';
const API = 'https://www.googleapis.com';
const NOW = Date.parse('2025-06-01T12:00:00Z');
/** 12:00 UTC on 1 June is 05:00 PDT; the quota resets at the next Pacific midnight, 07:00 UTC on 2 June. */
const RESET = Date.parse('2025-06-02T07:00:00Z');
const BRAND_CHANNEL = 'UCacmeBankOfficial000000';
const JAN = 'UCjanVisserNL00000000000';
const PIET = 'UCpietKlaagt000000000000';
const HIDDEN = 'UChiddenSubs000000000000';

const makeSource = (over: Record<string, unknown> = {}): YoutubeSourceConfig => youtubeSourceSchema.parse({ id: 'yt', platform: 'youtube', apiKeyEnv: 'YOUTUBE_API_KEY', ...over });

const brandFor = (source: YoutubeSourceConfig): ResolvedBrand => ({
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme', 'acme bank'],
  handles: ['@AcmeBank'],
  exclude: [],
  languages: ['nl', 'en'],
  sources: [source as never],
  topics: {},
  effectivePolicy: policySchema.parse({}),
});

type Ctx = Parameters<typeof youtubeConnector.poll>[0];
function ctx(source: YoutubeSourceConfig, cursor: Cursor | null = null, now = NOW): Ctx {
  return {
    brand: brandFor(source),
    source,
    cursor,
    now,
    secrets: new Secrets([['YOUTUBE_API_KEY', KEY]]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
  } as Omit<PollContext, 'source'> & { source: YoutubeSourceConfig };
}

/** Intercepts one call to a resource; the key must come in the header, never in the query. */
function expectCall(resource: string, status: number, body: unknown, match: (q: Record<string, string>) => boolean = () => true) {
  const seen: { query?: Record<string, string> } = {};
  const scope = nock(API)
    .matchHeader('x-goog-api-key', KEY)
    .get(`/youtube/v3/${resource}`)
    .query((q) => {
      const query = q as Record<string, string>;
      if (!match(query)) return false;
      seen.query = query;
      return true;
    })
    .reply(status, body as nock.Body, { 'content-type': 'application/json; charset=UTF-8' });
  return { scope, seen };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const threads = (items: unknown[], nextPageToken?: string) => ({
  kind: 'youtube#commentThreadListResponse',
  etag: 'x',
  ...(nextPageToken ? { nextPageToken } : {}),
  pageInfo: { totalResults: items.length, resultsPerPage: 100 },
  items,
});

async function pollError(c: Ctx): Promise<RepwatchError> {
  const err = await youtubeConnector.poll(c).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

beforeAll(() => nock.disableNetConnect());
beforeEach(() => resetYoutubeCaches());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('youtubeSourceSchema and dailyQuota', () => {
  it('estimates the default configuration: 96 polls × (channel + 5 videos + 1 channels.list); 24 searches in their own bucket', () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, search: {} });
    expect(source).toMatchObject({ pollEvery: 15 * 60_000, dailyQuotaUnits: 10_000, search: { maxVideos: 5, every: 3_600_000 } });
    expect(estimateYoutubeQuota(source)).toEqual({ units: 96 * 7, searches: 24, pollsPerDay: 96 });
    expect(youtubeConnector.dailyQuota(source, brandFor(source))).toEqual({ used: 672, limit: 10_000, unit: 'units' });
  });

  it('a channel alone costs two units a poll', () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, pollEvery: '5m' });
    expect(youtubeConnector.dailyQuota(source, brandFor(source))).toEqual({ used: 288 * 2, limit: 10_000, unit: 'units' });
  });

  it('refuses a configuration over its daily units, with the figures', () => {
    const r = youtubeSourceSchema.safeParse({ id: 'yt', platform: 'youtube', apiKeyEnv: 'K', channelId: BRAND_CHANNEL, search: { maxVideos: 50, every: '15m' }, pollEvery: '1m' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['dailyQuotaUnits']);
    // 1440 polls × (channel + 50 videos + channels.list)
    expect(r.error!.issues[0].message).toMatch(/about 74880 quota units a day \(1440 polls × 52 calls\), over dailyQuotaUnits 10000/);
    expect(youtubeSourceSchema.safeParse({ id: 'yt', platform: 'youtube', apiKeyEnv: 'K', channelId: BRAND_CHANNEL, search: { maxVideos: 50 }, pollEvery: '1m', dailyQuotaUnits: 80_000 }).success).toBe(true);
  });

  it('refuses more than 100 searches a day (search.list\'s own cap) and a source with nothing to read', () => {
    const r = youtubeSourceSchema.safeParse({ id: 'yt', platform: 'youtube', apiKeyEnv: 'K', search: { maxVideos: 1, every: '10m' }, pollEvery: '10m', dailyQuotaUnits: 1_000_000 });
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['search.every']);
    const empty = youtubeSourceSchema.safeParse({ id: 'yt', platform: 'youtube', apiKeyEnv: 'K' });
    expect(empty.error!.issues[0]).toMatchObject({ path: ['channelId'], message: expect.stringMatching(/channelId, search, or both/) });
    expect(youtubeSourceSchema.safeParse({ id: 'yt', platform: 'youtube', apiKeyEnv: 'K', channelId: '@acmebank' }).success).toBe(false);
  });
});

describe('quota day', () => {
  it('follows Pacific time, daylight saving included', () => {
    expect(quotaDay(NOW)).toBe('2025-06-01');
    expect(quotaDay(Date.parse('2025-06-02T06:59:59Z'))).toBe('2025-06-01');
    expect(nextQuotaReset(NOW)).toBe(RESET);
    expect(nextQuotaReset(Date.parse('2025-01-15T12:00:00Z'))).toBe(Date.parse('2025-01-16T08:00:00Z'));
    // The night the clocks go forward (9 March 2025, 02:00 PST): midnight on the 9th is still PST.
    expect(nextQuotaReset(Date.parse('2025-03-08T20:00:00Z'))).toBe(Date.parse('2025-03-09T08:00:00Z'));
    expect(nextQuotaReset(Date.parse('2025-03-09T12:00:00Z'))).toBe(Date.parse('2025-03-10T07:00:00Z'));
  });
});

describe('buildYoutubeQuery', () => {
  it('ORs keywords and handles with "|", phrases quoted', () => {
    expect(buildYoutubeQuery({ id: 'a', keywords: ['acme', 'acme bank', 'acme'], handles: ['@AcmeBank'] })).toBe('acme|"acme bank"|acmebank');
    // A query keyword contributes one positive term per OR branch; the matcher checks the rest.
    expect(buildYoutubeQuery({ id: 'a', keywords: ['acme bank AND storing', 'ing -bank OR #ingapp'], handles: [] })).toBe('"acme bank"|ing|ingapp');
  });
});

describe('youtubeConnector.poll', () => {
  it('searches for videos, reads the channel\'s and the videos\' comment threads, and looks up subscribers', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, search: { maxVideos: 2 } });
    const search = expectCall('search', 200, searchBody);
    const channel = expectCall('commentThreads', 200, threadsChannel, (q) => q.allThreadsRelatedToChannelId === BRAND_CHANNEL);
    const v1 = expectCall('commentThreads', 200, threadsVideo, (q) => q.videoId === 'vidAcmeDown');
    const v2 = expectCall('commentThreads', 200, threads([]), (q) => q.videoId === 'vidAcmeRev2');
    const subs = expectCall('channels', 200, channels);
    const r = await youtubeConnector.poll(ctx(source));
    for (const s of [search, channel, v1, v2, subs]) s.scope.done();

    expect(search.seen.query).toEqual({
      part: 'snippet',
      q: 'acme|"acme bank"|acmebank',
      type: 'video',
      order: 'date',
      publishedAfter: '2025-05-25T12:00:00.000Z',
      maxResults: '4',
    });
    expect(channel.seen.query).toEqual({ part: 'snippet', allThreadsRelatedToChannelId: BRAND_CHANNEL, maxResults: '100', order: 'time', textFormat: 'plainText' });
    expect(subs.seen.query).toEqual({ part: 'statistics', id: `${JAN},${HIDDEN},${PIET}`, maxResults: '50' });

    // The week-old comment is before the 24-hour first look-back.
    expect(r.mentions.map((m) => m.postId)).toEqual(['UgzQ3v1aB2cD3eF4gH54AaABAg', 'UgxR7k2LmN8oP9qR0s14AaABAg', 'UgyV1dE0C0mm3nT00000004AaABAg']);
    expect(r.mentions[0]).toEqual({
      platform: 'youtube',
      postId: 'UgzQ3v1aB2cD3eF4gH54AaABAg',
      url: 'https://www.youtube.com/watch?v=brandVid001&lc=UgzQ3v1aB2cD3eF4gH54AaABAg',
      brandId: 'acme',
      author: { id: JAN, handle: 'janvisser', name: '@janvisser', followers: 15300, verified: false },
      text: 'Al twee dagen kan ik niet inloggen in de app. Wanneer wordt dit opgelost?',
      createdAt: '2025-06-01T11:50:00.000Z',
      engagement: { likes: 12, reposts: 0, replies: 3, quotes: 0 },
      conversationId: 'brandVid001',
    });
    // hiddenSubscriberCount: the count is not public, so it counts as none.
    expect(r.mentions[1].author.followers).toBe(0);
    expect(r.mentions[2]).toMatchObject({ author: { id: PIET, followers: 4 }, engagement: { likes: 40, replies: 7 }, conversationId: 'vidAcmeDown' });
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBeUndefined();
    // The cartoon video matched YouTube's search but not the brand: not watched.
    expect(r.cursor).toEqual({
      day: '2025-06-01',
      units: 3 + 1,
      searches: 1,
      query: 'acme|"acme bank"|acmebank',
      searchedAt: NOW,
      videos: 'vidAcmeDown,vidAcmeRev2',
      unreadable: '',
      channelId: BRAND_CHANNEL,
      'channel.since': '2025-06-01T11:50:00.000Z',
      'channel.page': null,
      'channel.pending': null,
      'v:vidAcmeDown.since': '2025-06-01T10:30:00.000Z',
      'v:vidAcmeDown.page': null,
      'v:vidAcmeDown.pending': null,
      // Nothing new on this video yet: its watermark is the first look-back.
      'v:vidAcmeRev2.since': '2025-05-31T12:00:00.000Z',
      'v:vidAcmeRev2.page': null,
      'v:vidAcmeRev2.pending': null,
    });
  });

  it('next poll: no search until it is due, only comments after the watermark, subscribers from the cache', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, search: { maxVideos: 2 } });
    expectCall('search', 200, searchBody);
    expectCall('commentThreads', 200, threadsChannel, (q) => q.allThreadsRelatedToChannelId === BRAND_CHANNEL);
    expectCall('commentThreads', 200, threadsVideo, (q) => q.videoId === 'vidAcmeDown');
    expectCall('commentThreads', 200, threads([]), (q) => q.videoId === 'vidAcmeRev2');
    expectCall('channels', 200, channels);
    const first = await youtubeConnector.poll(ctx(source));

    const later = NOW + 15 * 60_000;
    const newer = clone(threadsChannel.items[0]);
    newer.id = newer.snippet.topLevelComment.id = 'UgzNewer00000000000004AaABAg';
    newer.snippet.topLevelComment.snippet.publishedAt = '2025-06-01T12:05:00Z';
    // The same page still holds the comment read last time: it is not handed on again.
    const channel = expectCall('commentThreads', 200, threads([newer, threadsChannel.items[0]]), (q) => q.allThreadsRelatedToChannelId === BRAND_CHANNEL);
    expectCall('commentThreads', 200, threadsVideo, (q) => q.videoId === 'vidAcmeDown');
    expectCall('commentThreads', 200, threads([]), (q) => q.videoId === 'vidAcmeRev2');
    const r = await youtubeConnector.poll(ctx(source, first.cursor, later));
    channel.scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual(['UgzNewer00000000000004AaABAg']);
    expect(r.mentions[0].author.followers).toBe(15300);
    expect(r.cursor).toMatchObject({ units: 4 + 3, searches: 1, searchedAt: NOW, 'channel.since': '2025-06-01T12:05:00.000Z' });
  });

  it('pages a busy feed on the next (immediate) poll, reading only that feed, and moves its watermark after the last page', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, search: { maxVideos: 1 } });
    const cursor: Cursor = {
      day: '2025-06-01',
      units: 500,
      searches: 3,
      query: 'acme|"acme bank"|acmebank',
      searchedAt: NOW - 60_000,
      videos: 'vidAcmeDown',
      unreadable: '',
      channelId: BRAND_CHANNEL,
      'channel.since': '2025-06-01T11:00:00.000Z',
      'channel.page': null,
      'channel.pending': null,
      'v:vidAcmeDown.since': '2025-06-01T10:00:00.000Z',
      'v:vidAcmeDown.page': null,
      'v:vidAcmeDown.pending': null,
    };
    const page1 = expectCall('commentThreads', 200, threads([threadsChannel.items[0]], 'QURTSl9pMkZ6'), (q) => q.allThreadsRelatedToChannelId === BRAND_CHANNEL && !q.pageToken);
    expectCall('commentThreads', 200, threadsVideo, (q) => q.videoId === 'vidAcmeDown');
    expectCall('channels', 200, channels);
    const r1 = await youtubeConnector.poll(ctx(source, cursor));
    page1.scope.done();
    expect(r1.hasMore).toBe(true);
    expect(r1.cursor).toMatchObject({ 'channel.since': '2025-06-01T11:00:00.000Z', 'channel.page': 'QURTSl9pMkZ6', 'channel.pending': '2025-06-01T11:50:00.000Z' });

    const older = clone(threadsChannel.items[0]);
    older.id = older.snippet.topLevelComment.id = 'UgzOlder00000000000004AaABAg';
    older.snippet.topLevelComment.snippet.publishedAt = '2025-06-01T11:20:00Z';
    const beyond = clone(threadsChannel.items[0]);
    beyond.snippet.topLevelComment.snippet.publishedAt = '2025-06-01T10:59:00Z';
    // Only the paging feed is read: the video has no interceptor and would fail the poll.
    const page2 = expectCall('commentThreads', 200, threads([older, beyond], 'Q0FFUUFB'), (q) => q.pageToken === 'QURTSl9pMkZ6');
    const r2 = await youtubeConnector.poll(ctx(source, r1.cursor, NOW + 1000));
    page2.scope.done();
    expect(r2.mentions.map((m) => m.postId)).toEqual(['UgzOlder00000000000004AaABAg']);
    // The page reached comments already read: the set is done even though YouTube offers another page.
    expect(r2.hasMore).toBe(false);
    expect(r2.cursor).toMatchObject({ 'channel.since': '2025-06-01T11:50:00.000Z', 'channel.page': null, 'channel.pending': null, 'v:vidAcmeDown.since': '2025-06-01T10:30:00.000Z' });
  });

  it('an empty page keeps the watermark', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL });
    const cursor = { day: '2025-06-01', units: 10, searches: 0, query: null, searchedAt: null, videos: '', unreadable: '', channelId: BRAND_CHANNEL, 'channel.since': '2025-06-01T11:00:00.000Z', 'channel.page': null, 'channel.pending': null };
    expectCall('commentThreads', 200, threads([]));
    const r = await youtubeConnector.poll(ctx(source, cursor));
    expect(r.mentions).toEqual([]);
    expect(r.cursor).toEqual({ ...cursor, units: 11 });
  });

  it('skips a comment it cannot read (no author channel, no text) and keeps the rest', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL });
    const noAuthor = clone(threadsChannel.items[0]) as { id: string; snippet: { topLevelComment: { id: string; snippet: Record<string, unknown> } } };
    noAuthor.id = noAuthor.snippet.topLevelComment.id = 'UgzNoAuthor0000000004AaABAg';
    delete noAuthor.snippet.topLevelComment.snippet.authorChannelId;
    const noText = clone(threadsChannel.items[1]) as typeof noAuthor;
    noText.id = noText.snippet.topLevelComment.id = 'UgzNoText000000000004AaABAg';
    noText.snippet.topLevelComment.snippet.textOriginal = '';
    noText.snippet.topLevelComment.snippet.textDisplay = '';
    expectCall('commentThreads', 200, threads([noAuthor, threadsChannel.items[0], noText, { kind: 'youtube#commentThread' }]));
    expectCall('channels', 200, channels);
    const r = await youtubeConnector.poll(ctx(source));
    expect(r.mentions.map((m) => m.postId)).toEqual(['UgzQ3v1aB2cD3eF4gH54AaABAg']);
    expect(r.skipped).toEqual([
      { postId: 'UgzNoAuthor0000000004AaABAg', reason: 'the comment has no author channel (deleted or closed account)' },
      { postId: 'UgzNoText000000000004AaABAg', reason: 'the comment has no text (deleted or held for review)' },
      { postId: '(items[3] without id)', reason: 'the thread has no topLevelComment with an id and snippet' },
    ]);
  });

  it.each([
    ['items that are not an array', { kind: 'youtube#commentThreadListResponse', items: 'none' }, /items is not an array/],
    ['a body that is not JSON', '<!DOCTYPE html><title>Error 502</title>', /not valid JSON/],
    ['an array body', [], /an array/],
  ])('maps %s to RW_ERR_PAYLOAD_MALFORMED', async (_what, body, message) => {
    expectCall('commentThreads', 200, body);
    const err = await pollError(ctx(makeSource({ channelId: BRAND_CHANNEL })));
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.message).toMatch(message);
  });

  it('stops watching a video whose comments are disabled, and reads the others', async () => {
    const source = makeSource({ search: { maxVideos: 2 } });
    expectCall('search', 200, searchBody);
    expectCall('commentThreads', 403, commentsDisabled, (q) => q.videoId === 'vidAcmeDown');
    expectCall('commentThreads', 200, threads([]), (q) => q.videoId === 'vidAcmeRev2');
    const r = await youtubeConnector.poll(ctx(source));
    expect(r.mentions).toEqual([]);
    expect(r.cursor).toMatchObject({ videos: 'vidAcmeRev2', unreadable: 'vidAcmeDown', units: 2, searches: 1 });
    expect(r.cursor).not.toHaveProperty('v:vidAcmeDown.since');
  });
});

describe('youtubeConnector.poll: quota', () => {
  it('403 quotaExceeded waits for the next Pacific midnight, keeps what was read and marks the day spent', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, search: { maxVideos: 1 } });
    const cursor: Cursor = {
      day: '2025-06-01', units: 40, searches: 1, query: 'acme|"acme bank"|acmebank', searchedAt: NOW - 60_000, videos: 'vidAcmeDown', unreadable: '', channelId: BRAND_CHANNEL,
      'channel.since': '2025-06-01T11:00:00.000Z', 'channel.page': null, 'channel.pending': null,
      'v:vidAcmeDown.since': '2025-06-01T10:00:00.000Z', 'v:vidAcmeDown.page': null, 'v:vidAcmeDown.pending': null,
    };
    expectCall('commentThreads', 200, threadsChannel, (q) => q.allThreadsRelatedToChannelId === BRAND_CHANNEL);
    expectCall('commentThreads', 403, quotaExceeded, (q) => q.videoId === 'vidAcmeDown');
    const r = await youtubeConnector.poll(ctx(source, cursor));
    // Subscriber look-ups are not attempted after the quota ran out: followers 0 this time.
    expect(r.mentions.map((m) => [m.postId, m.author.followers])).toEqual([['UgzQ3v1aB2cD3eF4gH54AaABAg', 0]]);
    expect(r.resumeAt).toBe(RESET);
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toMatchObject({ units: 10_000, 'channel.since': '2025-06-01T11:50:00.000Z', 'v:vidAcmeDown.since': '2025-06-01T10:00:00.000Z' });
  });

  it('makes no call the day\'s budget cannot pay for, and waits for the reset', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, dailyQuotaUnits: 500 });
    const cursor = { day: '2025-06-01', units: 500, searches: 0, query: null, searchedAt: null, videos: '', unreadable: '', channelId: BRAND_CHANNEL, 'channel.since': '2025-06-01T11:00:00.000Z', 'channel.page': null, 'channel.pending': null };
    // No interceptor: any request would fail the poll.
    const r = await youtubeConnector.poll(ctx(source, cursor));
    expect(r).toEqual({ mentions: [], cursor, hasMore: false, resumeAt: RESET });
  });

  it('a new Pacific day starts with the full budget', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL, dailyQuotaUnits: 500 });
    const cursor = { day: '2025-05-31', units: 500, searches: 0, query: null, searchedAt: null, videos: '', unreadable: '', channelId: BRAND_CHANNEL, 'channel.since': '2025-06-01T11:00:00.000Z', 'channel.page': null, 'channel.pending': null };
    expectCall('commentThreads', 200, threads([]));
    const r = await youtubeConnector.poll(ctx(source, cursor));
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toMatchObject({ day: '2025-06-01', units: 1 });
  });

  it('puts a due search off when the day\'s 100 search.list calls are used, and still reads comments', async () => {
    const source = makeSource({ search: { maxVideos: 1 } });
    const cursor: Cursor = {
      day: '2025-06-01', units: 950, searches: 100, query: 'acme|"acme bank"|acmebank', searchedAt: NOW - 2 * 3_600_000, videos: 'vidAcmeDown', unreadable: '', channelId: null,
      'v:vidAcmeDown.since': '2025-06-01T10:00:00.000Z', 'v:vidAcmeDown.page': null, 'v:vidAcmeDown.pending': null,
    };
    // No search interceptor: a search call would fail the poll.
    expectCall('commentThreads', 200, threadsVideo, (q) => q.videoId === 'vidAcmeDown');
    expectCall('channels', 200, channels);
    const r = await youtubeConnector.poll(ctx(source, cursor));
    expect(r.mentions).toHaveLength(1);
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toMatchObject({ units: 952, searches: 100, searchedAt: NOW - 2 * 3_600_000, videos: 'vidAcmeDown' });
  });

  it('a quotaExceeded from search.list spends only the search bucket: the watched videos are still read', async () => {
    const source = makeSource({ search: { maxVideos: 1 } });
    const cursor: Cursor = {
      day: '2025-06-01', units: 300, searches: 7, query: 'acme|"acme bank"|acmebank', searchedAt: NOW - 2 * 3_600_000, videos: 'vidAcmeDown', unreadable: '', channelId: null,
      'v:vidAcmeDown.since': '2025-06-01T10:00:00.000Z', 'v:vidAcmeDown.page': null, 'v:vidAcmeDown.pending': null,
    };
    expectCall('search', 403, quotaExceeded);
    expectCall('commentThreads', 200, threadsVideo, (q) => q.videoId === 'vidAcmeDown');
    expectCall('channels', 200, channels);
    const r = await youtubeConnector.poll(ctx(source, cursor));
    expect(r.mentions).toHaveLength(1);
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toMatchObject({ units: 302, searches: 100, videos: 'vidAcmeDown', searchedAt: NOW - 2 * 3_600_000 });
  });

  it('a 429 waits its Retry-After and is not a failure', async () => {
    const source = makeSource({ channelId: BRAND_CHANNEL });
    nock(API).get('/youtube/v3/commentThreads').query(true).reply(429, { error: { code: 429, message: 'Too many requests', errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits', message: 'Too many requests' }] } }, { 'retry-after': '30' });
    const r = await youtubeConnector.poll(ctx(source));
    expect(r.resumeAt).toBe(NOW + 30_000);
    expect(r.mentions).toEqual([]);
  });
});

describe('youtubeConnector.poll: errors', () => {
  it.each([
    ['the current format (API_KEY_INVALID)', keyInvalid],
    ['the legacy format (keyInvalid)', keyInvalidLegacy],
  ])('an invalid key, %s, is RW_ERR_PLATFORM_REJECTED without the key', async (_what, body) => {
    expectCall('commentThreads', 400, body);
    const err = await pollError(ctx(makeSource({ channelId: BRAND_CHANNEL })));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/API key as not valid/);
    expect(err.message).not.toContain(KEY);
    expect(JSON.stringify(err.details)).not.toContain(KEY);
    expect(String(err.stack)).not.toContain(KEY);
  });

  it('403 forbidden (the key may not call the API) is RW_ERR_PLATFORM_REJECTED', async () => {
    expectCall('commentThreads', 403, forbidden);
    const err = await pollError(ctx(makeSource({ channelId: BRAND_CHANNEL })));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.details).toMatchObject({ status: 403, reasons: ['forbidden', 'API_KEY_SERVICE_BLOCKED'] });
  });

  it('maps 503 and network failures to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    expectCall('commentThreads', 503, { error: { code: 503, message: 'The service is currently unavailable.', errors: [{ reason: 'backendError', domain: 'global', message: 'The service is currently unavailable.' }] } });
    expect((await pollError(ctx(makeSource({ channelId: BRAND_CHANNEL })))).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    nock(API).get('/youtube/v3/commentThreads').query(true).replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const err = await pollError(ctx(makeSource({ channelId: BRAND_CHANNEL })));
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.message).not.toContain(KEY);
  });

  it('goes to baseUrl when overridden', async () => {
    const scope = nock('http://127.0.0.1:9921').get('/youtube/v3/commentThreads').query(true).reply(200, threads([]));
    await youtubeConnector.poll(ctx(makeSource({ channelId: BRAND_CHANNEL, baseUrl: 'http://127.0.0.1:9921' })));
    scope.done();
  });
});
