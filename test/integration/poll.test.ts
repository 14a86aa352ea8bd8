import nock from 'nock';
import { Redis } from 'ioredis';
import { pollSource, type PollDeps } from '../../src/services/poll';
import type { Dispatch, IngestPage } from '../../src/services/ports';
import { SourceState } from '../../src/store/source-state';
import { REDIS_URL, captureLogger, makeConfig, uniqueName } from '../helpers';

const RESET = 1_900_000_000; // x-rate-limit-reset, unix seconds

function page(ids: string[], nextToken?: string) {
  return {
    data: ids.map((id) => ({ id, text: `Volta Bank app down again ${id}`, author_id: '42', created_at: '2026-03-10T10:00:00.000Z', lang: 'en', public_metrics: { like_count: 0, retweet_count: 0, reply_count: 0, quote_count: 0 } })),
    includes: { users: [{ id: '42', username: 'sanne', name: 'Sanne', public_metrics: { followers_count: 1200 }, verified: false }] },
    meta: { newest_id: ids[0], oldest_id: ids[ids.length - 1], result_count: ids.length, ...(nextToken ? { next_token: nextToken } : {}) },
  };
}

describe('polling X through the poll service, state in real Redis', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('poll')}}`;
  const pages: IngestPage[] = [];
  const again: string[] = [];
  let backlog = 0;
  const dispatch: Dispatch = {
    ingest: async (p) => void pages.push(p),
    pollAgain: async (_b, _s, key) => void again.push(key),
    deliver: async () => undefined,
    slaTimer: async () => undefined,
    recheck: async () => undefined,
    ingestBacklog: async () => backlog,
  };
  let clock = RESET * 1000 - 60_000;
  const { config, secrets } = makeConfig(
    { brands: { brands: [{ id: 'voltabank', name: 'Volta Bank', keywords: ['Volta Bank'], sources: [{ id: 'x', platform: 'x', bearerTokenEnv: 'X_BEARER_TOKEN' }] }] } },
    { X_BEARER_TOKEN: 'test-bearer-token-value' },
  );
  const deps: PollDeps = { config, secrets, maxIngestBacklog: 4, sourceState: new SourceState(redis, prefix), dispatch, now: () => clock, logger: captureLogger().logger };

  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(async () => {
    nock.enableNetConnect();
    nock.restore();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('pages on at once, keeps since_id in Redis, waits out a 429 without calling X, then resumes', async () => {
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => !q.since_id && !q.next_token).reply(200, page(['1002', '1001'], 'tok2'));
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 2, hasMore: true });
    expect(again).toHaveLength(1);

    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.next_token === 'tok2').reply(200, page(['1000']));
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 1, hasMore: false });
    expect((await deps.sourceState.get('voltabank', 'x')).cursor).toMatchObject({ sinceId: '1002' });

    nock('https://api.x.com')
      .get('/2/tweets/search/recent')
      .query((q) => q.since_id === '1002')
      .reply(429, { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 }, { 'x-rate-limit-limit': '450', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(RESET) });
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 0, resumeAt: RESET * 1000 });

    // Until the reset, polls return at once: no request reaches X (nock would refuse it).
    clock = RESET * 1000 - 1_000;
    expect(await pollSource(deps, 'voltabank', 'x')).toEqual({ status: 'waiting', resumeAt: RESET * 1000 });
    expect(nock.pendingMocks()).toEqual([]);

    clock = RESET * 1000 + 1_000;
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.since_id === '1002').reply(200, page(['1003']));
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 1 });
    expect(pages.map((p) => p.mentions.map((m) => m.postId))).toEqual([['1002', '1001'], ['1000'], ['1003']]);
  });

  it('holds back while ingest has a backlog, without calling the platform', async () => {
    backlog = 10;
    expect(await pollSource(deps, 'voltabank', 'x')).toEqual({ status: 'backlogged', backlog: 10 });
    backlog = 0;
  });
});
