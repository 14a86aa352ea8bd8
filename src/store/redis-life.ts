import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Which life of Redis this is: a random id set on first use (SET NX), so a Redis that comes back
 * empty (restarted without persistence, flushed, failed over to an empty replica) gets a new one.
 * Something noted about Redis in one life (a source's cursor saved, delivery jobs queued) is not
 * taken for true in another: ioredis replays into a restarted Redis what it queued for the old.
 */
export function redisLifeKey(prefix: string): string {
  return `${prefix}:redis-life`;
}

/** The current life, made now when Redis has none: one round trip. */
export async function currentRedisLife(redis: Redis, prefix: string): Promise<string> {
  const key = redisLifeKey(prefix);
  const [, [, life]] = (await redis.multi().set(key, newLife(), 'NX').get(key).exec()) as [unknown, [unknown, unknown]][];
  return String(life);
}

export function newLife(): string {
  return randomUUID();
}
