import type { Redis } from 'ioredis';
import { newLife, redisLifeKey } from './redis-life';

/**
 * Pages of a brand that found some of their posts stored already: a retried page, or two pages
 * carrying one post at once (two sources, a stream and a poll). A page takes the posts it stored
 * first to be in no alert or case yet, which saves reading their memberships; that holds unless
 * another page found one of them stored and evaluated it before this page took the brand's lock.
 * Such a page says so here before it takes the lock (one INCR), and a page compares what it read
 * before storing with what it reads under the lock: changed, it reads the memberships of its new
 * posts too. The count is kept with the life of Redis, so a Redis that restarted reads as changed.
 */
export class PageOverlaps {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(brandId: string): string {
    return `${this.prefix}:page-overlaps:${brandId}`;
  }

  /** Where the count stands: read before a page stores its posts. */
  async mark(brandId: string): Promise<string> {
    const lifeKey = redisLifeKey(this.prefix);
    const [, [, values]] = (await this.redis.multi().set(lifeKey, newLife(), 'NX').mget(this.key(brandId), lifeKey).exec()) as [unknown, [unknown, (string | null)[]]][];
    const [count, life] = values;
    return `${life}|${count ?? 0}`;
  }

  /** This page found posts stored already: pages that stored them look their memberships up. */
  async noteStoredBefore(brandId: string): Promise<void> {
    await this.redis.incr(this.key(brandId));
  }

  /** Whether a page found posts stored already since `mark` (or Redis restarted). */
  async changedSince(brandId: string, mark: string): Promise<boolean> {
    return (await this.mark(brandId)) !== mark;
  }
}
