import mongoose, { type Connection } from 'mongoose';
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import type { Judgement } from '../analysis/judgement';
import type { Alert, AlertEvent, AlertEventType } from '../domain/alert';
import type { Case } from '../domain/cases';
import type { EngagementSample } from '../domain/impact';
import type { StormTracker } from '../domain/storms';
import type { TermClusterTracker } from '../domain/term-clusters';
import { RepwatchError } from '../domain/errors';
import type { Mention } from '../domain/mention';
import { mentionKey } from '../domain/mention';
import { registerModels, type Models } from './models';
import { databaseNameOf } from './mongo-uri';
import { mongoSequence, type SequenceAllocator } from './sequence';

/** A mention as stored: the post, repwatch's judgement of it and when it was fetched. */
export interface StoredMention extends Mention {
  _id: string;
  judgement: Judgement;
  ingestedAt: Date;
  /** Engagement measured again after the post was first seen (rechecks). */
  samples?: EngagementSample[];
}

/** One change to append to the alert stream: the alert as it is after the change. */
export interface EventInput {
  type: AlertEventType;
  alert: Alert;
  /** ISO 8601. */
  at: string;
  by?: string;
  /** What the person who acknowledged or resolved it said. */
  comment?: string;
}

/** Deterministic: the same change of the same alert always has the same id (also the webhook-id). */
export function eventIdOf(change: Pick<EventInput, 'type' | 'alert'>): string {
  return eventIdFor(change.alert.id, change.alert.version, change.type);
}

/** The id of the event of `type` that records version `version` of an alert. */
export function eventIdFor(alertId: string, version: number, type: AlertEventType): string {
  return `${alertId}/v${version}/${type.split('.')[1]}`;
}

/** The alert as a change records it: it names the event that recorded this version of it. */
export function withEventId(change: EventInput): EventInput {
  return { ...change, alert: { ...change.alert, lastEventId: eventIdOf(change) } };
}

/**
 * The outbox marker: an event is written with `undeliveredSince` (its time, ms) in the same insert
 * that appends it, and the marker is removed once its deliveries and timers are handed on
 * (services/outbox.ts). What a crash leaves between the two is found by the marker.
 */
export const OUTBOX_MARKER = 'undeliveredSince';

/** An event as appendEvents returns it: still marked when its deliveries were not handed on yet. */
export type AppendedEvent = AlertEvent & { [OUTBOX_MARKER]?: number };

export function isUndelivered(event: AlertEvent): boolean {
  return typeof (event as AppendedEvent)[OUTBOX_MARKER] === 'number';
}

/**
 * Whether an event has anything to hand on: deliveries (an alert grouped into a storm is told
 * through the storm, so its own changes have none) or an SLA timer. Events without are not marked.
 */
function needsHandOn(c: EventInput): boolean {
  const a = c.alert;
  return !a.stormId || (!!a.slaDeadline && a.status === 'triggered' && !a.escalatedAt);
}

function eventDoc(c: EventInput, seq: number): AppendedEvent & { _id: string } {
  const id = eventIdOf(c);
  const marker = Date.parse(c.at);
  return {
    _id: id,
    id,
    seq,
    type: c.type,
    alertId: c.alert.id,
    brandId: c.alert.brandId,
    severity: c.alert.severity,
    at: c.at,
    ...(c.by ? { by: c.by } : {}),
    ...(c.comment ? { comment: c.comment } : {}),
    alert: c.alert,
    ...(needsHandOn(c) ? { [OUTBOX_MARKER]: Number.isFinite(marker) ? marker : 0 } : {}),
  };
}

function withoutId(doc: any): any {
  const { _id, ...rest } = doc;
  return rest;
}

/** An event as readers see it: without the outbox marker (an internal state, not part of the event). */
export function eventOf(doc: any): AlertEvent {
  const { _id, [OUTBOX_MARKER]: _marker, ...rest } = doc;
  return rest as AlertEvent;
}

/** Where a brand's term-cluster tracker is kept in `page_state`. */
export const termClustersKey = (brandId: string) => `terms|${brandId}`;
/** Where the storm tracker of a storm key (`<brand>/<topic>`) is kept in `page_state` (alert heads there are keyed by fingerprint). */
export const stormTrackerKey = (stormKey: string) => `tracker|${stormKey}`;

/** Where a case is kept in `page_state`, and what marks it there (queries on cases filter on it). */
export const caseDocId = (caseId: string) => `case|${caseId}`;
export const CASE_KIND = 'case';
/** A query on cases: the filter with the mark that tells cases from the rest of `page_state`. */
export const caseFilter = (filter: Record<string, unknown> = {}) => ({ kind: CASE_KIND, ...filter });

/** Where a membership record (`<alert or fingerprint>|<post key>`, see memberships.ts) is kept in `page_state`, and its mark. */
export const memberDocId = (key: string) => `member|${key}`;
export const MEMBER_KIND = 'member';
/** A query on an alert's membership records (its posts). */
export const membersOfAlertFilter = (alertId: string) => ({ kind: MEMBER_KIND, alertId });

/** Where the cases a post is in are recorded in `page_state` (by the post's key): `{ caseIds }`. */
export const postCasesDocId = (postKey: string) => `postcases|${postKey}`;

