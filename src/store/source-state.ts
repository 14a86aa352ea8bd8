import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Collection } from 'mongodb';
import type { Cursor } from '../connectors/connector';
import { currentRedisLife, newLife, redisLifeKey } from './redis-life';
import type { Store } from './store';

export interface SourceStateRecord {
  cursor: Cursor | null;
  /** No platform call before this time (ms), when the platform asked us to wait. */
  resumeAt: number;
  /** The last poll said more posts were ready at once. */
  hasMore?: boolean;
  /**
   * Which life of Redis the state was read in (see SourceState.get). A poll saves the state it
   * read with the life it read it in, so a save that lands in a Redis restarted empty meanwhile
   * (a client replays commands it queued while Redis was down) is recognised as stale.
   */
  life?: string;
}

/**
 * A source's checkpoint in MongoDB (`source_checkpoints`, `_id` brand|source): the cursor after the
 * last page handed on, and the cursor each page in flight was fetched with. A page stays in
 * `pending` until it is judged (or kept as a dead letter, which holds its posts), because its ingest
 * job lives only in Redis: after a Redis loss polling resumes from the oldest page still pending,
 * refetching what was in flight (ingest absorbs the repeats) rather than skipping it.
 */
export interface SourceCheckpoint {
  _id: string;
  cursor: Cursor | null;
  resumeAt: number;
  hasMore: boolean;
  /** pageKey → the cursor the page was fetched with, and when. */
  pending: Record<string, { cursor: Cursor | null; at: number }>;
  /** Posts the platform answered only in part (kept as skipped dead letters). */
  skipped?: number;
  updatedAt: number;
}

/** The cursor to resume from after Redis lost the state: before the oldest page in flight, else after the last one. */
export function resumeFrom(cp: Pick<SourceCheckpoint, 'cursor' | 'pending'>): Cursor | null {
  const oldest = Object.values(cp.pending ?? {}).sort((a, b) => a.at - b.at)[0];
  return oldest ? oldest.cursor : cp.cursor;
}

function checkpointFields(record: SourceStateRecord, at: number) {
  return { cursor: record.cursor, resumeAt: record.resumeAt, hasMore: !!record.hasMore, updatedAt: at };
}

function unsetPending(pageKeys: string[]): { $unset?: Record<string, ''> } {
  return pageKeys.length ? { $unset: Object.fromEntries(pageKeys.map((k) => [`pending.${k}`, ''] as const)) } : {};
}

function sameState(a: SourceStateRecord, b: SourceStateRecord): boolean {
  return JSON.stringify(a.cursor) === JSON.stringify(b.cursor) && a.resumeAt === b.resumeAt && !!a.hasMore === !!b.hasMore;
}

/**
 * Where each (brand, source) stands: its cursor (X: since_id watermark and page token; replay:
 * line offset) and its rate-limit wait. Kept in Redis, never in process memory, so any worker on
 * any host continues where the last one stopped. Keys share the queues' hash tag. With a store,
 * every change is also checkpointed in MongoDB (one `_id` update per page; none for a poll that
 * found nothing new) and a state Redis has lost is read back from there.
 */
