import nock from 'nock';
import { Redis } from 'ioredis';
import { pollSource, type PollDeps } from '../../src/services/poll';
import type { Dispatch, IngestPage } from '../../src/services/ports';
import { DeadLetters } from '../../src/store/dead-letters';
import { SourceState } from '../../src/store/source-state';
import { Store } from '../../src/store/store';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { zeezichtPost } from '../fixtures/mention';
import { MONGODB_URI, REDIS_URL, captureLogger, discardApp, makeConfig, uniqueName, waitFor } from '../helpers';

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

describe('partial platform errors and cursors that outlive Redis (real Redis and the MongoDB-compatible server)', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('pollcp')}}`;
  let store: Store;
  const pages: { page: IngestPage; key: string }[] = [];
  const dispatch: Dispatch = {
    ingest: async (p, key) => void pages.push({ page: p, key }),
    pollAgain: async () => undefined,
    deliver: async () => undefined,
    slaTimer: async () => undefined,
    recheck: async () => undefined,
    ingestBacklog: async () => 0,
  };
  const { config, secrets } = makeConfig(
    { brands: { brands: [{ id: 'voltabank', name: 'Volta Bank', keywords: ['Volta Bank'], sources: [{ id: 'x', platform: 'x', bearerTokenEnv: 'X_BEARER_TOKEN' }] }] } },
    { X_BEARER_TOKEN: 'test-bearer-token-value' },
  );
  let deps: PollDeps;

  beforeAll(async () => {
    // The suite above restores nock's HTTP hooks when it ends.
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('pollcp') });
    deps = { config, secrets, maxIngestBacklog: 4, sourceState: new SourceState(redis, prefix, store), deadLetters: new DeadLetters(store), dispatch, now: () => 1_800_000_000_000, logger: captureLogger().logger };
  });
  afterEach(() => nock.cleanAll());
  afterAll(async () => {
    nock.enableNetConnect();
    nock.restore();
    await store.conn.dropDatabase().catch(() => undefined);
    await store.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('stores the good posts of a page with a missing author, keeps the bad one with its reason, and moves the cursor on', async () => {
    const body = page(['2002', '2001']);
    body.data.unshift({ ...body.data[0], id: '2003', author_id: '77' });
    const withErrors = {
      ...body,
      meta: { ...body.meta, newest_id: '2003' },
      errors: [{ value: '77', detail: 'Could not find user with author_id: [77].', title: 'Not Found Error', resource_type: 'user', parameter: 'author_id', resource_id: '77', type: 'https://api.twitter.com/2/problems/resource-not-found' }],
    };
    nock('https://api.x.com').get('/2/tweets/search/recent').query(true).reply(200, withErrors);
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 2, skipped: 1 });
    expect(pages.at(-1)!.page.mentions.map((m) => m.postId)).toEqual(['2002', '2001']);
    expect((await deps.sourceState.get('voltabank', 'x')).cursor).toMatchObject({ sinceId: '2003' });
    const skipped = await new DeadLetters(store).list({ status: 'skipped' });
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ brandId: 'voltabank', sourceId: 'x', reason: expect.stringContaining('Not Found Error'), data: { postKey: 'x-2003' } });
    expect((await deps.sourceState.checkpoint('voltabank', 'x'))?.skipped).toBe(1);

    // The next poll starts after the page: the source is not stuck on the bad post.
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.since_id === '2003').reply(200, page(['2004']));
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 1 });
  });

  it('after Redis loses the state, polling resumes before the oldest page not yet judged, not from zero', async () => {
    const state = deps.sourceState;
    const key = `${prefix}:source:voltabank:x`;
    // The pages so far are judged; the next one (2005) is handed on and not judged yet.
    for (const p of pages) await state.pageDone('voltabank', 'x', p.key);
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.since_id === '2004').reply(200, page(['2005']));
    await pollSource(deps, 'voltabank', 'x');
    const inFlight = pages.at(-1)!;
    expect((await state.get('voltabank', 'x')).cursor).toMatchObject({ sinceId: '2005' });
    expect(Object.keys((await state.checkpoint('voltabank', 'x'))!.pending)).toEqual([inFlight.key]);

    await redis.del(key); // Redis restarted empty: the page's ingest job is gone with it.
    const restored = await state.get('voltabank', 'x');
    expect(restored.cursor).toMatchObject({ sinceId: '2004' });
    expect(await redis.hget(key, 'cursor')).toContain('2004');
    // The page is fetched again under the same key (ingest absorbs the repeat).
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.since_id === '2004').reply(200, page(['2005']));
    await pollSource(deps, 'voltabank', 'x');
    expect(pages.at(-1)!.key).toBe(inFlight.key);
    expect(pages.at(-1)!.page.mentions.map((m) => m.postId)).toEqual(['2005']);

    // A judged page leaves the checkpoint with the source's next checkpoint write (no write of its
    // own): an idle poll after it writes one, and a loss then resumes after the last page.
    await state.pageDone('voltabank', 'x', inFlight.key);
    expect(Object.keys((await state.checkpoint('voltabank', 'x'))!.pending)).toEqual([inFlight.key]);
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.since_id === '2005').reply(200, { meta: { result_count: 0 } });
    expect(await pollSource(deps, 'voltabank', 'x')).toMatchObject({ status: 'polled', mentions: 0 });
    expect((await state.checkpoint('voltabank', 'x'))!.pending).toEqual({});
    // An idle poll with nothing judged since writes no checkpoint at all.
    const written = (await state.checkpoint('voltabank', 'x'))!.updatedAt;
    nock('https://api.x.com').get('/2/tweets/search/recent').query((q) => q.since_id === '2005').reply(200, { meta: { result_count: 0 } });
    await pollSource(deps, 'voltabank', 'x');
    expect((await state.checkpoint('voltabank', 'x'))!.updatedAt).toBe(written);
    await redis.del(key);
    expect((await state.get('voltabank', 'x')).cursor).toMatchObject({ sinceId: '2005' });
  });
});

describe('a page fetched again from the same cursor (real queues, Redis and the MongoDB-compatible server)', () => {
  const prefix = `{${uniqueName('refetch')}}`;
  const dbName = uniqueName('refetch');
  const posts = Array.from({ length: 4 }, (_, i) => zeezichtPost(1_893_000_000_000_000_000n, i + 1, `Hotel Zeezicht bericht ${i + 1}`, 100));
  let app: Repwatch | undefined;

  afterAll(async () => {
    await discardApp(app, prefix);
  });

  it('with more posts than the first time (the poll died before moving the cursor): the posts the first fetch did not carry are stored too', async () => {
    // Posts a minute apart replayed at real speed: a page is what has "appeared" by the poll's time.
    const loaded = makeConfig(
      {
        brands: { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'feed', platform: 'replay', file: 'posts.jsonl', speed: 1, pageSize: 10 }] }] },
        extra: { 'posts.jsonl': posts.map((p) => JSON.stringify(p)).join('\n') + '\n' },
      },
      {},
    );
    const startedAt = 1_800_000_000_000;
    let clock = startedAt + 30_000; // post 1 only
    app = await startRepwatch({ ...loaded, logger: captureLogger().logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix, roles: ['poll', 'ingest'], now: () => clock });
    const sourceState = new SourceState(app.redis, prefix, app.store);
    await sourceState.save('hotel-zeezicht', 'feed', { cursor: { offset: 0, startedAt }, resumeAt: 0 });
    const stored = () => app!.store.models.Mention.countDocuments({});

    // The first poll hands its page on and dies before it moves the cursor; its page is judged at once.
    const save = SourceState.prototype.save;
    let died = false;
    const spy = jest.spyOn(SourceState.prototype, 'save').mockImplementation(async function (this: SourceState, ...args) {
      if (!died) {
        died = true;
        await waitFor('the first page judged', async () => (await stored()) === 1);
        clock = startedAt + 200_000; // by the retry, posts 1-4 have appeared
        throw new Error('poll process died here');
      }
      return save.apply(this, args);
    });
    try {
      await app.queues.poll.add('poll', { brandId: 'hotel-zeezicht', sourceId: 'feed' }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
      // The retry fetches from the same cursor and finds four posts: none may be lost to the first page's finished job.
      await waitFor('all four posts stored', async () => (await stored()) === 4, 15_000);
    } finally {
      spy.mockRestore();
    }
    expect((await sourceState.get('hotel-zeezicht', 'feed')).cursor).toMatchObject({ offset: 4 });
  });
});
