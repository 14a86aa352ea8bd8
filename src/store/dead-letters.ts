import type { Collection } from 'mongodb';
import { insertNew, type Store } from './store';

/**
 * Work that failed for good, kept in MongoDB so it outlives Redis: an ingest page (its posts were
 * fetched but never judged), a delivery, or a post a platform answered only in part (`skipped`).
 * Nothing failed is silently final: an open dead letter raises a coverage alert for its source,
 * is retried by the minute sweep (ingest pages) and by `repwatch dlq retry`, and is resolved when
 * its job finally completes.
 */
export type DeadLetterStatus = 'open' | 'resolved' | 'skipped';

export interface DeadLetter {
  /** `<queue>|<job id>`: one record per job however often it fails. */
  _id: string;
  queue: 'ingest' | 'deliver' | 'poll';
  jobId: string;
  jobName: string;
  /** The job's data as it was queued: what a retry puts back. */
  data: unknown;
  brandId?: string;
  sourceId?: string;
  /** The receiver of a delivery. */
  receiverId?: string;
  /** Posts on the page (ingest). */
  posts?: number;
  /** The coded cause (RW_ERR_…, or the error's name) and its message. */
  code: string;
  reason: string;
  /** False when retrying cannot help (a permanent error); the sweep leaves those to a person. */
  recoverable: boolean;
  attempts: number;
  /** ms since epoch. */
  firstFailedAt: number;
  lastFailedAt: number;
  status: DeadLetterStatus;
  /** Retries made from the dead-letter state (sweep or command), and when the sweep tries next. */
  retries: number;
  nextRetryAt?: number;
  lastRetryAt?: number;
  resolvedAt?: number;
}

export type DeadLetterInput = Omit<DeadLetter, '_id' | 'firstFailedAt' | 'lastFailedAt' | 'status' | 'retries' | 'nextRetryAt' | 'lastRetryAt' | 'resolvedAt'> & { at: number };

/** The sweep's own backoff for a dead letter's n-th retry: 1, 2, 4 … minutes, at most an hour. */
export const SWEEP_RETRY_BASE_MS = 60_000;
export const SWEEP_RETRY_MAX_MS = 60 * 60_000;
export function sweepRetryDelay(retries: number): number {
  return Math.min(SWEEP_RETRY_MAX_MS, SWEEP_RETRY_BASE_MS * 2 ** Math.max(0, retries));
}

export const deadLetterIdOf = (queue: string, jobId: string) => `${queue}|${jobId}`;

export class DeadLetters {
  readonly coll: Collection<DeadLetter>;

  constructor(store: Store) {
    this.coll = store.conn.db!.collection<DeadLetter>('dead_letters');
  }

  /**
   * Records a failure for good (again): the first one inserts, later ones update the same record
   * and reopen it. Returns whether it was open before, so the caller raises the alert once.
   */
  async record(input: DeadLetterInput): Promise<{ created: boolean; reopened: boolean }> {
    const { at, ...rest } = input;
    const _id = deadLetterIdOf(input.queue, input.jobId);
    const doc: DeadLetter = { _id, ...rest, firstFailedAt: at, lastFailedAt: at, status: 'open', retries: 0, nextRetryAt: at + sweepRetryDelay(0) };
    if ((await insertNew(this.coll, [doc])).size === 0) return { created: true, reopened: false };
    const before = await this.coll.findOneAndUpdate(
      { _id },
      {
        $set: { code: rest.code, reason: rest.reason, recoverable: rest.recoverable, attempts: rest.attempts, lastFailedAt: at, status: 'open', data: rest.data },
        $unset: { resolvedAt: '' },
      },
      { returnDocument: 'before' },
    );
    return { created: false, reopened: before?.status !== 'open' };
  }

  /** Records it only if there is no record yet (the sweep's scan of the failed sets). */
  async recordIfMissing(input: DeadLetterInput): Promise<boolean> {
    const { at, ...rest } = input;
    const doc: DeadLetter = { _id: deadLetterIdOf(input.queue, input.jobId), ...rest, firstFailedAt: at, lastFailedAt: at, status: 'open', retries: 0, nextRetryAt: at + sweepRetryDelay(0) };
    return (await insertNew(this.coll, [doc])).size === 0;
  }

  /** Posts a platform returned only in part: kept with their reason, never retried. */
  async recordSkipped(items: { brandId: string; sourceId: string; key: string; reason: string; at: number }[]): Promise<void> {
    const docs: DeadLetter[] = items.map((i) => ({
      _id: deadLetterIdOf('poll', `skipped|${i.brandId}|${i.key}`),
      queue: 'poll',
      jobId: `skipped|${i.brandId}|${i.key}`,
      jobName: 'skipped',
      data: { postKey: i.key },
      brandId: i.brandId,
      sourceId: i.sourceId,
      posts: 1,
      code: 'PARTIAL',
      reason: i.reason,
      recoverable: false,
      attempts: 1,
      firstFailedAt: i.at,
      lastFailedAt: i.at,
      status: 'skipped',
      retries: 0,
    }));
    await insertNew(this.coll, docs);
  }

  async get(id: string): Promise<DeadLetter | null> {
    return this.coll.findOne({ _id: id });
  }

  /** Marks the dead letter of a job that finally completed; returns it when it was open. */
  async resolve(queue: string, jobId: string, at: number): Promise<DeadLetter | null> {
    return this.coll.findOneAndUpdate({ _id: deadLetterIdOf(queue, jobId), status: 'open' }, { $set: { status: 'resolved', resolvedAt: at } }, { returnDocument: 'after' });
  }

  /** Counts a retry and sets when the sweep may try again. */
  async markRetried(id: string, at: number): Promise<void> {
    // Only the retry fields: the job may complete and resolve the record at the same moment.
    const after = await this.coll.findOneAndUpdate({ _id: id }, { $inc: { retries: 1 }, $set: { lastRetryAt: at } }, { returnDocument: 'after' });
    if (after) await this.coll.updateOne({ _id: id }, { $set: { nextRetryAt: at + sweepRetryDelay(after.retries) } });
  }

  /** Dead letters, newest failure first (a scan: the collection stays small). */
  async list(filter: { status?: DeadLetterStatus; queue?: DeadLetter['queue']; brandId?: string; sourceId?: string } = {}, limit = 0): Promise<DeadLetter[]> {
    const q: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q[k] = v;
    return this.coll.find(q).sort({ lastFailedAt: -1 }).limit(limit).toArray();
  }

  /** Open, recoverable ingest pages whose sweep retry is due. */
  async dueForRetry(now: number): Promise<DeadLetter[]> {
    const open = await this.coll.find({ status: 'open', queue: 'ingest' }).toArray();
    return open.filter((d) => d.recoverable && (d.nextRetryAt ?? 0) <= now);
  }

  /** How many are open per queue, and how many posts were skipped: what the metrics expose. */
  async count(): Promise<{ open: Record<DeadLetter['queue'], number>; skipped: number }> {
    const open = { ingest: 0, deliver: 0, poll: 0 };
    for (const d of await this.coll.find({ status: 'open' }, { projection: { queue: 1 } }).toArray()) open[d.queue] = (open[d.queue] ?? 0) + 1;
    return { open, skipped: await this.coll.countDocuments({ status: 'skipped' }) };
  }
}
