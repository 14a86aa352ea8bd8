import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RepwatchError } from '../domain/errors';

/**
 * A short Redis lock per key (SET NX PX, released only by its holder). Policy evaluation of one
 * brand reads and writes its storm trackers, cases and alerts; two ingest jobs of the same brand
 * must take turns, whatever process or host they run in.
 */
export class Locks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /**
     * The lock expires by itself this long after its holder stopped renewing it (renewed every
     * third of it while held), so a killed holder blocks the brand for seconds, not for good.
     */
    private readonly ttlMs = 10_000,
    /** How long a job waits for its turn before it fails (and is retried by the queue). */
    private readonly waitMs = 120_000,
  ) {}

  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.prefix}:lock:${name}`;
    const token = randomUUID();
    const deadline = Date.now() + this.waitMs;
    let pause = 5;
    while ((await this.redis.set(key, token, 'PX', this.ttlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', `waited over ${this.waitMs / 1000} s for the lock on ${name}`);
      await new Promise((r) => setTimeout(r, pause));
      // Short pauses: a page holds the lock for tens of milliseconds, and a waiter that oversleeps idles the brand.
      pause = Math.min(pause * 2, 20);
    }
    // A slow page (a store that paused) keeps its lock for as long as it runs.
    const renew = setInterval(() => {
      this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0", 1, key, token, String(this.ttlMs)).catch(() => undefined);
    }, Math.max(100, Math.floor(this.ttlMs / 3)));
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, key, token);
    }
  }
}
