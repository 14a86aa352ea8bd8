import mongoose, { type Connection } from 'mongoose';
import type { Collection } from 'mongodb';
import type { Judgement } from '../analysis/judgement';
import type { Alert, AlertEvent } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import type { Mention } from '../domain/mention';
import { mentionKey } from '../domain/mention';
import { registerModels, type Models } from './models';

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
}

export class Store {
  private constructor(
    readonly conn: Connection,
    readonly models: Models,
  ) {}

  static async connect({ uri, dbName, serverSelectionTimeoutMS = 10_000 }: StoreOptions): Promise<Store> {
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
    const store = new Store(conn, registerModels(conn));
    // Indexes are part of correctness (they make writes idempotent), so they are created at start-up.
    for (const model of Object.values(store.models)) await model.createIndexes();
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
    const doc = await this.models.Counter.collection.findOneAndUpdate(
      { _id: 'alert-stream' } as any,
      { $inc: { value: n } },
      { upsert: true, returnDocument: 'after' },
    );
    return (doc as any).value - n + 1;
  }

  /**
   * Records alerts and appends one `alert.triggered` event for each alert not seen before.
   * Idempotent: an alert whose fingerprint exists gets no new event. Returns the ids of the
   * events for all given alerts (new or already there), so a retried job still enqueues their
   * deliveries (each delivery is sent at most once per receiver anyway).
   */
  async raiseAlerts(alerts: Alert[]): Promise<{ events: AlertEvent[]; newEvents: number }> {
    if (alerts.length === 0) return { events: [], newEvents: 0 };
    const alertDocs = alerts.map((a) => ({ _id: a.id, fingerprint: a.id, ...a }));
    await insertNew(this.models.Alert.collection, alertDocs);
    const eventIds = alerts.map((a) => `${a.id}/triggered`);
    const existing = new Set(
      (await Promise.all(eventIds.map((id) => this.models.AlertEvent.collection.findOne({ _id: id } as any, { projection: { _id: 1 } }))))
        .filter(Boolean)
        .map((d) => String((d as any)._id)),
    );
    const fresh = alerts.filter((a, i) => !existing.has(eventIds[i]));
    let newEvents = 0;
    if (fresh.length) {
      const first = await this.reserveSequence(fresh.length);
      const docs = fresh.map((a, i) => this.eventDoc(a, first + i));
      const dup = await insertNew(this.models.AlertEvent.collection, docs);
      newEvents = docs.length - dup.size;
    }
    const events = (await Promise.all(eventIds.map((id) => this.getEvent(id)))).filter((e): e is AlertEvent => e !== null);
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

  /** Counts an attempt and tells whether this (event, receiver) was already delivered. */
  async claimDelivery(eventId: string, receiverId: string): Promise<DeliveryRecord> {
    const _id = `${eventId}|${receiverId}`;
    const doc = await this.models.Delivery.collection.findOneAndUpdate(
      { _id } as any,
      { $setOnInsert: { eventId, receiverId, status: 'pending' }, $inc: { attempts: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
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
