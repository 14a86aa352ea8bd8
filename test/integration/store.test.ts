import type { Alert } from '../../src/domain/alert';
import { Store, eventIdOf } from '../../src/store/store';
import { countedPosts } from '../../src/store/memberships';
import { postsOfAlert } from '../../src/store/queries';
import { Redis } from 'ioredis';
import { redisSequence } from '../../src/store/sequence';
import { MONGODB_URI, REDIS_URL, uniqueName } from '../helpers';

function alert(i: number): Alert {
  return {
    id: `brand/x/${1_890_000_000_000_000_000n + BigInt(i)}`,
    brandId: 'brand',
    brandName: 'Brand',
    kind: 'negative-post',
    severity: 'medium',
    status: 'triggered',
    title: `alert ${i}`,
    reason: 'test',
    fingerprint: `brand/x/${1_890_000_000_000_000_000n + BigInt(i)}`,
    topic: 'general',
    count: 1,
    version: 1,
    updatedAt: '2026-03-10T10:00:02Z',
    impact: { negativity: 0.8, complaint: 0, reach: 0.5, engagement: 0, velocity: 0, projectedReach: 2000, score: 0.4 },
    post: {
      platform: 'x',
      postId: String(i),
      url: `https://x.com/u/status/${i}`,
      text: 'slecht',
      lang: 'nl',
      createdAt: '2026-03-10T10:00:00Z',
      ingestedAt: '2026-03-10T10:00:01Z',
      author: { id: 'u', handle: 'u', followers: 2000, verified: false },
      sentiment: { label: 'negative', score: -0.8 },
      complaint: { label: false, score: 0.1 },
      evidence: { negative: ['slecht'], positive: [], complaint: [] },
    },
    createdAt: '2026-03-10T10:00:02Z',
  };
}

const triggered = (alerts: Alert[]) => alerts.map((a) => ({ type: 'alert.triggered' as const, alert: a, at: a.createdAt }));

