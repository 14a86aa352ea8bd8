import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RepwatchError } from '../domain/errors';

/** An urgent waiter's mark lives this long unless renewed by its next try (every 20 ms at most): a waiter that died frees the lock soon. */
const URGENT_MARK_MS = 1_000;

/**
 * One try: an urgent waiter (re)marks the lock and takes it when free (clearing the mark if it is
 * its own); any other waiter takes it only when free and unmarked. 1 when taken.
 * KEYS: the lock, its urgent mark. ARGV: token, lock ttl ms, urgent '1'/'0', mark ttl ms.
 */
const ACQUIRE = `
local urgent = ARGV[3] == '1'
if urgent then
  redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[4])
elseif redis.call('exists', KEYS[2]) == 1 then
  return 0
end
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  if urgent and redis.call('get', KEYS[2]) == ARGV[1] then redis.call('del', KEYS[2]) end
  return 1
end
return 0`;

/** What the holder of a lock can ask of it while it runs. */
export interface HeldLock {
  /**
   * Throws RW_ERR_LOCK_LOST (retryable) unless this holder still holds the lock: called just before
   * the holder writes. Renewal keeps the lock through a slow store, but a Redis restarted empty
   * forgets it, and another page or an acknowledgement then takes it while this one still runs:
   * two read-modify-writes of the same alerts would give one version two events. Holding it at this
   * check means no one else held it since it was taken (only this holder sets its token).
   */
  confirm(): Promise<void>;
}

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

  /**
   * Runs `fn` holding the lock. `urgent`: a person's or a timer's change to an alert (acknowledge,
   * resolve, escalate). The lock has no queue, and a page that lets go takes it again at once for
   * its next page, so a waiter that polls could wait minutes behind a brand's bulk ingest (an SLA
   * escalation did, over 120 s). An urgent waiter marks the lock while it waits; others do not
   * take a marked lock, so it gets the lock when the page that holds it is done.
   */
  async withLock<T>(name: string, fn: (held: HeldLock) => Promise<T>, options: { urgent?: boolean } = {}): Promise<T> {
    const key = `${this.prefix}:lock:${name}`;
    const token = randomUUID();
    const deadline = Date.now() + this.waitMs;
    let pause = 5;
    while ((await this.redis.eval(ACQUIRE, 2, key, `${key}:urgent`, token, String(this.ttlMs), options.urgent ? '1' : '0', String(URGENT_MARK_MS))) !== 1) {
      if (Date.now() > deadline) throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', `waited over ${this.waitMs / 1000} s for the lock on ${name}`);
      await new Promise((r) => setTimeout(r, pause));
      // Short pauses: a page holds the lock for tens of milliseconds, and a waiter that oversleeps idles the brand.
      pause = Math.min(pause * 2, 20);
    }
    // A slow page (a store that paused) keeps its lock for as long as it runs.
    const renew = setInterval(() => {
      this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0", 1, key, token, String(this.ttlMs)).catch(() => undefined);
    }, Math.max(100, Math.floor(this.ttlMs / 3)));
    const held: HeldLock = {
      confirm: async () => {
        if ((await this.redis.get(key)) !== token) throw new RepwatchError('RW_ERR_LOCK_LOST', `the lock on ${name} was lost while held (Redis restarted empty, or the holder stalled past ${this.ttlMs / 1000} s): nothing was written`);
      },
    };
    try {
      return await fn(held);
    } finally {
      clearInterval(renew);
      await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, key, token);
    }
  }
}
