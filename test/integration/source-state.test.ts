import { Redis } from 'ioredis';
import { SourceState } from '../../src/store/source-state';
import { Store } from '../../src/store/store';
import { MONGODB_URI, REDIS_URL, uniqueName } from '../helpers';

describe("a source's state across a Redis that restarts empty", () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('srcstate')}}`;
  let store: Store;
  let state: SourceState;

  beforeAll(async () => {
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('srcstate') });
    state = new SourceState(redis, prefix, store);
  });
  afterAll(async () => {
    await emptyRedis();
    await redis.quit();
    await store.conn.dropDatabase().catch(() => undefined);
    await store.close();
  });

  /** What a restart without persistence leaves of this test's keys: nothing. */
  async function emptyRedis(): Promise<void> {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  }

  it('keeps the cursor within one life of Redis', async () => {
    const read = await state.get('acme', 'feed');
    expect(read.cursor).toBeNull();
    await state.pageInFlight('acme', 'feed', { key: 'p1', cursor: null, at: 1 }, { cursor: { offset: 10 }, resumeAt: 0, hasMore: true });
    await state.save('acme', 'feed', { cursor: { offset: 10 }, resumeAt: 0, hasMore: true }, 1, { unchangedFrom: read, checkpointed: true });
    await state.pageDone('acme', 'feed', 'p1');
    expect((await state.get('acme', 'feed')).cursor).toEqual({ offset: 10 });
  });

  it('does not trust a save from before the restart that reached the new Redis: polling resumes before the page in flight', async () => {
    // A poll read the state, handed a page on (its job in the old Redis) ...
    const read = await state.get('acme', 'feed');
    await state.pageInFlight('acme', 'feed', { key: 'p2', cursor: read.cursor, at: 2 }, { cursor: { offset: 20 }, resumeAt: 0, hasMore: false });
    // ... Redis restarted empty (the job is gone), and the poll's save, replayed by its client, reached the new one.
    await emptyRedis();
    await state.save('acme', 'feed', { cursor: { offset: 20 }, resumeAt: 0, hasMore: false }, 2, { unchangedFrom: read, checkpointed: true });

    const after = await state.get('acme', 'feed');
    expect(after).toMatchObject({ cursor: { offset: 10 }, hasMore: true });
    // Resumed once: the state is of this life now.
    await state.save('acme', 'feed', { cursor: { offset: 20 }, resumeAt: 0, hasMore: false }, 3, { unchangedFrom: after, checkpointed: true });
    expect((await state.get('acme', 'feed')).cursor).toEqual({ offset: 20 });
  });
});