/** A case as stored, as the domain knows it (without `_id` and its mark). */
export function caseOf(doc: any): Case {
  const { _id, kind: _kind, ...c } = doc;
  return c as Case;
}

function caseDoc(c: Case): { _id: string } {
  return { _id: caseDocId(c.id), kind: CASE_KIND, ...c } as { _id: string };
}

/**
 * The current alert of a fingerprint, and which alert of the fingerprint it is (1, then ~2, ~3…).
 * `alert`: a copy of that alert as last written, kept beside the `alerts` document so a page reads
 * its heads and their alerts in one round trip. Every writer of an alert writes both (see
 * `saveAlerts`); a head without a copy (written before copies, or by coverage) is read from `alerts`.
 */
export interface StoredHead {
  alertId: string;
  generation: number;
  alert?: Alert;
}

/** The head's copy of its alert, when it has one of the alert it names. */
export function copyOfHead(head: StoredHead): Alert | undefined {
  return head.alert && head.alert.id === head.alertId ? head.alert : undefined;
}

/** A brand's page state as read at the start of a page (see `Store.readPageState`). */
export interface PageStateRead {
  heads: Map<string, StoredHead>;
  /** By storm key (`<brand>/<topic>`). */
  trackers: Map<string, StormTracker>;
  clusters?: TermClusterTracker;
  /** By case id. */
  cases: Map<string, Case>;
  /** By post key: the cases the post is in (posts asked for and recorded in one). */
  postCases: Map<string, string[]>;
  /** The `page_state` ids found: written back as replacements rather than inserts. */
  stored: Set<string>;
}

/** What a page changed of its brand's page state. */
export interface PageStateWrite {
  /** Heads that moved or whose alert changed, each with its alert as the page left it. */
  heads: HeadWrite[];
  trackers: Map<string, StormTracker>;
  clusters?: TermClusterTracker;
  cases: Case[];
  /** Post key → the cases the post is in now, for posts the page added to a case. */
  postCases?: ReadonlyMap<string, readonly string[]>;
  /** Membership records of the posts the page counted (memberships.ts: membershipDocs). */
  members?: { _id: string }[];
}

/** The notification log of (alert, receiver): its `_id`. */
export const notificationLogKey = (alertId: string, receiverId: string) => `${alertId}|${receiverId}`;

/** The first event routed to (alert, receiver): its grouping timers start at `at`. */
export interface FirstEvent {
  alertId: string;
  receiverId: string;
  at: number;
}

/** An event handed on to a receiver and not finished yet (sent, superseded or failed for good). */
export interface OpenDelivery {
  eventId: string;
  seq: number;
  /** When it was handed on (ms, service clock): later events stop waiting for it after a limit. */
  at: number;
}

export interface NotificationLogRecord {
  /** ms since epoch of the first event routed to the receiver. */
  firstEventAt?: number;
  lastSentAt?: number;
  lastSentVersion?: number;
  /** The highest stream seq of this alert sent to this receiver, and its event: nothing older is sent after it. */
  lastSentSeq?: number;
  lastSentEventId?: string;
  /** Handed-on events of this alert to this receiver not finished yet, keyed `s<seq>`. */
  open?: Record<string, OpenDelivery>;
  /** Slack bot: the ts of the case's first message in this receiver's channel, for threading. */
  threadRef?: string;
  /** Slack bot: the job starting the thread (claimed before its first message, so only one starts it). */
  threadClaim?: string;
  threadClaimedAt?: number;
}

/** The `open` key of an event. */
export const openKeyOf = (seq: number) => `s${seq}`;

export interface DeliveryRecord {
  _id: string;
  eventId: string;
  receiverId: string;
  /** superseded: a later event of the same alert went to this receiver instead (supersededBy). */
  status: 'pending' | 'sent' | 'failed' | 'superseded';
  attempts: number;
  supersededBy?: string;
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
  if (docs.length === 0) return new Set();
  try {
    await coll.insertMany(docs as any[], { ordered: false });
  } catch (err) {
    const existing = duplicateIndexes(err);
    if (!existing) throw err;
    return existing;
  }
  return new Set();
}

/** The indexes a bulk write refused as duplicate keys (E11000), or undefined when it failed otherwise. */
function duplicateIndexes(err: unknown): Set<number> | undefined {
  const e = err as { writeErrors?: { code?: number; index: number }[] | { code?: number; index: number } };
  const writeErrors = e.writeErrors === undefined ? [] : Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
  if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) return undefined;
  return new Set(writeErrors.map((w) => w.index));
}

/**
 * Updates per bulk write; larger batches go in chunks of this size, one after the other. The
 * unpatched FerretDB held one pooled connection per statement of an update command until the
 * whole command ended (100 in its pool): two bulks of about 50 at once took every connection and
 * waited for one for ever, so this was 16. scripts/ferretdb/atomic-updates.patch closes each
 * statement's read when the statement ends (store-atomicity.test.ts runs a bulk of 200), so a
 * page's page state (its heads, trackers, cases, memberships and post-case records: over 64
 * documents on about half the bench's pages) is one round trip again, up to that tested size.
 */
const BULK_CHUNK = 200;
/** Ids per `$in` read: one round trip each (the local FerretDB build answers `_id $in` from its index). */
const READ_CHUNK = 500;

