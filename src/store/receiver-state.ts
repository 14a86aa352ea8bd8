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
 * Receivers repwatch stopped sending to: a webhook endpoint that answered 410 Gone asked to be
 * disabled (Standard Webhooks). Kept in MongoDB, one document per receiver by `_id`, so every
 * process sees it and it survives restarts; receivers never disabled have no document and are
 * enabled.
 */
/**
 * How long a process sends with the receiver states it read: each delivery checks its receiver,
 * and a receiver disabled or enabled by another process is seen at most this much later (the
 * process that changes one sees it at once).
 */
export const RECEIVER_STATE_CACHE_MS = 2_000;
const cached = new WeakMap<Store, { readAt: number; disabled: Map<string, ReceiverStateRecord> }>();

export class ReceiverState {
  constructor(private readonly store: Store) {}

  private get coll() {
    return this.store.models.ReceiverState.collection;
  }

  /** The disabled receivers, read at most every RECEIVER_STATE_CACHE_MS per process (one small read for all). */
  private async disabled(): Promise<Map<string, ReceiverStateRecord>> {
    const hit = cached.get(this.store);
    if (hit && Date.now() - hit.readAt < RECEIVER_STATE_CACHE_MS) return hit.disabled;
    const readAt = Date.now();
    const records = (await this.coll.find({ state: 'disabled' } as any).toArray()).map(recordOf);
    const disabled = new Map(records.map((r) => [r.receiverId, r]));
    cached.set(this.store, { readAt, disabled });
    return disabled;
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
    cached.delete(this.store);
    return this.get(receiverId);
  }

  /** Enables the receiver again (the API and CLI call this once the endpoint is back). */
  async enable(receiverId: string, by: string, now: number): Promise<ReceiverStateRecord> {
    await this.coll.updateOne({ _id: receiverId } as any, { $set: { state: 'enabled', since: now, reason: `enabled again by ${by}`, by }, $unset: { code: '' } });
    cached.delete(this.store);
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
