import { Redis } from 'ioredis';
import type { AlertEvent } from '../../src/domain/alert';
import { planDeliveries } from '../../src/services/notify';
import { DeliveryState } from '../../src/store/delivery-state';
import { Store } from '../../src/store/store';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, endRedisAndStore, captureLogger, makeConfig, uniqueName } from '../helpers';

const BRANDS = { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl', pollEvery: '1h' }] }] };
const ALERT = fixtureEvent().alertId;

/** Version `version` of the fixture alert, as an update event. */
function updateOf(version: number): AlertEvent {
  const e = fixtureEvent({ type: version === 1 ? 'alert.triggered' : 'alert.updated' });
  return { ...e, id: `${ALERT}/v${version}/${version === 1 ? 'triggered' : 'updated'}`, seq: 100 + version, alert: { ...e.alert, version } };
}

describe('delivery state in Redis: open deliveries and grouping timers per (alert, receiver)', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('dstate')}}`;
  const state = new DeliveryState(redis, prefix);
  let store: Store;

  beforeAll(async () => {
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('dstate') });
  });
  afterAll(() => endRedisAndStore(redis, prefix, store));

  it('keeps open events in order until each is finished, and timers that never start later', async () => {
    await state.open(
      [
        { alertId: 'a1', receiverId: 'crm', open: { eventId: 'a1/v2/updated', seq: 12, at: 2_000 } },
        { alertId: 'a1', receiverId: 'crm', open: { eventId: 'a1/v1/triggered', seq: 11, at: 1_000 } },
      ],
      [{ alertId: 'a1', receiverId: 'crm', at: 1_000 }],
    );
    // A later plan cannot move the start of the group.
    await state.open([], [{ alertId: 'a1', receiverId: 'crm', at: 5_000 }]);
    expect(await state.of('a1', 'crm')).toEqual({
      open: [
        { eventId: 'a1/v1/triggered', seq: 11, at: 1_000 },
        { eventId: 'a1/v2/updated', seq: 12, at: 2_000 },
      ],
      firstEventAt: 1_000,
    });
    await state.sent('a1', 'crm', 11, 3_000);
    await state.close('a1', 'crm', [12]);
    expect(await state.of('a1', 'crm')).toEqual({ open: [], firstEventAt: 1_000, lastSentAt: 3_000 });
    // The pair expires on its own: Redis never keeps it for good.
    expect(await redis.pttl(`${prefix}:delivery-state:a1|crm`)).toBeGreaterThan(0);

    const timers = await state.timers([
      { alertId: 'a1', receiverId: 'crm' },
      { alertId: 'a2', receiverId: 'crm' },
    ]);
    expect(Object.fromEntries(timers)).toEqual({ 'a1|crm': { firstEventAt: 1_000, lastSentAt: 3_000 } });
  });

  it('plans from Redis when it knows the pair, from the notification log when Redis lost it', async () => {
    const hookSecret = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
    const { config } = makeConfig(
      { brands: BRANDS, receivers: { receivers: [{ id: 'crm', type: 'webhook', url: 'http://127.0.0.1:9/hook', secretEnv: 'HOOK_SECRET' }] }, extra: { 'posts.jsonl': '' } },
      { HOOK_SECRET: hookSecret },
    );
    const interval = config.routing.route.groupInterval;
    const now = Date.parse('2026-11-22T10:00:00Z');
    const deps = { config, store, deliveryState: state, now: () => now, logger: captureLogger().logger };

    // Told a minute ago, as only the notification log remembers (Redis came back empty).
    await store.recordSent(ALERT, 'crm', { eventId: updateOf(1).id, seq: 101, version: 1, at: now - 60_000 });
    const fromLog = await planDeliveries(deps, [updateOf(2)]);
    expect(fromLog.requests).toEqual([expect.objectContaining({ eventId: updateOf(2).id, receiverId: 'crm', delayMs: interval - 60_000 })]);

    // Redis knows it (a send ten seconds ago): that is what counts.
    await state.sent(ALERT, 'crm', 101, now - 10_000);
    const fromRedis = await planDeliveries(deps, [updateOf(3)]);
    expect(fromRedis.requests).toEqual([expect.objectContaining({ eventId: updateOf(3).id, delayMs: interval - 10_000 })]);
    expect(fromRedis.firstEvents).toEqual([]);
  });
});
