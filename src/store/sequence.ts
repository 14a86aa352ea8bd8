import type { Redis } from 'ioredis';
import type { Collection } from 'mongodb';

/**
 * Hands out alert-stream sequence numbers. The unique index on `seq` is the guard either way:
 * a number handed out twice is refused on insert and the event gets a new one.
 */
export interface SequenceAllocator {
  /** Reserves `n` consecutive numbers; returns the first. */
  reserve(n: number): Promise<number>;
  /** Makes sure numbers handed out from now on are above `floor` (after a restart lost the counter). */
  atLeast(floor: number): Promise<void>;
  /** The insert of the `n` numbers from `first` has finished (inserted, refused or failed): readers may pass them. Never throws. */
  done?(first: number, n: number): Promise<void>;
}

/**
 * Reservations older than this are writers that died between reserving and inserting: readers
 * stop waiting for them (their numbers are skipped, or show up late).
 */
export const ABANDONED_RESERVATION_MS = 30_000;

/** The pending-reservation set that belongs to a counter key (`…-seq` → `…-pending`). */
export function pendingKeyOf(seqKey: string): string {
  return seqKey.endsWith('-seq') ? `${seqKey.slice(0, -4)}-pending` : `${seqKey}:pending`;
}

// INCRBY and the record of the reservation in one step: a number is never handed out unrecorded,
// so a reader never sees a later number inserted while an earlier one is unaccounted for.
const RESERVE = `local last = redis.call('incrby', KEYS[1], ARGV[1])
local t = redis.call('time')
local first = last - tonumber(ARGV[1]) + 1
redis.call('zadd', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000), tostring(first))
return first`;

// The counter and the lowest live reservation at one instant (Redis's clock, the same for every process).
const HORIZON = `local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local live = redis.call('zrangebyscore', KEYS[2], now - tonumber(ARGV[1]), '+inf')
local low = false
for _, m in ipairs(live) do local v = tonumber(m) if not low or v < low then low = v end end
return { redis.call('get', KEYS[1]) or false, low or false }`;

/**
 * Redis INCRBY: atomic across any number of workers. Redis may run without persistence, so after
 * a restart the counter is raised above the stream's highest number on the first collision.
 */
export function redisSequence(redis: Redis, key: string, pendingKey = pendingKeyOf(key)): SequenceAllocator {
  return {
    async reserve(n) {
      return Number(await redis.eval(RESERVE, 2, key, pendingKey, String(n)));
    },
    async done(first) {
      await redis.zrem(pendingKey, String(first)).catch(() => undefined);
    },
    async atLeast(floor) {
      await redis.eval("if tonumber(redis.call('get', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) end return 1", 1, key, String(floor));
    },
  };
}

/**
 * A counter document in MongoDB, for tools that run without Redis. Its $inc is not atomic under
 * concurrency on every compatible server (FerretDB 1.24), so heavy concurrent use collides more.
 */
export function mongoSequence(counters: Collection<any>): SequenceAllocator {
  return {
    async reserve(n) {
      const doc = await counters.findOneAndUpdate({ _id: 'alert-stream' }, { $inc: { value: n } }, { returnDocument: 'after' });
      return (doc as any).value - n + 1;
    },
    async atLeast(floor) {
      await counters.updateOne({ _id: 'alert-stream', value: { $lt: floor } }, { $set: { value: floor } });
    },
  };
}

/**
 * The highest sequence number a reader may hand out now: every number up to it is either in the
 * stream already or will never be (skipped, abandoned). Numbers are inserted in parallel, so 12 can
 * be visible before 11; this keeps readers below the lowest reservation still being inserted.
 * Read it BEFORE reading the stream: a number at or below it that is absent then is never coming.
 * `Infinity` when Redis holds no counter (lost with a restart: the next insert raises it again).
 */
export async function visibleSequenceLimit(redis: Redis, seqKey: string, pendingKey = pendingKeyOf(seqKey)): Promise<number> {
  const [counter, lowestPending] = (await redis.eval(HORIZON, 2, seqKey, pendingKey, String(ABANDONED_RESERVATION_MS))) as [string | null, number | null];
  // Abandoned reservations are dropped now and then (cheap: the set holds only writers in flight).
  if (Math.random() < 0.05) await redis.zremrangebyscore(pendingKey, '-inf', Date.now() - 10 * ABANDONED_RESERVATION_MS).catch(() => undefined);
  const top = counter === null ? Infinity : Number(counter);
  return lowestPending === null ? top : Math.min(top, Number(lowestPending) - 1);
}
