import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Cursor } from '../connectors/connector';

export interface SourceStateRecord {
  cursor: Cursor | null;
  /** No platform call before this time (ms), when the platform asked us to wait. */
  resumeAt: number;
  /** The last poll said more posts were ready at once. */
  hasMore?: boolean;
}

/**
 * Where each (brand, source) stands: its cursor (X: since_id watermark and page token; replay:
 * line offset) and its rate-limit wait. Kept in Redis, never in process memory, so any worker on
 * any host continues where the last one stopped. Keys share the queues' hash tag.
 */
export class SourceState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(brandId: string, sourceId: string): string {
    return `${this.prefix}:source:${brandId}:${sourceId}`;
  }

  async get(brandId: string, sourceId: string): Promise<SourceStateRecord> {
    const h = await this.redis.hgetall(this.key(brandId, sourceId));
    return { cursor: h.cursor ? (JSON.parse(h.cursor) as Cursor) : null, resumeAt: Number(h.resumeAt ?? 0), hasMore: h.hasMore === '1' };
  }

  async save(brandId: string, sourceId: string, record: SourceStateRecord): Promise<void> {
    await this.redis.hset(this.key(brandId, sourceId), { cursor: JSON.stringify(record.cursor), resumeAt: String(record.resumeAt), hasMore: record.hasMore ? '1' : '0' });
  }

  /**
   * One poll at a time per source, across all processes: a platform call is spent once.
   * Returns a release function, or null when another poll holds the source.
   */
  async lock(brandId: string, sourceId: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const key = `${this.key(brandId, sourceId)}:lock`;
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return null;
    return async () => {
      // Release only our own lock (it may have expired and been taken by another poll).
      await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, key, token);
    };
  }
}
