import { Redis } from 'ioredis';
import { DeliveryClaims } from '../../src/store/delivery-claims';
import { REDIS_URL, uniqueName } from '../helpers';

describe('delivery claims in Redis (one job sends an event to a receiver)', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('claims')}}`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('gives an (event, receiver) to the first of many jobs at once, and again to its retries only', async () => {
    const claims = new DeliveryClaims(redis, prefix);
    const won = await Promise.all(Array.from({ length: 20 }, (_, i) => claims.claim('ev1', 'hook', `job-${i}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = `job-${won.indexOf(true)}`;
    expect(await claims.claim('ev1', 'hook', winner)).toBe(true);
    expect(await claims.claim('ev1', 'hook', 'job-late')).toBe(false);
    // Another receiver or event is another delivery.
    expect(await claims.claim('ev1', 'slack', 'job-late')).toBe(true);
    expect(await claims.claim('ev2', 'hook', 'job-late')).toBe(true);
  });

  it('lapses after its time, so a job lost for good does not hold the delivery', async () => {
    const claims = new DeliveryClaims(redis, prefix, 150);
    expect(await claims.claim('ev3', 'hook', 'job-lost')).toBe(true);
    expect(await claims.claim('ev3', 'hook', 'job-other')).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(await claims.claim('ev3', 'hook', 'job-other')).toBe(true);
  });
});
