import mongoose, { type Connection } from 'mongoose';
import type { Collection } from 'mongodb';
import type { Judgement } from '../analysis/judgement';
import type { Alert, AlertEvent } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import type { Mention } from '../domain/mention';
import { mentionKey } from '../domain/mention';
import { registerModels, type Models } from './models';
import { mongoSequence, type SequenceAllocator } from './sequence';

/** A mention as stored: the post, repwatch's judgement of it and when it was fetched. */
export interface StoredMention extends Mention {
  _id: string;
  judgement: Judgement;
  ingestedAt: Date;
}

export interface DeliveryRecord {
  _id: string;
  eventId: string;
  receiverId: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  sentAt?: Date;
  httpStatus?: number;
  reference?: string;
  lastError?: { code: string; message: string };
}

/**
 * insertMany that treats "already there" as success: with `ordered:false` every new document is
 * written, and duplicate-key errors (E11000) only tell us which ones existed. This is the
 * idempotent write the pipeline uses for bulk ingest: as safe as an upsert with $setOnInsert, and
 * as fast as a plain insert (FerretDB runs upserts one at a time, over 10× slower).
 * Returns the indexes of the documents that were already stored.
 */
export async function insertNew(coll: Collection<any>, docs: object[]): Promise<Set<number>> {
  const existing = new Set<number>();
  if (docs.length === 0) return existing;
  try {
    await coll.insertMany(docs as any[], { ordered: false });
  } catch (err) {
    const e = err as { code?: number; writeErrors?: { code?: number; index: number }[] | { code?: number; index: number } };
    const writeErrors = e.writeErrors === undefined ? [] : Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw err;
    for (const w of writeErrors) existing.add(w.index);
  }
  return existing;
}

export interface StoreOptions {
  uri: string;
  /** Database name when the URI names none (default 'repwatch'). */
  dbName?: string;
  serverSelectionTimeoutMS?: number;
  /** Where alert-stream sequence numbers come from; default a counter document in MongoDB. */
  sequence?: SequenceAllocator;
}

export class Store {
  private sequence: SequenceAllocator;

  private constructor(
    readonly conn: Connection,
    readonly models: Models,
    sequence?: SequenceAllocator,
  ) {
    this.sequence = sequence ?? mongoSequence(models.Counter.collection);
  }

