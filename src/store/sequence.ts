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
}

/**
 * Redis INCRBY: atomic across any number of workers. Redis may run without persistence, so after
 * a restart the counter is raised above the stream's highest number on the first collision.
 */
export function redisSequence(redis: Redis, key: string): SequenceAllocator {
  return {
    async reserve(n) {
      return (await redis.incrby(key, n)) - n + 1;
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