describe('alert stream in the MongoDB-compatible store', () => {
  let store: Store;
  beforeAll(async () => {
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('store') });
  });
  afterAll(async () => {
    await store.conn.dropDatabase();
    await store.close();
  });

  it('gives every event a unique, growing sequence number under concurrent writers, and appends each once', async () => {
    const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 5 }, (_, i) => alert(b * 5 + i)));
    const results = await Promise.all(batches.map((batch) => store.appendEvents(triggered(batch))));
    expect(results.reduce((n, r) => n + r.newEvents, 0)).toBe(40);
    const events = await store.eventsAfter(0, 1000);
    expect(events).toHaveLength(40);
    expect(new Set(events.map((e) => e.seq)).size).toBe(40);
    expect(new Set(events.map((e) => e.alertId)).size).toBe(40);
    for (let i = 1; i < events.length; i++) expect(events[i].seq).toBeGreaterThan(events[i - 1].seq);

    // The same alerts again (a retried job): nothing new, but their events are returned for delivery.
    const again = await store.appendEvents(triggered(batches[0]));
    expect(again.newEvents).toBe(0);
    expect(again.events.map((e) => e.id).sort()).toEqual(batches[0].map((a) => eventIdOf({ type: 'alert.triggered', alert: a })).sort());
    expect(await store.models.AlertEvent.countDocuments({})).toBe(40);
    // A later change of the same alert is a new event; the same change again is not.
    const acked = { ...batches[0][0], status: 'acknowledged' as const, version: 2 };
    const ack = await store.appendEvents([{ type: 'alert.acknowledged', alert: acked, at: '2026-03-10T10:01:00Z', by: 'anna' }]);
    expect(ack.newEvents).toBe(1);
    expect((await store.appendEvents([{ type: 'alert.acknowledged', alert: acked, at: '2026-03-10T10:01:05Z', by: 'anna' }])).newEvents).toBe(0);
    expect((await store.latestEventOf(acked.id))).toMatchObject({ type: 'alert.acknowledged', by: 'anna', seq: ack.events[0].seq });
  });

  it('with Redis handing out numbers, recovers when the Redis counter was lost (a restart without persistence)', async () => {
    const redis = new Redis(REDIS_URL());
    const key = `${uniqueName('seq')}:alert-stream-seq`;
    const withRedis = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('store-redis'), sequence: redisSequence(redis, key) });
    try {
      const many = Array.from({ length: 60 }, (_, i) => alert(1000 + i));
      await Promise.all([0, 1, 2, 3, 4, 5].map((b) => withRedis.appendEvents(triggered(many.slice(b * 10, b * 10 + 10)))));
      const before = await withRedis.lastSequence();
      expect(before).toBe(60);
      await redis.del(key);
      const later = await withRedis.appendEvents(triggered([alert(2000), alert(2001)]));
      expect(later.newEvents).toBe(2);
      expect(later.events.every((e) => e.seq > before)).toBe(true);
      const events = await withRedis.eventsAfter(0, 1000);
      expect(new Set(events.map((e) => e.seq)).size).toBe(62);
    } finally {
      await withRedis.conn.dropDatabase();
      await withRedis.close();
      await redis.del(key);
      await redis.quit();
    }
  });

  it('writes a delivery record once per event and receiver, counting attempts, with the outcome of the last', async () => {
    await store.markDeliveryError('e1', 'hook', { code: 'RW_ERR_DELIVERY_FAILED', message: '503' }, false);
    expect(await store.getDelivery('e1', 'hook')).toMatchObject({ status: 'pending', attempts: 1, lastError: { code: 'RW_ERR_DELIVERY_FAILED' } });
    await store.markDelivered('e1', 'hook', Date.parse('2026-03-10T10:00:05Z'), 204);
    const sent = await store.getDelivery('e1', 'hook');
    expect(sent).toMatchObject({ eventId: 'e1', receiverId: 'hook', status: 'sent', httpStatus: 204, attempts: 2 });
    expect(sent?.lastError).toBeUndefined();
    // A first attempt that fails for good; a send whose record was never written is repaired as sent.
    await store.markDeliveryError('e2', 'hook', { code: 'RW_ERR_RECEIVER_REJECTED', message: '400' }, true);
    expect(await store.getDelivery('e2', 'hook')).toMatchObject({ status: 'failed', attempts: 1 });
    await store.markSentEarlier('e3', 'hook', Date.parse('2026-03-10T10:00:06Z'));
    await store.markSentEarlier('e3', 'hook', Date.parse('2026-03-10T10:00:07Z'));
    expect(await store.getDelivery('e3', 'hook')).toMatchObject({ status: 'sent', attempts: 1, sentAt: new Date('2026-03-10T10:00:06Z') });
    // Concurrent first writes of one record make one record.
    await Promise.all(Array.from({ length: 8 }, () => store.markDeliveryError('e4', 'hook', { code: 'X', message: 'x' }, false)));
    expect(await store.getDelivery('e4', 'hook')).toMatchObject({ status: 'pending', attempts: 8 });
  });

  it('stores a page of mentions once, however often it comes', async () => {
    const judgement = { lang: 'nl', langConfidence: 1, sentiment: { label: 'neutral' as const, score: 0, confidence: 1 }, complaint: { label: false, score: 0 }, evidence: { negative: [], positive: [], complaint: [] } };
    const items = Array.from({ length: 20 }, (_, i) => ({
      mention: { platform: 'x', postId: String(9000 + i), url: '', brandId: 'b', author: { id: 'a', handle: 'a', followers: 1, verified: false }, text: 't', createdAt: '2026-03-10T10:00:00Z', engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 } },
      judgement,
      ingestedAt: 0,
    }));
    expect(await store.storeMentions(items.slice(0, 12))).toMatchObject({ inserted: 12, duplicates: 0 });
    const again = await store.storeMentions(items);
    expect(again).toMatchObject({ inserted: 8, duplicates: 12 });
    expect([...again.existing].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(await store.models.Mention.countDocuments({})).toBe(20);
  });

  it('moves the page state of a store written before (alert heads, storm trackers, cases, memberships) into page_state at start-up', async () => {
    const dbName = uniqueName('pagestate');
    const old = await Store.connect({ uri: MONGODB_URI(), dbName });
    const db = old.conn.db!;
    await db.collection('page_state').drop().catch(() => undefined);
    await db.collection('alert_heads').insertMany([
      { _id: 'acme/x/1', alertId: 'acme/x/1~2', generation: 2 },
      { _id: 'acme/storm/all', alertId: 'acme/storm/all', generation: 1 },
    ] as any[]);
    await db.collection('storm_trackers').insertMany([
      { _id: 'acme/all', total: 7 },
      { _id: 'terms|acme', clusters: [{ id: 'c1' }] },
    ] as any[]);
    await db.collection('cases').insertOne({ _id: 'case-1', id: 'case-1', brandId: 'acme', state: 'open' } as any);
    await db.collection('alert_members').insertMany([
      { _id: 'acme/x/1~2|x:9', alertId: 'acme/x/1~2' },
      { _id: 'acme/x/1|x:9', countedIn: 'acme/x/1~2' },
    ] as any[]);
    await db.collection('mentions').insertOne({ _id: 'x:9', platform: 'x', postId: '9', createdAt: '2026-03-01T10:00:00Z' } as any);
    await old.close();

    const store2 = await Store.connect({ uri: MONGODB_URI(), dbName });
    try {
      const names = (await store2.conn.db!.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
      expect(names).toContain('page_state');
      expect(names).not.toContain('alert_heads');
      expect(names).not.toContain('storm_trackers');
      expect(names).not.toContain('cases');
      expect(names).not.toContain('alert_members');
      expect(await store2.listCases('acme')).toEqual([{ id: 'case-1', brandId: 'acme', state: 'open' }]);
      // Memberships: the alert's posts, and a post counted under its fingerprint in a later generation.
      expect((await postsOfAlert(store2, 'acme/x/1~2')).map((m) => m.postId)).toEqual(['9']);
      expect(Object.fromEntries(await countedPosts(store2, [{ fingerprint: 'acme/x/1', postKey: 'x:9' }, { fingerprint: 'acme/x/1', postKey: 'x:10' }]))).toEqual({ 'acme/x/1|x:9': 'acme/x/1~2' });
      const state = await store2.readPageState('acme', { fingerprints: ['acme/x/1', 'acme/storm/all', 'acme/x/2'], stormKeys: ['acme/all', 'acme/none'], caseIds: ['case-1', 'case-2'] });
      expect(Object.fromEntries(state.cases)).toEqual({ 'case-1': { id: 'case-1', brandId: 'acme', state: 'open' } });
      expect(Object.fromEntries(state.heads)).toEqual({ 'acme/x/1': { alertId: 'acme/x/1~2', generation: 2 }, 'acme/storm/all': { alertId: 'acme/storm/all', generation: 1 } });
      expect(Object.fromEntries(state.trackers)).toEqual({ 'acme/all': { total: 7 } });
      expect(state.clusters).toEqual({ clusters: [{ id: 'c1' }] });

      // A store that has page_state already (another process renamed first) gets the rest copied, its newer copy kept.
      await store2.conn.db!.collection('alert_heads').insertMany([
        { _id: 'acme/x/1', alertId: 'acme/x/1', generation: 1 },
        { _id: 'acme/x/3', alertId: 'acme/x/3', generation: 1 },
      ] as any[]);
      const store3 = await Store.connect({ uri: MONGODB_URI(), dbName });
      const heads = await store3.alertHeads(['acme/x/1', 'acme/x/3']);
      expect(Object.fromEntries(heads)).toEqual({ 'acme/x/1': { alertId: 'acme/x/1~2', generation: 2 }, 'acme/x/3': { alertId: 'acme/x/3', generation: 1 } });
      await store3.close();
    } finally {
      await store2.conn.dropDatabase();
      await store2.close();
    }
  });
});
