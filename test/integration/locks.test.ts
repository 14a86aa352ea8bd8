import { Redis } from 'ioredis';
import { Locks } from '../../src/store/lock';
import { REDIS_URL, uniqueName } from '../helpers';

describe('brand locks (real Redis)', () => {
  const prefix = `{${uniqueName('locks')}}`;
  const redis = new Redis(REDIS_URL());
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('a holder that runs longer than the lifetime keeps its lock: the next one waits for it to finish', async () => {
    const locks = new Locks(redis, prefix, 300, 5_000);
    const order: string[] = [];
    const first = locks.withLock('brand:a', async () => {
      order.push('first in');
      await new Promise((r) => setTimeout(r, 1_000));
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    await locks.withLock('brand:a', async () => order.push('second in'));
    await first;
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('a holder that died (no more renewals) frees the brand after the lifetime, not after minutes', async () => {
    const locks = new Locks(redis, prefix, 400, 5_000);
    // What a kill -9 leaves: the lock key, and nobody renewing it.
    await redis.set(`${prefix}:lock:brand:b`, 'dead-holder', 'PX', 400);
    const started = Date.now();
    await locks.withLock('brand:b', async () => undefined);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3_000);
  });

  it('an urgent waiter (an escalation, an acknowledgement) gets the lock when the page holding it is done, though pages take it again at once', async () => {
    const locks = new Locks(redis, prefix, 2_000, 5_000);
    let pagesDone = 0;
    let stop = false;
    // Three ingest workers of one brand with a backlog: each takes the lock again the moment it let go.
    const worker = async () => {
      while (!stop) await locks.withLock('brand:busy', async () => {
        await new Promise((r) => setTimeout(r, 30));
        pagesDone++;
      });
    };
    const workers = [worker(), worker(), worker()];
    await new Promise((r) => setTimeout(r, 200));
    const before = pagesDone;
    let pagesWhileWaiting = -1;
    try {
      await locks.withLock('brand:busy', async () => {
        pagesWhileWaiting = pagesDone - before;
      }, { urgent: true });
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    // At most the page that held the lock, and one that took it between two of the waiter's tries.
    expect(pagesWhileWaiting).toBeGreaterThanOrEqual(0);
    expect(pagesWhileWaiting).toBeLessThanOrEqual(2);
    // The pages go on after it: the mark is gone.
    expect(await redis.exists(`${prefix}:lock:brand:busy:urgent`)).toBe(0);
  });
});