export async function bulkInChunks(coll: Collection<any>, ops: AnyBulkWriteOperation<any>[]): Promise<void> {
  for (let i = 0; i < ops.length; i += BULK_CHUNK) await coll.bulkWrite(ops.slice(i, i + BULK_CHUNK), { ordered: false });
}

/**
 * Creates a model's indexes when some are missing. Every process starts with this (workers, and
 * each CLI command), and creating indexes that exist is not free on FerretDB: it takes its
 * metadata lock for writing and then waits for a SQLite connection, so with its pool busy every
 * other command waited behind it. Listing them takes no such lock.
 */
async function ensureIndexes(model: { schema: { indexes(): [Record<string, unknown>, unknown][] }; collection: Collection<any>; createIndexes(): Promise<unknown> }): Promise<void> {
  const wanted = model.schema.indexes();
  if (wanted.length === 0) return;
  let existing: { key?: Record<string, unknown> }[] = [];
  try {
    existing = await model.collection.listIndexes().toArray();
  } catch {
    // A collection not created yet has no indexes.
  }
  const keyOf = (key: Record<string, unknown>) => JSON.stringify(Object.entries(key).map(([k, v]) => [k, Number(v)]));
  const have = new Set(existing.map((ix) => keyOf(ix.key ?? {})));
  if (wanted.every(([fields]) => have.has(keyOf(fields)))) return;
  await model.createIndexes();
}

/** Documents by `_id`, keyed by it, without the `_id` field: one `$in` read per READ_CHUNK ids. */
export async function docsById<T>(coll: Collection<any>, ids: Iterable<string>): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += READ_CHUNK) {
    // All in the first batch: no server-side cursor is left between batches. (FerretDB holds a
    // SQLite connection per open cursor until it times out; cursors of killed clients used up its
    // pool, and its start-up index creation then waited for a connection for ever.)
    const docs = await coll.find({ _id: { $in: unique.slice(i, i + READ_CHUNK) } }, { batchSize: READ_CHUNK }).toArray();
    for (const d of docs) out.set(String(d._id), withoutId(d) as T);
  }
  return out;
}

export type HeadWrite = { fingerprint: string; alertId: string; generation: number; alert?: Alert };

function headDoc(h: HeadWrite): { _id: string } & StoredHead {
  return { _id: h.fingerprint, alertId: h.alertId, generation: h.generation, ...(h.alert ? { alert: h.alert } : {}) };
}

