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

/** Alerts by id: the fingerprint, with ~N for the Nth alert of a fingerprint after resolved ones. */
export const alertSchema = new Schema({ _id: String, fingerprint: String }, { ...opts, collection: 'alerts' });
alertSchema.index({ fingerprint: 1, createdAt: 1 }, { unique: true });
alertSchema.index({ brandId: 1, createdAt: -1 });
alertSchema.index({ status: 1, slaDeadline: 1 });
/** The API's alert list: newest first, paged by (createdAt, id); and a storm's grouped alerts. */
alertSchema.index({ createdAt: -1, _id: -1 });
alertSchema.index({ stormId: 1 });

/**
 * What a brand's page reads first and writes last, one keyed document each, so that it is one read
 * and one write of one collection: the current alert of each fingerprint (the alert head, `_id`
 * the fingerprint), the brand's storm trackers (`tracker|<brand>/<topic>`, `terms|<brand>`) and
 * its cases (`case|<case id>`, with `kind: 'case'`: one customer's story across channels, see
 * domain/cases.ts); see store.ts. Stores written before keep them in `alert_heads`,
 * `storm_trackers` and `cases`: moved here at start-up (Store.connect).
 */
export const pageStateSchema = new Schema({ _id: String, kind: String, brandId: String }, { ...opts, collection: 'page_state' });
/** Cases by brand and state (the case index's rebuild, the API's list). */
pageStateSchema.index({ kind: 1, brandId: 1, state: 1 });
/** The API: an alert's posts, from its membership records (`member|<alert id>|<post key>`, `kind: 'member'`). */
pageStateSchema.index({ kind: 1, alertId: 1 });

/** Per (alert, receiver): when it was first and last notified, for the grouping timers, and its Slack thread. */
export const notificationLogSchema = new Schema({ _id: String }, { ...opts, collection: 'notification_log' });

/** The append-only alert stream: one document per event, `seq` only grows. */
export const alertEventSchema = new Schema({ _id: String, seq: Number }, { ...opts, collection: 'alert_events' });
alertEventSchema.index({ seq: 1 }, { unique: true });
alertEventSchema.index({ alertId: 1, seq: -1 });
/** The outbox sweep: events whose deliveries were not handed on yet (the marker is removed after). */
alertEventSchema.index({ undeliveredSince: 1 });

export const counterSchema = new Schema({ _id: String, value: Number }, { ...opts, collection: 'counters' });

/** One record per (alert event, receiver): the notification log that keeps a delivery from happening twice. */
export const deliverySchema = new Schema({ _id: String, eventId: String, receiverId: String }, { ...opts, collection: 'deliveries' });
deliverySchema.index({ eventId: 1, receiverId: 1 }, { unique: true });

/** Per receiver: disabled (a webhook answered 410 Gone) or enabled again, since when and why (store/receiver-state.ts). */
export const receiverStateSchema = new Schema({ _id: String }, { ...opts, collection: 'receiver_states' });

export type Models = ReturnType<typeof registerModels>;

export function registerModels(conn: Connection) {
  return {
    Mention: conn.model('Mention', mentionSchema),
    Alert: conn.model('Alert', alertSchema),
    AlertEvent: conn.model('AlertEvent', alertEventSchema),
    Counter: conn.model('Counter', counterSchema),
    Delivery: conn.model('Delivery', deliverySchema),
    PageState: conn.model('PageState', pageStateSchema),
    NotificationLog: conn.model('NotificationLog', notificationLogSchema),
    ReceiverState: conn.model('ReceiverState', receiverStateSchema),
  };
}
