import { Schema, type Connection } from 'mongoose';

/**
 * Collections and their indexes. Documents use deterministic string `_id`s because the unique
 * key is what makes every write idempotent, and because `_id` equality is the one lookup every
 * MongoDB-compatible server (FerretDB's SQLite handler included) answers without a scan.
 * Schemas are `strict: false` with explicit indexes: the domain types are the schema of record.
 */
const opts = { strict: false, versionKey: false, _id: false } as const;

export const mentionSchema = new Schema({ _id: String, platform: String, postId: String }, { ...opts, collection: 'mentions' });
mentionSchema.index({ platform: 1, postId: 1 }, { unique: true });
mentionSchema.index({ brandId: 1, createdAt: -1 });

export const alertSchema = new Schema({ _id: String, fingerprint: String }, { ...opts, collection: 'alerts' });
alertSchema.index({ fingerprint: 1 }, { unique: true });
alertSchema.index({ brandId: 1, createdAt: -1 });

/** The append-only alert stream: one document per event, `seq` only grows. */
export const alertEventSchema = new Schema({ _id: String, seq: Number }, { ...opts, collection: 'alert_events' });
alertEventSchema.index({ seq: 1 }, { unique: true });

export const counterSchema = new Schema({ _id: String, value: Number }, { ...opts, collection: 'counters' });

/** One record per (alert event, receiver): the notification log that keeps a delivery from happening twice. */
export const deliverySchema = new Schema({ _id: String, eventId: String, receiverId: String }, { ...opts, collection: 'deliveries' });
deliverySchema.index({ eventId: 1, receiverId: 1 }, { unique: true });

export type Models = ReturnType<typeof registerModels>;

export function registerModels(conn: Connection) {
  return {
    Mention: conn.model('Mention', mentionSchema),
    Alert: conn.model('Alert', alertSchema),
    AlertEvent: conn.model('AlertEvent', alertEventSchema),
    Counter: conn.model('Counter', counterSchema),
    Delivery: conn.model('Delivery', deliverySchema),
  };
}
