import type { Redis } from 'ioredis';

/** How long after the last request the full sweep keeps running: the outbox's 60 s and 30 s of slack for a slow append. */
export const SWEEP_REQUEST_HOLDS_MS = 90_000;

/** Without any request, the full sweep still runs this often: a backstop for what nothing reported. */
export const FULL_SWEEP_EVERY_MS = 15 * 60_000;

/**
 * Asks the minute sweep (sla role) for a full sweep. The full sweep's queries (critical alerts past their
 * deadline, events still marked undelivered, recovery windows that ended, SLA timers to re-arm) are
 * not lookups by `_id`: each reads its whole collection on FerretDB, seconds a minute on a
 * store of a few hundred thousand posts, and most minutes they find nothing. So the minute sweep
 * runs them only when something may have left work behind: a job attempt that failed or stalled
 * (a crashed page may leave events marked), a person's change to an alert (its events are written
 * outside a job), Redis coming back empty, or a failed job recorded as a dead letter. Also at the
 * sla process's first sweep and every FULL_SWEEP_EVERY_MS.
 *
 * One Redis key holds the time of the latest request. A request holds for SWEEP_REQUEST_HOLDS_MS,
 * so events marked just before it or written just after it are old enough for the outbox sweep
 * before the request is dropped. Losing the key with Redis loses nothing: Redis coming back
 * empty is itself a request.
 */
export class SweepRequests {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}:sweep-requested-at`;
  }

  /** A full sweep is wanted; `at` is now. */
  async request(at: number): Promise<void> {
    await this.redis.set(this.key, String(at));
  }

  /** When the latest request still holding was made (undefined: none). */
  async requestedAt(): Promise<number | undefined> {
    const raw = await this.redis.get(this.key);
    const at = raw === null ? NaN : Number(raw);
    return Number.isFinite(at) ? at : undefined;
  }

  /**
   * A full sweep that started at `sweptAt` is done: a request made SWEEP_REQUEST_HOLDS_MS or more
   * before it is answered and dropped; a later one stays for the next sweep. Compare and delete in
   * one step, so a request made meanwhile is not lost.
   */
  async answered(sweptAt: number): Promise<void> {
    await this.redis.eval(
      "local v = tonumber(redis.call('GET', KEYS[1])) if v and v <= tonumber(ARGV[1]) then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.key,
      String(sweptAt - SWEEP_REQUEST_HOLDS_MS),
    );
  }
}

/** Whether the minute sweep runs the full sweep now, and why (undefined: not now). */
export function fullSweepReason(o: { now: number; lastFullAt?: number; requestedAt?: number }): 'first' | 'requested' | 'backstop' | undefined {
  if (o.lastFullAt === undefined) return 'first';
  if (o.requestedAt !== undefined) return 'requested';
  if (o.now - o.lastFullAt >= FULL_SWEEP_EVERY_MS) return 'backstop';
  return undefined;
}