  static async connect({ uri, dbName, serverSelectionTimeoutMS = 10_000, sequence }: StoreOptions): Promise<Store> {
    const conn = mongoose.createConnection(uri, {
      dbName: dbName ?? (new URL(uri.replace(/^mongodb(\+srv)?:/, 'http:')).pathname.slice(1) || 'repwatch'),
      serverSelectionTimeoutMS,
      bufferCommands: false,
      autoIndex: false,
      family: 4,
    });
    try {
      await conn.asPromise();
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', `cannot reach MongoDB: ${(err as Error).name}`, { cause: undefined });
    }
    const store = new Store(conn, registerModels(conn), sequence);
    // Indexes are part of correctness (they make writes idempotent), so they are created at start-up.
    for (const model of Object.values(store.models)) await model.createIndexes();
    // The counter exists before anyone increments it: concurrent first upserts would collide.
    await insertNew(store.models.Counter.collection, [{ _id: 'alert-stream', value: 0 }]);
    return store;
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  /** Stores mentions not stored before; returns how many were new. */
  async storeMentions(items: { mention: Mention; judgement: Judgement; ingestedAt: number }[]): Promise<{ inserted: number; duplicates: number }> {
    const docs = items.map(({ mention, judgement, ingestedAt }) => ({
      _id: mentionKey(mention),
      ...mention,
      judgement,
      ingestedAt: new Date(ingestedAt),
    }));
    const existing = await insertNew(this.models.Mention.collection, docs);
    return { inserted: docs.length - existing.size, duplicates: existing.size };
  }

  /** Reserves `n` consecutive sequence numbers of the alert stream; returns the first. */
  async reserveSequence(n: number): Promise<number> {
    return this.sequence.reserve(n);
  }

  /** The highest sequence number in the stream (0 when empty). */
  async lastSequence(): Promise<number> {
    const [last] = await this.models.AlertEvent.collection.find({}, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).toArray();
    return Number((last as any)?.seq ?? 0);
  }

  /**
   * Records alerts and appends one `alert.triggered` event for each alert not seen before.
   * Idempotent: an alert whose event exists gets no second one (the unique event id refuses it;
   * the sequence numbers reserved for it are skipped, so the stream only grows, with gaps).
   * Returns the events for all given alerts, new or already there, so a retried job still
   * enqueues their deliveries (each delivery is sent at most once per receiver anyway).
   * Three round trips for a page, whatever its number of alerts.
   */
  async raiseAlerts(alerts: Alert[]): Promise<{ events: AlertEvent[]; newEvents: number }> {
    if (alerts.length === 0) return { events: [], newEvents: 0 };
    await insertNew(this.models.Alert.collection, alerts.map((a) => ({ _id: a.id, fingerprint: a.id, ...a })));
    let pending = alerts;
    let newEvents = 0;
    const events: AlertEvent[] = [];
    // A refused insert is either the event already there (a retry: fine) or a sequence number
    // another writer also got (the counter's $inc is not atomic on every compatible server):
    // those are given fresh numbers and tried again.
    for (let round = 0; pending.length > 0; round++) {
      if (round === 10) throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', 'could not allocate alert-stream sequence numbers after 10 tries');
      const first = await this.reserveSequence(pending.length);
      const docs = pending.map((a, i) => this.eventDoc(a, first + i));
      const refused = await insertNew(this.models.AlertEvent.collection, docs);
      newEvents += docs.length - refused.size;
      const retry: Alert[] = [];
      for (const [i, doc] of docs.entries()) {
        if (refused.has(i) && !(await this.models.AlertEvent.collection.findOne({ _id: doc._id } as any, { projection: { _id: 1 } }))) retry.push(pending[i]);
        else events.push(Object.fromEntries(Object.entries(doc).filter(([k]) => k !== '_id')) as unknown as AlertEvent);
      }
      // Numbers were handed out twice: move the allocator past the stream's end before retrying.
      if (retry.length) await this.sequence.atLeast(await this.lastSequence());
      pending = retry;
    }
    return { events, newEvents };
  }

  private eventDoc(alert: Alert, seq: number): AlertEvent & { _id: string } {
    const id = `${alert.id}/triggered`;
    return { _id: id, id, seq, type: 'alert.triggered', alertId: alert.id, brandId: alert.brandId, severity: alert.severity, at: alert.createdAt, alert };
  }

  async getEvent(id: string): Promise<AlertEvent | null> {
    const doc = await this.models.AlertEvent.collection.findOne({ _id: id } as any);
    if (!doc) return null;
    const { _id, ...event } = doc as any;
    return event as AlertEvent;
  }

  /** Events after `seq`, oldest first: a consumer resumes from the last seq it saw. */
  async eventsAfter(seq: number, limit = 100): Promise<AlertEvent[]> {
    const docs = await this.models.AlertEvent.collection.find({ seq: { $gt: seq } }).sort({ seq: 1 }).limit(limit).toArray();
    return docs.map(({ _id, ...e }) => e as unknown as AlertEvent);
  }

  /**
   * Counts an attempt and tells whether this (event, receiver) was already delivered. The first
   * attempt is a plain insert (FerretDB runs upserts slowly); later ones find the record.
   */
  async claimDelivery(eventId: string, receiverId: string): Promise<DeliveryRecord> {
    const _id = `${eventId}|${receiverId}`;
    const fresh: DeliveryRecord = { _id, eventId, receiverId, status: 'pending', attempts: 1 };
    const existed = await insertNew(this.models.Delivery.collection, [fresh]);
    if (existed.size === 0) return fresh;
    const doc = await this.models.Delivery.collection.findOneAndUpdate({ _id } as any, { $inc: { attempts: 1 } }, { returnDocument: 'after' });
    return doc as unknown as DeliveryRecord;
  }

  async markDelivered(eventId: string, receiverId: string, at: number, httpStatus: number, reference?: string): Promise<void> {
    await this.models.Delivery.collection.updateOne(
      { _id: `${eventId}|${receiverId}` } as any,
      { $set: { status: 'sent', sentAt: new Date(at), httpStatus, ...(reference ? { reference } : {}) }, $unset: { lastError: '' } },
    );
  }

  async markDeliveryError(eventId: string, receiverId: string, error: { code: string; message: string }, final: boolean): Promise<void> {
    await this.models.Delivery.collection.updateOne(
      { _id: `${eventId}|${receiverId}` } as any,
      { $set: { lastError: error, ...(final ? { status: 'failed' } : {}) } },
    );
  }
}
