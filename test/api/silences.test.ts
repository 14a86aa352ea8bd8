import { SilenceStore, MAX_SILENCE_MS } from '../../src/store/silences';
import { Store } from '../../src/store/store';
import { activeSilence } from '../../src/domain/routing';
import { MONGODB_URI, failure, uniqueName } from '../helpers';

/** Silences created at run time, stored in the MongoDB-compatible server. */
describe('SilenceStore', () => {
  let store: Store;
  let silences: SilenceStore;
  const t0 = Date.parse('2026-11-30T10:00:00Z');
  const hour = 3_600_000;

  beforeAll(async () => {
    store = await Store.connect({ uri: `${MONGODB_URI().replace(/\/$/, '')}/${uniqueName('silences')}` });
    silences = new SilenceStore(store);
  });
  afterAll(async () => {
    await store.conn.dropDatabase();
    await store.close();
  });

  it('creates, lists by state, consults and expires silences', async () => {
    const now = t0;
    const active = await silences.create({ match: { brand: ['snelpost'], topic: ['delivery'] }, endsAt: now + hour, createdBy: 'anna', comment: 'known outage' }, now);
    const pending = await silences.create({ match: { author: ['@loudmouth'] }, startsAt: now + 2 * hour, endsAt: now + 3 * hour, createdBy: 'ben' }, now + 1);
    expect(active).toMatchObject({ id: expect.stringMatching(/^sil-[a-z0-9]+$/), startsAt: now, endsAt: now + hour, createdBy: 'anna', comment: 'known outage', createdAt: now });
    expect(pending.id).not.toBe(active.id);

    const listed = await silences.list(now + 10);
    expect(listed.map((s) => [s.id, s.state])).toEqual([[pending.id, 'pending'], [active.id, 'active']]);
    expect((await silences.list(now + 10, 'active')).map((s) => s.id)).toEqual([active.id]);

    // What routing consults: only the silence in force, in routing's own shape.
    const inForce = await silences.active(now + 10);
    expect(inForce).toEqual([{ id: active.id, match: active.match, startsAt: now, endsAt: now + hour, createdBy: 'anna', comment: 'known outage' }]);
    const alert = { brandId: 'snelpost', kind: 'complaint', severity: 'high', topic: 'delivery', post: { lang: 'nl', platform: 'x', author: { handle: 'x' } } } as any;
    expect(activeSilence(inForce, alert, now + 10)?.id).toBe(active.id);
    expect((await silences.active(now + 2 * hour + 1)).map((s) => s.id)).toEqual([pending.id]);

    const expired = await silences.expire(active.id, 'carla', now + 20);
    expect(expired).toMatchObject({ id: active.id, expiredAt: now + 20, expiredBy: 'carla' });
    expect(await silences.active(now + 30)).toEqual([]);
    expect((await silences.list(now + 30, 'expired')).map((s) => s.id)).toEqual([active.id]);
    // Expiring again changes nothing.
    expect(await silences.expire(active.id, 'dirk', now + 40)).toMatchObject({ expiredAt: now + 20, expiredBy: 'carla' });
    // A silence past its end is expired without anyone expiring it.
    expect((await silences.list(now + 4 * hour)).every((s) => s.state === 'expired')).toBe(true);
  });

  it.each([
    ['no end', { match: { brand: ['a'] }, createdBy: 'a' }],
    ['an empty matcher', { match: {}, endsAt: t0 + hour, createdBy: 'a' }],
    ['an unknown matcher field', { match: { colour: ['red'] }, endsAt: t0 + hour, createdBy: 'a' }],
    ['an empty list', { match: { brand: [] }, endsAt: t0 + hour, createdBy: 'a' }],
    ['an end before the start', { match: { brand: ['a'] }, startsAt: t0 + hour, endsAt: t0 + 10, createdBy: 'a' }],
    ['an end in the past', { match: { brand: ['a'] }, startsAt: t0 - 2 * hour, endsAt: t0 - hour, createdBy: 'a' }],
    ['more than 30 days', { match: { brand: ['a'] }, endsAt: t0 + MAX_SILENCE_MS + 1, createdBy: 'a' }],
    ['no creator', { match: { brand: ['a'] }, endsAt: t0 + hour, createdBy: ' \n' }],
  ])('refuses %s with RW_ERR_INPUT_INVALID and stores nothing', async (_what, input) => {
    const before = (await silences.list(t0)).length;
    expect((await failure(silences.create(input as any, t0))).code).toBe('RW_ERR_INPUT_INVALID');
    expect((await silences.list(t0)).length).toBe(before);
  });

  it('refuses to expire an unknown silence', async () => {
    expect((await failure(silences.expire('sil-nope', 'anna', t0))).code).toBe('RW_ERR_UNKNOWN_REFERENCE');
  });
});
