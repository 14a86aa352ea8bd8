import { Redis } from 'ioredis';
import type { AlertEvent } from '../../src/domain/alert';
import { redisOutboxIndex } from '../../src/store/outbox-index';
import { OUTBOX_MARKER, Store, isUndelivered, withEventId } from '../../src/store/store';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, endRedisAndStore, uniqueName } from '../helpers';

/** A trigger of its own alert, appended as a page appends it (marked undelivered). */
async function append(store: Store, name: string, at = new Date().toISOString()): Promise<AlertEvent> {
  const base = fixtureEvent().alert;
  const id = `hotel-zeezicht/x/${name}`;
  const [event] = (await store.appendEvents([withEventId({ type: 'alert.triggered', alert: { ...base, id, fingerprint: id }, at })])).events;
  return event;
}

/** The raw marker of an event as stored (undefined when cleared). */
async function markerOf(store: Store, id: string): Promise<unknown> {
  const doc = await store.models.AlertEvent.collection.findOne({ _id: id } as any);
  return (doc as any)?.[OUTBOX_MARKER];
}

describe('the outbox index in Redis: which events wait to be handed on, without reading the stream', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('oindex')}}`;
  const index = redisOutboxIndex(redis, prefix);
  let store: Store;

  beforeAll(async () => {
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('oindex'), outboxIndex: index });
  });
  afterAll(() => endRedisAndStore(redis, prefix, store));

  /** Counts the reads of the alert stream while `fn` runs. */
  async function streamReads<T>(fn: () => Promise<T>): Promise<{ result: T; reads: number }> {
    const coll = store.models.AlertEvent.collection;
    const original = coll.find;
    let reads = 0;
    (coll as any).find = function (...args: unknown[]) {
      reads++;
      return (original as any).apply(coll, args);
    };
    try {
      return { result: await fn(), reads };
    } finally {
      (coll as any).find = original;
    }
  }

  it('answers from Redis once complete, clears the markers in batches, and falls back on them when Redis lost it', async () => {
    // A new Redis: nothing may be appended until the index is whole.
    expect(await index.complete()).toBe(false);
    await expect(append(store, 'early')).rejects.toMatchObject({ code: 'RW_ERR_STORE_UNAVAILABLE' });
    expect(await store.rebuildOutboxIndex()).toBe(0);
    expect(await index.complete()).toBe(true);
    const early = await append(store, 'early');

    const a = await append(store, 'a');
    const b = await append(store, 'b');
    // Waiting, as the index says; one read of the two events it names.
    const found = await streamReads(() => store.waitingAmong([a.id, b.id, 'hotel-zeezicht/x/none/v1/triggered']));
    expect(found.result.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(found.reads).toBe(1);

    await store.markHandedOn([early, a, b]);
    // Handed on: the index says so at once, without reading the stream ...
    const none = await streamReads(() => store.waitingAmong([a.id, b.id]));
    expect(none).toEqual({ result: [], reads: 0 });
    expect(await store.undeliveredEvents(Date.now())).toEqual([]);
    // ... while the markers wait for their batch, then go.
    expect(await markerOf(store, a.id)).toEqual(expect.any(Number));
    await store.flushMarkerClears();
    expect(await markerOf(store, a.id)).toBeUndefined();
    expect((await store.storedEvents([early.id, a.id, b.id])).filter(isUndelivered)).toEqual([]);

    // Redis lost the index: nothing is taken for handed on that is still marked (the markers are read).
    const c = await append(store, 'c');
    await redis.del(`${prefix}:outbox-waiting`, `${prefix}:outbox-waiting-complete`);
    const fallback = await streamReads(() => store.waitingAmong([a.id, c.id]));
    expect(fallback.result.map((e) => e.id)).toEqual([c.id]);
    expect(fallback.reads).toBe(1);
    expect((await store.undeliveredEvents(Date.now())).map((e) => e.id)).toEqual([c.id]);
    await store.rebuildOutboxIndex();
    expect([...((await index.due(Date.now(), 10)) ?? new Map()).keys()]).toEqual([c.id]);
    await store.markHandedOn([c]);
  });

  it('never lets a batched clear undo a re-plan after Redis lost the delivery jobs', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const d = await append(store, 'd');
    // Handed on: its marker waits for its batch when Redis comes back empty and the events of the
    // last hours are marked to be planned again.
    await store.markHandedOn([d]);
    expect(await store.remarkUndeliveredSince(since)).toBeGreaterThanOrEqual(1);
    await store.flushMarkerClears();
    const due = await store.undeliveredEvents(Date.now());
    expect(due.map((e) => e.id)).toContain(d.id);
    // Planned again and handed on (as the sweep does with all of them): cleared at once.
    await store.markHandedOn(due);
    expect(await markerOf(store, d.id)).toBeUndefined();
    expect(await store.undeliveredEvents(Date.now())).toEqual([]);
  });

  it('drops entries of events handed on before, or never inserted, but not of an insert still on its way', async () => {
    const e = await append(store, 'e', new Date(Date.now() - 120_000).toISOString());
    await store.markHandedOn([e]);
    await store.flushMarkerClears();
    const longAgo = Date.now() - 11 * 60_000;
    // A retried page writes ahead again; a failed insert left an entry without an event long ago;
    // another page has written ahead and is inserting now.
    await index.add([
      { id: e.id, at: Date.now() - 120_000 },
      { id: 'hotel-zeezicht/x/never/v1/triggered', at: longAgo },
      { id: 'hotel-zeezicht/x/inserting/v1/triggered', at: Date.now() - 1_000 },
    ]);
    expect(await store.undeliveredEvents(Date.now())).toEqual([]);
    expect([...((await index.due(Date.now(), 10)) ?? new Map()).keys()]).toEqual(['hotel-zeezicht/x/inserting/v1/triggered']);
    // Its insert lands: it is waiting like any other.
    const inserting = await append(store, 'inserting');
    expect((await store.undeliveredEvents(Date.now())).map((x) => x.id)).toEqual([inserting.id]);
    await store.markHandedOn([inserting]);
  });

  it('takes no entry until rebuilt, and merges what rebuilds find, leaving no scratch keys behind', async () => {
    const lost = redisOutboxIndex(redis, `${prefix}-lost`);
    // Not whole yet: a page may not write ahead (and so may not append).
    expect(await lost.add([{ id: 'too-early', at: 1 }])).toBe(false);
    await lost.rebuild([{ id: 'first', at: 1 }]);
    expect(await lost.add([{ id: 'written-ahead', at: 2 }])).toBe(true);
    // A process whose scan found nothing marked: what is there stays.
    await lost.rebuild([]);
    expect([...((await lost.due(10, 10)) ?? new Map()).keys()]).toEqual(['first', 'written-ahead']);
    // Processes that saw the loss at once rebuild at once, each from its own scan.
    const parts = [0, 1, 2].map((p) => Array.from({ length: 5_000 }, (_, i) => ({ id: `p${p}-e${i}`, at: p * 10_000 + i })));
    await Promise.all(parts.map((entries) => lost.rebuild(entries)));
    expect(await lost.complete()).toBe(true);
    expect((await lost.due(Number.MAX_SAFE_INTEGER, 20_000))?.size).toBe(15_002);
    expect(await redis.keys(`${prefix}-lost*rebuilding*`)).toEqual([]);
  });
});
