import type { Redis } from 'ioredis';
import { RECENT_HOURS, type SourceHealthRecord } from '../domain/source-health';

const HOUR_MS = 3_600_000;
/** Hourly post counts kept per source: a week, the window of its usual volume. */
const KEEP_HOURS = 24 * 7;

/**
 * What the workers saw of each source, for coverage (src/domain/source-health.ts), `repwatch
 * sources`, the API and metrics: poll attempts and failures, stream connection state, and posts
 * per hour. In Redis (one hash and one hourly-count hash per source, under the queues' hash tag):
 * written on every poll by whichever process polls, read by the sweep. Lost with Redis, it starts
 * over: a source is not called blind for want of history.
 */
export class SourceHealth {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(brandId: string, sourceId: string): string {
    return `${this.prefix}:source-health:${brandId}:${sourceId}`;
  }
  private volumeKey(brandId: string, sourceId: string): string {
    return `${this.prefix}:source-volume:${brandId}:${sourceId}`;
  }

  /** A poll (or a page from a stream) went through, with this many posts handed on. */
  async succeeded(brandId: string, sourceId: string, posts: number, now: number): Promise<void> {
    const hour = Math.floor(now / HOUR_MS);
    const volume = this.volumeKey(brandId, sourceId);
    const [, , [, count]] = (await this.redis
      .multi()
      .hset(this.key(brandId, sourceId), { lastAttemptAt: now, lastSuccessAt: now, consecutiveFailures: 0 })
      .hsetnx(volume, 'firstHour', hour)
      .hincrby(volume, String(hour), posts)
      .exec()) as [unknown, unknown, [unknown, number]];
    // A new hour's first write trims the hours that left the window.
    if (count === posts && posts > 0) {
      const old = (await this.redis.hkeys(volume)).filter((f) => f !== 'firstHour' && Number(f) <= hour - KEEP_HOURS);
      if (old.length) await this.redis.hdel(volume, ...old);
    }
  }

  /** A poll ran and was told to wait (rate limit, ingest backlog): the source is alive, nothing was fetched. */
  async attempted(brandId: string, sourceId: string, now: number): Promise<void> {
    await this.redis.hset(this.key(brandId, sourceId), { lastAttemptAt: now });
  }

  /** A poll failed (each attempt counts), or a stream connection dropped. */
  async failed(brandId: string, sourceId: string, error: { code: string; message: string }, now: number): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(brandId, sourceId), { lastAttemptAt: now, lastErrorCode: error.code, lastErrorMessage: error.message.slice(0, 500), lastErrorAt: now })
      .hincrby(this.key(brandId, sourceId), 'consecutiveFailures', 1)
      .exec();
  }

  /** A stream's connection went up or down. */
  async streamState(brandId: string, sourceId: string, connected: boolean, now: number): Promise<void> {
    await this.redis.hset(this.key(brandId, sourceId), { streamConnected: connected ? 1 : 0, streamSince: now, ...(connected ? { lastAttemptAt: now } : {}) });
  }

  async get(brandId: string, sourceId: string, now: number): Promise<SourceHealthRecord> {
    const [h, volume] = await Promise.all([this.redis.hgetall(this.key(brandId, sourceId)), this.redis.hgetall(this.volumeKey(brandId, sourceId))]);
    const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
    const hour = Math.floor(now / HOUR_MS);
    let postsRecent = 0;
    let before = 0;
    for (const [field, value] of Object.entries(volume)) {
      if (field === 'firstHour') continue;
      if (Number(field) > hour - RECENT_HOURS) postsRecent += Number(value);
      else before += Number(value);
    }
    const firstHour = num(volume.firstHour) ?? hour;
    const historyHours = Math.max(0, Math.min(KEEP_HOURS, hour - RECENT_HOURS + 1 - firstHour));
    return {
      brandId,
      sourceId,
      lastAttemptAt: num(h.lastAttemptAt),
      lastSuccessAt: num(h.lastSuccessAt),
      consecutiveFailures: num(h.consecutiveFailures) ?? 0,
      ...(h.lastErrorCode ? { lastError: { code: h.lastErrorCode, message: h.lastErrorMessage ?? '', at: num(h.lastErrorAt) ?? 0 } } : {}),
      postsRecent,
      historyHours,
      usualPerHour: historyHours > 0 ? before / historyHours : 0,
      ...(h.streamConnected !== undefined ? { stream: { connected: h.streamConnected === '1', since: num(h.streamSince) ?? 0 } } : {}),
    };
  }
}