/** Copies every document of `from` into `to` under a new id (one already there is kept), then empties `from`. */
async function moveDocs(from: Collection<any>, to: Collection<any>, idOf: (id: string) => string, mark: Record<string, unknown> = {}): Promise<void> {
  for (;;) {
    const docs = await from.find({}, { batchSize: READ_CHUNK }).limit(READ_CHUNK).toArray();
    if (docs.length === 0) break;
    await insertNew(to, docs.map((d) => ({ ...d, ...mark, _id: idOf(String(d._id)) })));
    await from.deleteMany({ _id: { $in: docs.map((d) => d._id) } });
  }
  await from.drop().catch(() => undefined);
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
      dbName: dbName ?? databaseNameOf(uri) ?? 'repwatch',
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
    for (const model of Object.values(store.models)) await ensureIndexes(model);
    // The counter exists before anyone increments it: concurrent first upserts would collide.
    await insertNew(store.models.Counter.collection, [{ _id: 'alert-stream', value: 0 }]);
    await store.moveToPageState();
    return store;
  }

  /**
   * Stores written before `page_state` existed kept alert heads in `alert_heads`, storm trackers in
   * `storm_trackers` (and, before that, term clusters in `term_clusters`), cases in `cases` and
   * membership records in `alert_members`: moved into `page_state` once. The heads collection is
   * renamed when `page_state` does not exist yet (no copy of what may be many documents); otherwise
   * documents are copied, a copy already there (a newer write) kept.
   * Stop workers of the earlier version first: one still running would write the old collections.
   */
  private async moveToPageState(): Promise<void> {
    const db = this.conn.db;
    if (!db) return;
    const names = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
    const target = this.models.PageState.collection;
    if (names.has('alert_heads')) {
      let renamed = false;
      if (!names.has('page_state')) {
        // Two processes starting at once: one renames, the other's rename fails and finds nothing left to move.
        renamed = await db.renameCollection('alert_heads', 'page_state').then(
          () => true,
          () => false,
        );
      }
      if (!renamed) await moveDocs(db.collection('alert_heads'), target, (id) => id);
    }
    if (names.has('storm_trackers')) await moveDocs(db.collection('storm_trackers'), target, (id) => (id.startsWith('terms|') ? id : stormTrackerKey(id)));
    if (names.has('term_clusters')) await moveDocs(db.collection('term_clusters'), target, (id) => termClustersKey(id));
    if (names.has('cases')) await moveDocs(db.collection('cases'), target, (id) => caseDocId(id), { kind: CASE_KIND });
    if (names.has('alert_members')) await moveDocs(db.collection('alert_members'), target, (id) => memberDocId(id), { kind: MEMBER_KIND });
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  /** Stores mentions not stored before; returns how many were new, and which (by index) were stored already. */
  async storeMentions(items: { mention: Mention; judgement: Judgement; ingestedAt: number }[]): Promise<{ inserted: number; duplicates: number; existing: Set<number> }> {
    const docs = items.map(({ mention, judgement, ingestedAt }) => ({
      _id: mentionKey(mention),
      ...mention,
      judgement,
      ingestedAt: new Date(ingestedAt),
    }));
    const existing = await insertNew(this.models.Mention.collection, docs);
    return { inserted: docs.length - existing.size, duplicates: existing.size, existing };
  }

  async getMention(key: string): Promise<StoredMention | undefined> {
    const doc = await this.models.Mention.collection.findOne({ _id: key } as any);
    return doc ? ({ ...doc, _id: String(doc._id) } as unknown as StoredMention) : undefined;
  }

  /** Records a later measurement of a post's engagement (rechecks), once per measurement time. */
  async addEngagementSample(key: string, sample: EngagementSample): Promise<EngagementSample[]> {
    const doc = await this.getMention(key);
    const samples = [...(doc?.samples ?? []).filter((x) => x.at !== sample.at), sample].sort((a, b) => a.at - b.at);
    await this.models.Mention.collection.updateOne({ _id: key } as any, { $set: { samples, engagement: sample.engagement } });
    return samples;
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
   * Appends events to the alert stream. Event ids are deterministic (alert id, version, type),
   * so a retried job cannot append the same change twice: the unique id refuses it and the
   * sequence numbers reserved for it are skipped (the stream only grows, with gaps).
   * Returns every given event as stored (new or already there), so a retried job still
   * enqueues their deliveries (each delivery is sent at most once per receiver anyway).
   */
  async appendEvents(changes: EventInput[]): Promise<{ events: AlertEvent[]; newEvents: number }> {
    if (changes.length === 0) return { events: [], newEvents: 0 };
    let pending = changes;
    let newEvents = 0;
    const events: AlertEvent[] = [];
    // A refused insert is either the event already there (a retry: fine) or a sequence number
    // another writer also got (after a lost counter): those get fresh numbers and are tried again.
    for (let round = 0; pending.length > 0; round++) {
      if (round === 10) throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', 'could not allocate alert-stream sequence numbers after 10 tries');
      const first = await this.reserveSequence(pending.length);
      const docs = pending.map((c, i) => eventDoc(c, first + i));
      const refused = await insertNew(this.models.AlertEvent.collection, docs).finally(() => this.sequence.done?.(first, docs.length));
      newEvents += docs.length - refused.size;
      const retry: EventInput[] = [];
      for (const [i, doc] of docs.entries()) {
        if (!refused.has(i)) {
          events.push(withoutId(doc));
          continue;
        }
        const stored = await this.models.AlertEvent.collection.findOne({ _id: doc._id } as any);
        if (stored) events.push(withoutId(stored));
        else retry.push(pending[i]);
      }
      if (retry.length) await this.sequence.atLeast(await this.lastSequence());
      pending = retry;
    }
    return { events, newEvents };
  }

  /** Alerts by id (missing ids are left out). */
  async getAlerts(ids: string[]): Promise<Map<string, Alert>> {
    return this.getDocs<Alert>(this.models.Alert.collection, ids);
  }

  async getAlert(id: string): Promise<Alert | undefined> {
    return (await this.getAlerts([id])).get(id);
  }

  /**
   * Writes alerts as they are now (insert or replace by id), and the copy in their fingerprint's
   * head where the head names them (two round trips, side by side). `known`: ids read from the
   * store just before. `headsWritten`: the caller writes the heads' copies itself (a page, with
   * the rest of its page state).
   */
  async saveAlerts(alerts: Alert[], known?: ReadonlySet<string>, options: { headsWritten?: boolean } = {}): Promise<void> {
    await Promise.all([
      this.putDocs(this.models.Alert.collection, alerts.map((a) => ({ _id: a.id, ...a })), known),
      options.headsWritten || alerts.length === 0
        ? undefined
        : bulkInChunks(
            this.models.PageState.collection,
            alerts.map((a) => ({ updateOne: { filter: { _id: a.fingerprint, alertId: a.id }, update: { $set: { alert: a } } } })),
          ),
    ]);
  }

  /** The current alert of each fingerprint. */
  async alertHeads(fingerprints: string[]): Promise<Map<string, StoredHead>> {
    return this.getDocs(this.models.PageState.collection, fingerprints);
  }

  async setAlertHeads(heads: HeadWrite[], known?: ReadonlySet<string>): Promise<void> {
    await this.putDocs(this.models.PageState.collection, heads.map(headDoc), known);
  }

  /** Records posts as counted in an alert (as an alert's own record; memberships.ts writes a page's). */
  async addMembers(members: { alertId: string; postKey: string }[]): Promise<void> {
    await this.putDocs(this.models.PageState.collection, members.map((m) => ({ _id: memberDocId(`${m.alertId}|${m.postKey}`), kind: MEMBER_KIND, alertId: m.alertId })));
  }

  /** Critical alerts whose acknowledgement deadline has passed and that were not escalated yet. */
  async overdueAlerts(now: number): Promise<Alert[]> {
    const docs = await this.models.Alert.collection
      .find({ status: 'triggered', slaDeadline: { $lte: new Date(now).toISOString() } })
      .toArray();
    return docs.map((d) => withoutId(d) as unknown as Alert).filter((a) => !a.escalatedAt);
  }

  /** Alerts, newest first, optionally of one brand, status and time range. */
  async listAlerts(filter: { brandId?: string; status?: string; kind?: string; since?: number; limit?: number } = {}): Promise<Alert[]> {
    const q: Record<string, unknown> = {};
    if (filter.brandId) q.brandId = filter.brandId;
    if (filter.status) q.status = filter.status;
    if (filter.kind) q.kind = filter.kind;
    if (filter.since !== undefined) q.createdAt = { $gte: new Date(filter.since).toISOString() };
    const docs = await this.models.Alert.collection.find(q).sort({ createdAt: -1 }).limit(filter.limit ?? 0).toArray();
    return docs.map((d) => withoutId(d) as unknown as Alert);
  }

  /** The latest event of an alert: the one its current version was recorded by. */
  async latestEventOf(alertId: string): Promise<AlertEvent | undefined> {
    const alert = await this.getAlert(alertId);
    if (alert?.lastEventId) return (await this.getEvent(alert.lastEventId)) ?? undefined;
    // Alerts written before lastEventId existed: find it by scanning (slow on FerretDB, rare).
    const [doc] = await this.models.AlertEvent.collection.find({ alertId }).sort({ seq: -1 }).limit(1).toArray();
    return doc ? eventOf(doc) : undefined;
  }

  /** Cases by id (missing ids are left out). */
  async getCases(ids: string[]): Promise<Map<string, Case>> {
    const docs = await this.getDocs<any>(this.models.PageState.collection, ids.map(caseDocId));
    return new Map([...docs.values()].map((d) => [d.id as string, caseOf(d)]));
  }

  /**
   * A brand's cases that are open or acknowledged, or resolved and still watched for recovery.
   * A scan of the brand's cases: used to rebuild the case index, not per page.
   */
  async activeCases(brandId: string): Promise<Case[]> {
    const docs = await this.models.PageState.collection.find(caseFilter({ brandId })).toArray();
    return docs.map(caseOf).filter((c) => c.state !== 'resolved' || c.recovery?.state === 'watching');
  }

  /** Resolved cases whose recovery window has ended while still watching: 'not-recovered' is due. */
  async casesDueToSettle(now: number): Promise<Case[]> {
    const docs = await this.models.PageState.collection.find(caseFilter({ 'recovery.state': 'watching', 'recovery.until': { $lt: now } })).toArray();
    return docs.map(caseOf);
  }

  async listCases(brandId?: string): Promise<Case[]> {
    const docs = await this.models.PageState.collection.find(caseFilter(brandId ? { brandId } : {})).toArray();
    return docs.map(caseOf);
  }

  /** Writes cases as they are now. `known`: case ids read from the store just before (replaced, not inserted). */
  async saveCases(cases: Case[], known?: ReadonlySet<string>): Promise<void> {
    await this.putDocs(this.models.PageState.collection, cases.map(caseDoc), known ? new Set([...known].map(caseDocId)) : undefined);
  }

  /**
   * What a brand's page reads before deciding, in one round trip: the heads of these fingerprints,
   * the storm trackers of these storm keys and the brand's term-cluster tracker (if it has one).
   */
  async readPageState(brandId: string, want: { fingerprints: string[]; stormKeys: string[]; caseIds?: string[]; postKeys?: string[] }): Promise<PageStateRead> {
    const clustersId = termClustersKey(brandId);
    const caseIds = want.caseIds ?? [];
    const postKeys = want.postKeys ?? [];
    const docs = await this.getDocs<any>(this.models.PageState.collection, [...want.fingerprints, ...want.stormKeys.map(stormTrackerKey), clustersId, ...caseIds.map(caseDocId), ...postKeys.map(postCasesDocId)]);
    const heads = new Map<string, StoredHead>();
    for (const fp of want.fingerprints) if (docs.has(fp)) heads.set(fp, docs.get(fp));
    const trackers = new Map<string, StormTracker>();
    for (const key of want.stormKeys) if (docs.has(stormTrackerKey(key))) trackers.set(key, docs.get(stormTrackerKey(key)));
    const cases = new Map<string, Case>();
    for (const id of caseIds) if (docs.has(caseDocId(id))) cases.set(id, caseOf(docs.get(caseDocId(id))));
    const postCases = new Map<string, string[]>();
    for (const key of postKeys) if (docs.has(postCasesDocId(key))) postCases.set(key, docs.get(postCasesDocId(key)).caseIds ?? []);
    return { heads, trackers, clusters: docs.get(clustersId), cases, postCases, stored: new Set(docs.keys()) };
  }

  /** Writes what a page changed of its brand's page state in one round trip (`stored`: the ids read just before). */
  async writePageState(brandId: string, changes: PageStateWrite, stored: ReadonlySet<string>): Promise<void> {
    const docs: { _id: string }[] = [
      ...changes.heads.map(headDoc),
      ...[...changes.trackers].map(([key, t]) => ({ _id: stormTrackerKey(key), ...t })),
      ...(changes.clusters ? [{ _id: termClustersKey(brandId), ...changes.clusters }] : []),
      ...changes.cases.map(caseDoc),
      ...[...(changes.postCases ?? [])].map(([postKey, caseIds]) => ({ _id: postCasesDocId(postKey), caseIds })),
      ...(changes.members ?? []),
    ];
    await this.putDocs(this.models.PageState.collection, docs, stored);
  }

  /** The brand's term-cluster tracker, if it has one. */
  async getTermClusters(brandId: string): Promise<TermClusterTracker | undefined> {
    return (await this.readPageState(brandId, { fingerprints: [], stormKeys: [] })).clusters;
  }

  async getNotificationLog(alertId: string, receiverId: string): Promise<NotificationLogRecord | undefined> {
    return (await this.getNotificationLogs([{ alertId, receiverId }])).get(notificationLogKey(alertId, receiverId));
  }

  /** Notification logs by `notificationLogKey`: one round trip. */
  async getNotificationLogs(pairs: { alertId: string; receiverId: string }[]): Promise<Map<string, NotificationLogRecord>> {
    return this.getDocs<NotificationLogRecord>(this.models.NotificationLog.collection, pairs.map((p) => notificationLogKey(p.alertId, p.receiverId)));
  }

  /** `exists`: the record was just read, so it is replaced rather than inserted. */
  async saveNotificationLog(alertId: string, receiverId: string, record: NotificationLogRecord, exists = false): Promise<void> {
    const _id = `${alertId}|${receiverId}`;
    await this.putDocs(this.models.NotificationLog.collection, [{ _id, ...record }], exists ? new Set([_id]) : undefined);
  }

  /** Documents by `_id`, keyed by it, without the `_id` field: one `$in` read per READ_CHUNK ids. */
  private async getDocs<T>(coll: Collection<any>, ids: string[]): Promise<Map<string, T>> {
    return docsById<T>(coll, ids);
  }

  /**
   * Insert-or-replace by `_id`, one bulk of replaces (per BULK_CHUNK): documents in `known` (read
   * just before) are replaced, the others upserted. One round trip where an insert of the new ones
   * and a replace of the old ones would be two.
   */
  private async putDocs(coll: Collection<any>, docs: { _id: string }[], known?: ReadonlySet<string>): Promise<void> {
    for (let i = 0; i < docs.length; i += BULK_CHUNK) {
      const chunk = docs.slice(i, i + BULK_CHUNK);
      try {
        await coll.bulkWrite(chunk.map((d) => ({ replaceOne: { filter: { _id: d._id }, replacement: d, ...(known?.has(d._id) ? {} : { upsert: true }) } })), { ordered: false });
      } catch (err) {
        // Two upserts of the same new document at once: the loser's is refused (E11000); it is there now, so it is replaced.
        const raced = duplicateIndexes(err);
        if (!raced) throw err;
        await coll.bulkWrite([...raced].map((k) => ({ replaceOne: { filter: { _id: chunk[k]._id }, replacement: chunk[k] } })), { ordered: false });
      }
    }
  }

  /** Events by id as stored, outbox marker included (missing ones left out): one round trip. */
  async storedEvents(ids: string[]): Promise<AppendedEvent[]> {
    return [...(await docsById<AppendedEvent>(this.models.AlertEvent.collection, ids)).values()];
  }

  async getEvent(id: string): Promise<AlertEvent | null> {
    const doc = await this.models.AlertEvent.collection.findOne({ _id: id } as any);
    return doc ? eventOf(doc) : null;
  }

  /** Events after `seq`, oldest first: a consumer resumes from the last seq it saw. */
  async eventsAfter(seq: number, limit = 100): Promise<AlertEvent[]> {
    const docs = await this.models.AlertEvent.collection.find({ seq: { $gt: seq } }).sort({ seq: 1 }).limit(limit).toArray();
    return docs.map(eventOf);
  }

  /** The outbox: events still marked undelivered whose time is at or before `before` (ms), oldest first, still marked. */
  /** Events of these alerts still marked undelivered (any age): one round trip, on the (alertId, seq) index. */
  async undeliveredEvents(before: number, limit = 500): Promise<AlertEvent[]> {
    const docs = await this.models.AlertEvent.collection
      .find({ [OUTBOX_MARKER]: { $lte: before } })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => withoutId(d) as AlertEvent);
  }

  /**
   * Marks the events since `sinceIso` undelivered again, for the sweep to re-plan: after Redis came
   * back empty, the delivery jobs they were handed on to are gone with it. Re-planning an event
   * already sent costs a job that finds it sent (deliveries are claimed once per receiver).
   */
  async remarkUndeliveredSince(sinceIso: string): Promise<number> {
    const r = await this.models.AlertEvent.collection.updateMany({ at: { $gte: sinceIso }, [OUTBOX_MARKER]: { $exists: false } } as any, { $set: { [OUTBOX_MARKER]: 0 } });
    // Older alerts still waiting for someone: their latest event is planned again too, so their
    // reminder chains (delayed jobs, gone with Redis) go on (see deliverEvent: already sent → next reminder).
    const waiting = await this.models.Alert.collection.find({ status: 'triggered', updatedAt: { $lt: sinceIso } } as any, { projection: { lastEventId: 1 } }).toArray();
    const ids = waiting.map((a: any) => a.lastEventId).filter((id: unknown): id is string => typeof id === 'string');
    if (ids.length === 0) return r.modifiedCount;
    const older = await this.models.AlertEvent.collection.updateMany({ _id: { $in: ids }, [OUTBOX_MARKER]: { $exists: false } } as any, { $set: { [OUTBOX_MARKER]: 0 } });
    return r.modifiedCount + older.modifiedCount;
  }

  /** Clears the outbox marker of handed-on events: one round trip per page. */
  async markHandedOn(eventIds: string[]): Promise<void> {
    const ids = [...new Set(eventIds)];
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      await this.models.AlertEvent.collection.updateMany({ _id: { $in: ids.slice(i, i + READ_CHUNK) } } as any, { $unset: { [OUTBOX_MARKER]: '' } });
    }
  }

  /**
   * Records events as open (handed on, not finished) for their (alert, receiver), before their jobs
   * exist, so a later event's job always sees an earlier one it must wait for. One round trip.
   */
  async openDeliveries(items: { alertId: string; receiverId: string; open: OpenDelivery }[], firstEvents: FirstEvent[] = []): Promise<void> {
    if (items.length === 0 && firstEvents.length === 0) return;
    const byLog = new Map<string, { $set?: Record<string, OpenDelivery>; $min?: { firstEventAt: number } }>();
    for (const { alertId, receiverId, open } of items) {
      const _id = notificationLogKey(alertId, receiverId);
      const update = byLog.get(_id) ?? {};
      byLog.set(_id, { ...update, $set: { ...update.$set, [`open.${openKeyOf(open.seq)}`]: open } });
    }
    // The grouping timers that start now go in the same write (never moving an earlier start).
    for (const { alertId, receiverId, at } of firstEvents) {
      const _id = notificationLogKey(alertId, receiverId);
      const update = byLog.get(_id) ?? {};
      byLog.set(_id, { ...update, $min: { firstEventAt: Math.min(at, update.$min?.firstEventAt ?? at) } });
    }
    await bulkInChunks(
      this.models.NotificationLog.collection,
      [...byLog].map(([_id, update]) => ({ updateOne: { filter: { _id } as any, update, upsert: true } })),
    );
  }

  /** Takes finished events (sent, superseded, failed for good) off their (alert, receiver)'s open list. */
  async closeDeliveries(alertId: string, receiverId: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.models.NotificationLog.collection.updateOne(
      { _id: `${alertId}|${receiverId}` } as any,
      { $unset: Object.fromEntries(seqs.map((s) => [`open.${openKeyOf(s)}`, ''])) },
    );
  }

  /** The first event routed to (alert, receiver): starts its grouping timers. Never moves an earlier start. */
  async noteFirstEvent(alertId: string, receiverId: string, at: number): Promise<void> {
    await this.models.NotificationLog.collection.updateOne({ _id: `${alertId}|${receiverId}` } as any, { $min: { firstEventAt: at } }, { upsert: true });
  }

  /**
   * An event of the alert went out to the receiver: the grouping timers restart, it leaves the open
   * list, and it becomes the last one sent unless a later one was sent already (field updates, so
   * concurrent planning and deliveries of the same pair never overwrite each other).
   */
  async recordSent(alertId: string, receiverId: string, sent: { eventId: string; seq: number; version: number; at: number }): Promise<void> {
    const _id = `${alertId}|${receiverId}`;
    const coll = this.models.NotificationLog.collection;
    await coll.bulkWrite(
      [
        {
          updateOne: {
            filter: { _id } as any,
            update: { $set: { lastSentAt: sent.at }, $min: { firstEventAt: sent.at }, $max: { lastSentVersion: sent.version }, $unset: { [`open.${openKeyOf(sent.seq)}`]: '' } },
            upsert: true,
          },
        },
        {
          updateOne: {
            filter: { _id, $or: [{ lastSentSeq: { $exists: false } }, { lastSentSeq: { $lt: sent.seq } }] } as any,
            update: { $set: { lastSentSeq: sent.seq, lastSentEventId: sent.eventId } },
          },
        },
      ],
      { ordered: true },
    );
  }

  /**
   * Claims the right to start a Slack thread for `threadKey` (a case, or an alert without one):
   * 'claimed' when this claimant may post the first message, 'has-thread' with its reference when
   * the thread exists, 'claimed-by-other' while another job is starting it. A claim older than
   * `staleMs` (its job died) is taken over.
   */
  async claimThread(threadKey: string, receiverId: string, claimant: string, now: number, staleMs: number): Promise<{ state: 'claimed' } | { state: 'has-thread'; threadRef: string } | { state: 'claimed-by-other' }> {
    const _id = `${threadKey}|${receiverId}`;
    const coll = this.models.NotificationLog.collection;
    const fresh = await insertNew(coll, [{ _id, threadClaim: claimant, threadClaimedAt: now }]);
    if (fresh.size === 0) return { state: 'claimed' };
    const unclaimed = { _id, threadRef: { $exists: false }, $or: [{ threadClaim: { $exists: false } }, { threadClaim: claimant }, { threadClaimedAt: { $lt: now - staleMs } }] };
    const taken = await coll.updateOne(unclaimed as any, { $set: { threadClaim: claimant, threadClaimedAt: now } });
    if (taken.matchedCount === 1) return { state: 'claimed' };
    const doc = (await coll.findOne({ _id } as any)) as unknown as NotificationLogRecord | null;
    return doc?.threadRef ? { state: 'has-thread', threadRef: doc.threadRef } : { state: 'claimed-by-other' };
  }

  /** The thread exists: later messages of the case reply in it. */
  async saveThread(threadKey: string, receiverId: string, threadRef: string): Promise<void> {
    await this.models.NotificationLog.collection.updateOne({ _id: `${threadKey}|${receiverId}` } as any, { $set: { threadRef }, $unset: { threadClaim: '', threadClaimedAt: '' } }, { upsert: true });
  }

  /** The claimant's first message failed: someone else may start the thread. */
  async releaseThread(threadKey: string, receiverId: string, claimant: string): Promise<void> {
    await this.models.NotificationLog.collection.updateOne(
      { _id: `${threadKey}|${receiverId}`, threadClaim: claimant, threadRef: { $exists: false } } as any,
      { $unset: { threadClaim: '', threadClaimedAt: '' } },
    );
  }

  /**
   * Counts an attempt and tells whether this (event, receiver) was delivered or is another job's
   * to deliver. The first job to claim it owns it (its retries keep it); a second job for the same
   * pair (a grouped delivery picking the same latest event) gets the owner's record and must not
   * send. The first attempt is a plain insert (FerretDB runs upserts slowly).
   */
  /**
   * A send that went out: the delivery record is written once, here (created when it is the
   * first attempt), with the attempt counted. Claims are in Redis (delivery-claims.ts), so nothing
   * is written before sending.
   */
  async markDelivered(eventId: string, receiverId: string, at: number, httpStatus: number, reference?: string): Promise<void> {
    await this.upsertDelivery(eventId, receiverId, {
      $set: { status: 'sent', sentAt: new Date(at), httpStatus, ...(reference ? { reference } : {}) },
      $unset: { lastError: '' },
      $inc: { attempts: 1 },
    });
  }

  /** A send that failed: counted, with its error; `final` records it failed for good, else it stays pending. */
  async markDeliveryError(eventId: string, receiverId: string, error: { code: string; message: string }, final: boolean): Promise<void> {
    await this.upsertDelivery(eventId, receiverId, {
      $set: { lastError: error, ...(final ? { status: 'failed' } : {}) },
      ...(final ? {} : { $setOnInsert: { status: 'pending' } }),
      $inc: { attempts: 1 },
    });
  }

  /** Sent, as the notification log says, while the record may not say so yet (its job ended in between). */
  async markSentEarlier(eventId: string, receiverId: string, at: number): Promise<void> {
    const _id = `${eventId}|${receiverId}`;
    const existed = await insertNew(this.models.Delivery.collection, [{ _id, eventId, receiverId, status: 'sent', attempts: 1, sentAt: new Date(at) }]);
    if (existed.size) await this.models.Delivery.collection.updateOne({ _id, status: { $ne: 'sent' } } as any, { $set: { status: 'sent', sentAt: new Date(at) }, $unset: { lastError: '' } });
  }

  private async upsertDelivery(eventId: string, receiverId: string, update: Record<string, any>): Promise<void> {
    const _id = `${eventId}|${receiverId}`;
    const write = () =>
      this.models.Delivery.collection.updateOne({ _id } as any, { ...update, $setOnInsert: { eventId, receiverId, ...update.$setOnInsert } }, { upsert: true });
    try {
      await write();
    } catch (err) {
      // Two upserts of a new record at once: one inserted it, the other's update applies now.
      if ((err as { code?: number }).code !== 11000) throw err;
      await write();
    }
  }

  /** Records a delivery failed for good without an attempt (its receiver is disabled); a sent one stays sent. */
  async markDeliveryFailed(eventId: string, receiverId: string, error: { code: string; message: string }): Promise<void> {
    const _id = `${eventId}|${receiverId}`;
    const existed = await insertNew(this.models.Delivery.collection, [{ _id, eventId, receiverId, status: 'failed', attempts: 0, lastError: error }]);
    if (existed.size) await this.models.Delivery.collection.updateOne({ _id, status: { $ne: 'sent' } } as any, { $set: { status: 'failed', lastError: error } });
  }

  /**
   * Events of one alert that a later event sent to the same receiver made needless: recorded
   * `superseded` with the event that took their place, never left pending. A sent one stays sent.
   */
  async markSuperseded(eventIds: string[], receiverId: string, supersededBy: string): Promise<void> {
    if (eventIds.length === 0) return;
    const docs = eventIds.map((eventId) => ({ _id: `${eventId}|${receiverId}`, eventId, receiverId, status: 'superseded', attempts: 0, supersededBy }));
    const existed = await insertNew(this.models.Delivery.collection, docs);
    if (existed.size === 0) return;
    await bulkInChunks(
      this.models.Delivery.collection,
      [...existed].map((i) => ({ updateOne: { filter: { _id: docs[i]._id, status: { $ne: 'sent' } } as any, update: { $set: { status: 'superseded', supersededBy } } } })),
    );
  }

  /** The delivery records of these events to one receiver, by event id: one round trip. */
  async getDeliveries(eventIds: string[], receiverId: string): Promise<Map<string, DeliveryRecord>> {
    const docs = await this.getDocs<DeliveryRecord>(this.models.Delivery.collection, eventIds.map((e) => `${e}|${receiverId}`));
    return new Map([...docs.values()].map((d) => [d.eventId, d]));
  }

  async getDelivery(eventId: string, receiverId: string): Promise<DeliveryRecord | undefined> {
    return (await this.getDocs<DeliveryRecord>(this.models.Delivery.collection, [`${eventId}|${receiverId}`])).get(`${eventId}|${receiverId}`) as DeliveryRecord | undefined;
  }
}