export class SourceState {
  private readonly checkpoints?: Collection<SourceCheckpoint>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    store?: Store,
  ) {
    this.checkpoints = store?.conn.db?.collection<SourceCheckpoint>('source_checkpoints');
  }

  private key(brandId: string, sourceId: string): string {
    return `${this.prefix}:source:${brandId}:${sourceId}`;
  }

  /**
   * The source's state. Read back from the checkpoint when Redis has none, or has one written in an
   * earlier life of Redis: a poll that handed a page on just before Redis restarted empty, and whose
   * save then reached the new Redis, would otherwise have moved the cursor past a page whose job
   * was lost with the old one.
   */
  async get(brandId: string, sourceId: string): Promise<SourceStateRecord> {
    const lifeKey = redisLifeKey(this.prefix);
    const [[, fields], , [, current]] = (await this.redis.multi().hgetall(this.key(brandId, sourceId)).set(lifeKey, newLife(), 'NX').get(lifeKey).exec()) as [unknown, unknown][];
    const h = fields as Record<string, string>;
    const life = String(current);
    if ((!h.cursor || h.life !== life) && this.checkpoints) {
      const restored = await this.restore(brandId, sourceId, life);
      if (restored) return restored;
    }
    return { cursor: h.cursor ? (JSON.parse(h.cursor) as Cursor) : null, resumeAt: Number(h.resumeAt ?? 0), hasMore: h.hasMore === '1', life };
  }

  /**
   * Records a page as in flight (its key and the cursor it was fetched with) until `pageDone`, and
   * in the same write the cursor after it (`next`): one round trip per page. Called before the
   * page's ingest job exists: a job that finishes at once must find the entry to clear. A crash
   * before the job exists leaves the page pending, so a Redis loss resumes before it anyway.
   */
  async pageInFlight(brandId: string, sourceId: string, page: { key: string; cursor: Cursor | null; at: number }, next?: SourceStateRecord): Promise<void> {
    if (!this.checkpoints) return;
    const done = (await this.redis.smembers(this.doneKey(brandId, sourceId))).filter((k) => k !== page.key);
    await this.checkpoints.updateOne(
      { _id: `${brandId}|${sourceId}` },
      { $set: { [`pending.${page.key}`]: { cursor: page.cursor, at: page.at }, ...(next ? checkpointFields(next, page.at) : {}) }, ...unsetPending(done) },
      { upsert: true },
    );
    if (done.length) await this.redis.srem(this.doneKey(brandId, sourceId), ...done);
  }

  /**
   * Saves where the source stands (Redis, and the checkpoint in MongoDB). `unchangedFrom`: the
   * state the poll started from; a poll that changed nothing (an idle poll) writes no checkpoint.
   * `checkpointed`: pageInFlight wrote this record already.
   */
  async save(brandId: string, sourceId: string, record: SourceStateRecord, at = Date.now(), options: { unchangedFrom?: SourceStateRecord; checkpointed?: boolean } = {}): Promise<void> {
    // The life it was read in (a poll's), else this one's (a stream's cursor, saved as it goes).
    const life = record.life ?? options.unchangedFrom?.life ?? (await currentRedisLife(this.redis, this.prefix));
    await this.redis.hset(this.key(brandId, sourceId), { cursor: JSON.stringify(record.cursor), resumeAt: String(record.resumeAt), hasMore: record.hasMore ? '1' : '0', life });
    if (!this.checkpoints || options.checkpointed) return;
    const done = await this.redis.smembers(this.doneKey(brandId, sourceId));
    if (done.length === 0 && options.unchangedFrom && sameState(options.unchangedFrom, record)) return;
    await this.checkpoints.updateOne({ _id: `${brandId}|${sourceId}` }, { $set: checkpointFields(record, at), ...unsetPending(done) }, { upsert: true });
    if (done.length) await this.redis.srem(this.doneKey(brandId, sourceId), ...done);
  }

  /**
   * The page was judged (or kept as a dead letter): a Redis loss no longer needs to refetch it.
   * Noted in Redis and taken off the checkpoint with the source's next checkpoint write (no MongoDB
   * round trip of its own); lost with Redis, it only means that page is fetched again.
   */
  async pageDone(brandId: string, sourceId: string, pageKey: string): Promise<void> {
    if (this.checkpoints) await this.redis.sadd(this.doneKey(brandId, sourceId), pageKey);
  }

  private doneKey(brandId: string, sourceId: string): string {
    return `${this.key(brandId, sourceId)}:pages-done`;
  }

  /** Counts posts the platform answered only in part. */
  async countSkipped(brandId: string, sourceId: string, n: number): Promise<void> {
    if (n > 0) await this.checkpoints?.updateOne({ _id: `${brandId}|${sourceId}` }, { $inc: { skipped: n } }, { upsert: true });
  }

  async checkpoint(brandId: string, sourceId: string): Promise<SourceCheckpoint | null> {
    return (await this.checkpoints?.findOne({ _id: `${brandId}|${sourceId}` })) ?? null;
  }

  /**
   * Redis has no state for the source but MongoDB has a checkpoint: resume before the oldest page
   * in flight, write that back to Redis, and forget the pending pages (they are fetched again).
   */
  private async restore(brandId: string, sourceId: string, life: string): Promise<SourceStateRecord | undefined> {
    const cp = await this.checkpoints!.findOne({ _id: `${brandId}|${sourceId}` });
    if (!cp) return undefined;
    const inFlight = Object.keys(cp.pending ?? {}).length > 0;
    const record: SourceStateRecord = { cursor: resumeFrom(cp), resumeAt: cp.resumeAt ?? 0, hasMore: inFlight || !!cp.hasMore, life };
    await this.redis.hset(this.key(brandId, sourceId), { cursor: JSON.stringify(record.cursor), resumeAt: String(record.resumeAt), hasMore: record.hasMore ? '1' : '0', life });
    await this.checkpoints!.updateOne({ _id: cp._id }, { $set: { cursor: record.cursor, pending: {}, hasMore: !!record.hasMore } });
    return record;
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
