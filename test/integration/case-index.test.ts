import { Redis } from 'ioredis';
import { addPost, caseKeysOfPost, caseReach, resolveCase, type CasePost } from '../../src/domain/cases';
import { caseIdsReachedBy, saveCases } from '../../src/services/cases';
import { CaseIndex } from '../../src/store/case-index';
import { Store } from '../../src/store/store';
import { MONGODB_URI, REDIS_URL, makeConfig, uniqueName } from '../helpers';

const H = 3_600_000;
const T0 = Date.parse('2026-03-10T08:00:00Z');
const post = (over: Partial<CasePost> = {}): CasePost => ({
  platform: 'x',
  postId: '1',
  authorId: 'a1',
  handle: 'jan_jansen',
  at: T0,
  sentiment: 'negative',
  score: -0.8,
  alertId: 'alert-1',
  ...over,
});

describe('caseReach: the keys and time a case takes posts by', () => {
  const settings = { windowMs: 48 * H, recoveryWindowMs: 7 * 24 * H };
  it('an open case: its authors and conversations until its window ends', () => {
    const c = addPost(undefined, 'b', post({ conversationId: 'conv-9' }), settings);
    expect(caseReach(c, settings)).toEqual({ keys: ['author:janjansen', 'conversation:x/conv-9'], until: T0 + 48 * H });
  });
  it('a resolved case watched for recovery: until the recovery window ends', () => {
    const c = resolveCase(addPost(undefined, 'b', post(), settings), 'anna', T0 + H, settings);
    expect(caseReach(c, settings).until).toBe(T0 + H + 7 * 24 * H);
  });
  it('a case whose recovery is decided takes nothing', () => {
    const c = resolveCase(addPost(undefined, 'b', post(), settings), 'anna', T0 + H, settings);
    expect(caseReach({ ...c, recovery: { state: 'recovered', until: c.recovery!.until } }, settings).until).toBeUndefined();
  });
  it('a post is found by the keys its case is indexed under (author as normalised, and conversation or its own id)', () => {
    expect(caseKeysOfPost(post({ conversationId: 'conv-9' }))).toEqual(['author:janjansen', 'conversation:x/conv-9']);
    expect(caseKeysOfPost(post({ postId: '77' }))).toEqual(['author:janjansen', 'conversation:x/77']);
  });
});

describe('CaseIndex (real Redis)', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('cix')}}`;
  const index = new CaseIndex(redis, prefix);
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('says when a brand has no index yet, so the caller builds it', async () => {
    expect(await index.lookup('unbuilt', ['author:x'], T0)).toBeUndefined();
  });

  it('finds cases by author or conversation, only while they take posts', async () => {
    await index.rebuild('b1', [
      { caseId: 'c1', keys: ['author:jan', 'conversation:x/1'], until: T0 + H },
      { caseId: 'c2', keys: ['author:piet'], until: T0 + 10 * H },
    ], T0);
    expect(await index.lookup('b1', ['author:jan'], T0)).toEqual(['c1']);
    expect(await index.lookup('b1', ['conversation:x/1', 'author:piet'], T0).then((ids) => ids?.sort())).toEqual(['c1', 'c2']);
    expect(await index.lookup('b1', ['author:nobody'], T0)).toEqual([]);
    // After c1's window: only c2 is reached.
    expect(await index.lookup('b1', ['author:jan', 'author:piet'], T0 + 2 * H)).toEqual(['c2']);
  });

  it('keeps two cases under one key, drops a case that takes nothing, and prunes expired keys', async () => {
    await index.rebuild('b2', [{ caseId: 'old', keys: ['author:jan'], until: T0 + H }], T0);
    await index.record('b2', [{ caseId: 'new', keys: ['author:jan'], until: T0 + 5 * H }], T0);
    expect((await index.lookup('b2', ['author:jan'], T0))?.sort()).toEqual(['new', 'old']);
    await index.record('b2', [{ caseId: 'new', keys: ['author:jan'] }], T0);
    expect(await index.lookup('b2', ['author:jan'], T0)).toEqual(['old']);
    await index.record('b2', [{ caseId: 'other', keys: ['author:sanne'], until: T0 + 9 * H }], T0 + 2 * H);
    expect(await redis.hkeys(`${prefix}:case-index:b2`)).toEqual(['author:sanne']);
    expect(await redis.zrange(`${prefix}:case-index:b2:expiry`, 0, -1)).toEqual(['author:sanne']);
  });
});

describe('caseIdsReachedBy: the index is derived from the stored cases', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('cix')}}`;
  let store: Store;
  const { config } = makeConfig({ brands: { brands: [{ id: 'snelpost', name: 'SnelPost', keywords: ['snelpost'], sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] }] }, extra: { 'p.jsonl': '' } }, {});
  const brand = config.brands[0];
  beforeAll(async () => {
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('cix') });
  });
  afterAll(async () => {
    await store.conn.dropDatabase();
    await store.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('reads only the cases the keys reach, and rebuilds a lost index from the store', async () => {
    const deps = { store, caseIndex: new CaseIndex(redis, prefix) };
    const settings = { windowMs: brand.effectivePolicy.caseWindow, recoveryWindowMs: brand.effectivePolicy.recoveryWindow };
    const jan = addPost(undefined, brand.id, post(), settings);
    const piet = addPost(undefined, brand.id, post({ handle: 'piet_p', postId: '2', alertId: 'alert-2' }), settings);
    await saveCases(deps, brand, [jan, piet], T0);
    // The first lookup finds no index (saveCases wrote entries, not the completeness marker): built from the store.
    expect(await caseIdsReachedBy(deps, brand, ['author:janjansen'], T0 + H)).toEqual([jan.id]);
    expect(await redis.get(`${prefix}:case-index:${brand.id}:ready`)).toBe('1');
    // Redis loses everything: the next page still finds Piet's case.
    await redis.del(...(await redis.keys(`${prefix}*`)));
    expect(await caseIdsReachedBy(deps, brand, ['author:pietp', 'author:someoneelse'], T0 + H)).toEqual([piet.id]);
    expect([...(await store.getCases([piet.id])).values()]).toEqual([piet]);
  });
});
