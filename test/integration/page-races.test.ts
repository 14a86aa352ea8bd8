import { Redis } from 'ioredis';
import { isRepwatchError } from '../../src/domain/errors';
import type { Mention } from '../../src/domain/mention';
import type { EvaluateDeps } from '../../src/services/evaluate';
import { ingestPage } from '../../src/services/ingest';
import type { IngestPage } from '../../src/services/ports';
import { CaseIndex } from '../../src/store/case-index';
import { Locks } from '../../src/store/lock';
import { PageOverlaps } from '../../src/store/page-overlaps';
import { Store } from '../../src/store/store';
import { influencerPost } from '../fixtures/mention';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName } from '../helpers';

const BRAND = { id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl' }] };
const START = Date.parse('2026-03-10T09:00:00Z');

const post = influencerPost;
const COMPLAINT = 'Wat een teleurstelling bij Hotel Zeezicht: de kamer was vies en veel kleiner dan op de foto. Nooit meer!';

/** The ingest path's dependencies on a database and Redis prefix of their own: each race starts from nothing. */
function racing(name: string) {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName(name)}}`;
  const ready = Store.connect({ uri: MONGODB_URI(), dbName: uniqueName(name) }).then((store) => {
    const { config } = makeConfig({ brands: { brands: [BRAND] }, extra: { 'posts.jsonl': '' } }, {});
    const dispatch = { ingest: async () => undefined, pollAgain: async () => undefined, deliver: async () => undefined, slaTimer: async () => undefined, recheck: async () => undefined, ingestBacklog: async () => 0 };
    const deps: EvaluateDeps = { config, store, dispatch, locks: new Locks(redis, prefix), caseIndex: new CaseIndex(redis, prefix), pageOverlaps: new PageOverlaps(redis, prefix), now: () => START + 60_000, logger: captureLogger().logger };
    return { store, deps };
  });
  return {
    redis,
    prefix,
    ready,
    async close() {
      const { store } = await ready;
      await store.conn.dropDatabase();
      await store.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
}

const page = (m: Mention, sourceId = 'r'): IngestPage => ({ brandId: BRAND.id, sourceId, polledAt: START + 60_000, mentions: [m] });

/**
 * Redis restarted empty while a page held its brand's lock: the lock is gone, another page takes it
 * and changes the same alert. The first page must not then write what it decided from its stale
 * read (the alert's version written twice, a post's count lost): it fails, and its retry starts over.
 */
describe('a page whose brand lock was lost while it ran (real Redis and the MongoDB-compatible server)', () => {
  const race = racing('locklost');
  afterAll(() => race.close());

  it('writes nothing and fails with RW_ERR_LOCK_LOST; its retry counts its post on top of the other page', async () => {
    const { store, deps } = await race.ready;
    const { redis, prefix } = race;
    const first = page(post('2001', COMPLAINT, START));
    const second = page(post('2002', 'Hotel Zeezicht reageert nog steeds niet op mijn klacht over de vieze kamer. Schandalig!', START + 30_000));

    // The first page has read its state when Redis restarts; the second page runs in full meanwhile.
    const readPageState = Store.prototype.readPageState;
    let interrupted = false;
    const spy = jest.spyOn(Store.prototype, 'readPageState').mockImplementation(async function (this: Store, ...args) {
      const read = await readPageState.apply(this, args);
      if (!interrupted) {
        interrupted = true;
        await redis.del(`${prefix}:lock:brand:${BRAND.id}`);
        await ingestPage(deps, second);
      }
      return read;
    });
    let failure: unknown;
    try {
      await ingestPage(deps, first).catch((err) => (failure = err));
    } finally {
      spy.mockRestore();
    }
    expect(isRepwatchError(failure) && failure.code).toBe('RW_ERR_LOCK_LOST');
    expect(isRepwatchError(failure) && failure.retryable).toBe(true);
    const [alert] = await store.listAlerts({ brandId: BRAND.id });
    expect(alert).toMatchObject({ count: 1, version: 1 });

    // The queue retries the page: it reads the alert as the second page left it.
    await ingestPage(deps, first);
    const alerts = await store.listAlerts({ brandId: BRAND.id });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ count: 2, version: 2 });
    const events = (await store.eventsAfter(0, 100)).filter((e) => e.alertId === alerts[0].id);
    expect(events.map((e) => [e.type, e.alert.version])).toEqual([['alert.triggered', 1], ['alert.updated', 2]]);
  });
});

/**
 * Two pages carry the same post at once (two sources, or a page and its own duplicate): the first
 * stores it, the second finds it stored and takes the brand's lock first. The first then must not
 * count it again, though it stored the post itself.
 */
describe('two pages carrying one post at once (real Redis and the MongoDB-compatible server)', () => {
  const race = racing('overlap');
  afterAll(() => race.close());

  it('counts the post once in its alert and its case, whichever page evaluates it first', async () => {
    const { store, deps } = await race.ready;
    const complaint = post('3001', COMPLAINT, START);
    // The first page has stored the post when the second page stores (finds it), judges and writes it in full.
    const storeMentions = Store.prototype.storeMentions;
    let first = true;
    const spy = jest.spyOn(Store.prototype, 'storeMentions').mockImplementation(async function (this: Store, ...args) {
      const stored = await storeMentions.apply(this, args);
      if (first) {
        first = false;
        await ingestPage(deps, page(complaint, 'other'));
      }
      return stored;
    });
    try {
      await ingestPage(deps, page(complaint));
    } finally {
      spy.mockRestore();
    }
    const alerts = await store.listAlerts({ brandId: BRAND.id });
    expect(alerts).toHaveLength(1);
    expect(alerts[0].count).toBe(1);
    const cases = [...(await store.getCases([alerts[0].caseId!])).values()];
    expect(cases.map((c) => c.posts)).toEqual([1]);
  });
});
