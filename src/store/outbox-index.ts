import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Which events of the alert stream are still waiting to be handed on, kept beside the queues so
 * that a page learns it without a MongoDB round trip. The undelivered marker on the event in
 * MongoDB stays the record (services/outbox.ts); this is an index of it, written ahead of the
 * event (so it never misses one) and cleared when the event is handed on. It may hold more than
 * the marked events (an event whose insert failed, a retried page's event handed on before):
 * readers check the event itself. It can also hold less, after Redis lost it: until it is rebuilt
 * from the markers it says so (`complete` false) and readers ask MongoDB instead.
 */
export interface OutboxIndex {
  /**
   * Ahead of the insert of marked events: their ids and times (ms). Only into a complete index:
   * false (nothing written) when Redis lost it and it is not rebuilt yet.
   */
  add(entries: { id: string; at: number }[]): Promise<boolean>;
  /** Handed on (or found not to be waiting). Tells whether the index is complete. */
  remove(ids: string[]): Promise<boolean>;
  /** Which of these ids are waiting, with their times, or undefined when the index is not complete. */
  waiting(ids: string[]): Promise<Map<string, number> | undefined>;
  /** The oldest waiting ids whose time is at or before `before`, with their times, or undefined when the index is not complete. */
  due(before: number, limit: number): Promise<Map<string, number> | undefined>;
  /** Whether the index holds every waiting event (false after Redis lost it, until rebuilt). */
  complete(): Promise<boolean>;
  /** Adds these entries (every marked event, read from MongoDB) to what pages wrote meanwhile, and marks the index complete. */
  rebuild(entries: { id: string; at: number }[]): Promise<void>;
}

// The flag and the entries at one instant: an entry is never written into an index that is not whole.
const ADD_IF_COMPLETE = `if redis.call('exists', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('zadd', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1`;

/** Entries per rebuild step (Lua arguments stay small). */
const REBUILD_CHUNK = 2_000;

export function redisOutboxIndex(redis: Redis, prefix: string): OutboxIndex {
  const key = `${prefix}:outbox-waiting`;
  const complete = `${prefix}:outbox-waiting-complete`;
  const isComplete = async () => (await redis.exists(complete)) === 1;
  return {
    async add(entries) {
      if (entries.length === 0) return isComplete();
      return (await redis.eval(ADD_IF_COMPLETE, 2, complete, key, ...entries.flatMap((e) => [String(e.at), e.id]))) === 1;
    },
    async remove(ids) {
      if (ids.length === 0) return isComplete();
      const [[, flag]] = (await redis.multi().exists(complete).zrem(key, ...ids).exec()) as [unknown, unknown][];
      return Number(flag) === 1;
    },
    async waiting(ids) {
      if (ids.length === 0) return (await isComplete()) ? new Map() : undefined;
      const [[, flag], [, scores]] = (await redis.multi().exists(complete).zmscore(key, ...ids).exec()) as [unknown, unknown][];
      if (Number(flag) !== 1) return undefined;
      const found = new Map<string, number>();
      (scores as (string | null)[]).forEach((score, i) => score !== null && found.set(ids[i], Number(score)));
      return found;
    },
    async due(before, limit) {
      const [[, flag], [, flat]] = (await redis.multi().exists(complete).zrangebyscore(key, '-inf', before, 'WITHSCORES', 'LIMIT', 0, limit).exec()) as [unknown, unknown][];
      if (Number(flag) !== 1) return undefined;
      const pairs = flat as string[];
      const found = new Map<string, number>();
      for (let i = 0; i < pairs.length; i += 2) found.set(pairs[i], Number(pairs[i + 1]));
      return found;
    },
    complete: isComplete,
    async rebuild(entries) {
      // Built aside under a name of its own (processes that saw the loss at once rebuild at once),
      // then merged into the index with the flag set: one step for readers.
      const building = `${key}:rebuilding:${randomUUID()}`;
      for (let i = 0; i < entries.length; i += REBUILD_CHUNK) {
        // A process that dies half-way leaves its part to lapse.
        await redis.multi().zadd(building, ...entries.slice(i, i + REBUILD_CHUNK).flatMap((e) => [e.at, e.id])).pexpire(building, 3_600_000).exec();
      }
      // Merged, never replaced: what pages wrote ahead meanwhile, or another rebuild added, stays.
      if (entries.length === 0) await redis.set(complete, '1');
      else await redis.multi().zunionstore(key, 2, key, building).del(building).set(complete, '1').exec();
    },
  };
}
