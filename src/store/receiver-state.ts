import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { insertNew, type Store } from './store';

/** A receiver's operating state, as operators see it (API, metrics, CLI). */
export interface ReceiverStateRecord {
  receiverId: string;
  state: 'enabled' | 'disabled';
  /** ms since epoch of the last change. */
  since: number;
  /** Why it was disabled (or who enabled it again), in words. */
  reason: string;
  /** The error code that disabled it (RW_ERR_RECEIVER_GONE). */
  code?: string;
  /** Who enabled it again. */
  by?: string;
}

/**
 * How long a process sends with the receiver states it read when it has no word of changes: a
 * receiver disabled or enabled by another process is seen at most this much later (the process
 * that changes one sees it at once).
 */
export const RECEIVER_STATE_CACHE_MS = 2_000;
/**
 * With `changes` (a Redis key every change replaces), a process reads the states again when the key
 * says they changed, and at least this often for a change made around repwatch (by hand in MongoDB).
 */
export const RECEIVER_STATE_LONGEST_CACHE_MS = 60_000;
const cached = new WeakMap<Store, { readAt: number; version: string | null; disabled: Map<string, ReceiverStateRecord> }>();
const reading = new WeakMap<Store, { version: string | null; read: Promise<Map<string, ReceiverStateRecord>> }>();

/** Where changes to receiver states are announced: one Redis key whose value every change replaces. */
export interface ReceiverStateChanges {
  redis: Redis;
  prefix: string;
}

/**
 * Receivers repwatch stopped sending to: a webhook endpoint that answered 410 Gone asked to be
 * disabled (Standard Webhooks). Kept in MongoDB, one document per receiver by `_id`, so every
 * process sees it and it survives restarts; receivers never disabled have no document and are
 * enabled.
 */
export class ReceiverState {
  /** `changes`: without it, every delivery process reads the states again every RECEIVER_STATE_CACHE_MS (a MongoDB read a delivery or so at a steady trickle). */
  constructor(
    private readonly store: Store,
    private readonly changes?: ReceiverStateChanges,
  ) {}

  private get coll() {
    return this.store.models.ReceiverState.collection;
  }

  private get versionKey() {
    return `${this.changes!.prefix}:receiver-states-version`;
  }

  /**
   * The version of the receiver states now: the Redis key, created when missing (never changed, or
   * Redis lost it: a new version then makes every process read the states again).
   */
  private async version(): Promise<string | null> {
    if (!this.changes) return null;
    const { redis } = this.changes;
    const now = await redis.get(this.versionKey);
    if (now !== null) return now;
    await redis.set(this.versionKey, randomUUID(), 'NX');
    return redis.get(this.versionKey);
  }

  /** The disabled receivers: one small read for all, again when a change was announced (or, without `changes`, every RECEIVER_STATE_CACHE_MS). */
  private async disabled(): Promise<Map<string, ReceiverStateRecord>> {
    // The version is read before the states: a change announced after this read is seen next time.
    const version = await this.version();
    const hit = cached.get(this.store);
    const age = hit ? Date.now() - hit.readAt : Infinity;
    if (hit && (version !== null ? hit.version === version && age < RECEIVER_STATE_LONGEST_CACHE_MS : age < RECEIVER_STATE_CACHE_MS)) return hit.disabled;
    // Deliveries run concurrently: those that find the cache stale at once share one read.
    const pending = reading.get(this.store);
    if (pending && pending.version === version) return pending.read;
    const readAt = Date.now();
    const read = this.coll
      .find({ state: 'disabled' } as any)
      .toArray()
      .then((docs) => {
        const disabled = new Map(docs.map(recordOf).map((r) => [r.receiverId, r]));
        cached.set(this.store, { readAt, version, disabled });
        return disabled;
      })
      .finally(() => {
        if (reading.get(this.store)?.read === read) reading.delete(this.store);
      });
    reading.set(this.store, { version, read });
    return read;
  }

  /** After a change: this process reads the states again, and so does every other that shares `changes`. */
  private async announce(): Promise<void> {
    cached.delete(this.store);
    reading.delete(this.store);
    if (this.changes) await this.changes.redis.set(this.versionKey, randomUUID());
  }

  /** The receiver's state; `enabled` (since 0) when it was never disabled. */
  async get(receiverId: string): Promise<ReceiverStateRecord> {
    const doc = await this.coll.findOne({ _id: receiverId } as any);
    return doc ? recordOf(doc) : { receiverId, state: 'enabled', since: 0, reason: 'never disabled' };
  }

  async isDisabled(receiverId: string): Promise<ReceiverStateRecord | undefined> {
    return (await this.disabled()).get(receiverId);
  }

  /** Every receiver that was ever disabled, with its state now (the API and metrics read this). */
  async list(): Promise<ReceiverStateRecord[]> {
    return (await this.coll.find({}).toArray()).map(recordOf).sort((a, b) => a.receiverId.localeCompare(b.receiverId));
  }

  /** Disables the receiver; a receiver already disabled keeps its first `since` and reason. */
  async disable(receiverId: string, reason: string, code: string, now: number): Promise<ReceiverStateRecord> {
    const doc = { _id: receiverId, state: 'disabled', since: now, reason, code };
    const existed = await insertNew(this.coll, [doc]);
    if (existed.size) await this.coll.updateOne({ _id: receiverId, state: { $ne: 'disabled' } } as any, { $set: { state: 'disabled', since: now, reason, code }, $unset: { by: '' } });
    await this.announce();
    return this.get(receiverId);
  }

  /** Enables the receiver again (the API and CLI call this once the endpoint is back). */
  async enable(receiverId: string, by: string, now: number): Promise<ReceiverStateRecord> {
    await this.coll.updateOne({ _id: receiverId } as any, { $set: { state: 'enabled', since: now, reason: `enabled again by ${by}`, by }, $unset: { code: '' } });
    await this.announce();
    return this.get(receiverId);
  }
}

function recordOf(doc: any): ReceiverStateRecord {
  return {
    receiverId: String(doc._id),
    state: doc.state === 'disabled' ? 'disabled' : 'enabled',
    since: Number(doc.since ?? 0),
    reason: String(doc.reason ?? ''),
    ...(doc.code ? { code: String(doc.code) } : {}),
    ...(doc.by ? { by: String(doc.by) } : {}),
  };
}
