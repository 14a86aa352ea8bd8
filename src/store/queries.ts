import type { Alert, AlertEvent } from '../domain/alert';
import type { Case } from '../domain/cases';
import { RepwatchError } from '../domain/errors';
import { caseFilter, caseOf, memberDocId, membersOfAlertFilter, type DeliveryRecord, type Store, type StoredMention } from './store';

/**
 * Read queries of the HTTP API. Kept apart from Store (the pipeline's writes and hot reads):
 * these serve people, so they page, filter and project, and none of them runs per post.
 */

function withoutId<T>(doc: any): T {
  const { _id, ...rest } = doc;
  return rest as T;
}

export interface AlertFilter {
  brandIds?: string[];
  statuses?: string[];
  severities?: string[];
  kinds?: string[];
  /** ms since epoch: created at or after. */
  since?: number;
  /** Only the alerts that joined this storm. */
  stormId?: string;
}

/** Where a page of alerts ended: the last alert's (createdAt, id). Opaque to clients. */
export interface AlertCursor {
  createdAt: string;
  id: string;
}

export function encodeCursor(c: AlertCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): AlertCursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') return { createdAt: value[0], id: value[1] };
  } catch {
    // falls through to the coded error
  }
  throw new RepwatchError('RW_ERR_INPUT_INVALID', 'cursor: not a cursor this API handed out (use nextCursor as it was given)');
}

function alertQuery(f: AlertFilter): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  const oneOrIn = (list?: string[]) => (list && list.length ? (list.length === 1 ? list[0] : { $in: list }) : undefined);
  const put = (field: string, v: unknown) => {
    if (v !== undefined) q[field] = v;
  };
  put('brandId', oneOrIn(f.brandIds));
  put('status', oneOrIn(f.statuses));
  put('severity', oneOrIn(f.severities));
  put('kind', oneOrIn(f.kinds));
  put('stormId', f.stormId);
  if (f.since !== undefined) q.createdAt = { $gte: new Date(f.since).toISOString() };
  return q;
}

/**
 * Alerts newest first, a page at a time. Keyset paging on (createdAt, id): an alert inserted
 * while someone pages never shifts the pages after the cursor, so nothing repeats or goes missing.
 */
export async function pageAlerts(store: Store, filter: AlertFilter, page: { limit: number; cursor?: AlertCursor }): Promise<{ items: Alert[]; nextCursor?: string }> {
  const base = alertQuery(filter);
  let q = base;
  if (page.cursor) {
    const { createdAt, id } = page.cursor;
    q = { $and: [base, { $or: [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: id } }] }] };
  }
  const docs = await store.models.Alert.collection.find(q).sort({ createdAt: -1, _id: -1 }).limit(page.limit + 1).toArray();
  const items = docs.slice(0, page.limit).map((d) => withoutId<Alert>(d));
  const last = items[items.length - 1];
  return docs.length > page.limit && last ? { items, nextCursor: encodeCursor({ createdAt: last.createdAt, id: last.id }) } : { items };
}

/** An alert's events, oldest first (its timeline). */
export async function eventsOfAlert(store: Store, alertId: string, limit = 500): Promise<AlertEvent[]> {
  const docs = await store.models.AlertEvent.collection.find({ alertId }).sort({ seq: 1 }).limit(limit).toArray();
  return docs.map((d) => withoutId<AlertEvent>(d));
}

/** The posts counted in an alert (its members), newest first, at most `limit`. */
export async function postsOfAlert(store: Store, alertId: string, limit = 50): Promise<StoredMention[]> {
  const members = await store.models.PageState.collection.find(membersOfAlertFilter(alertId), { projection: { _id: 1 } }).toArray();
  const keys = members.map((m) => String(m._id).slice(memberDocId(alertId).length + 1));
  // One `_id` lookup per post (see Store.getDocs): fast on every compatible server.
  const found = await Promise.all(keys.map((k) => store.getMention(k)));
  return found
    .filter((m): m is StoredMention => !!m)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
    .slice(0, limit);
}

/** Single-post alerts that joined a storm, newest first (`limit` 0: all of them). */
export async function alertsOfStorm(store: Store, stormId: string, limit = 200): Promise<Alert[]> {
  const docs = await store.models.Alert.collection.find({ stormId }).sort({ createdAt: -1 }).limit(limit).toArray();
  return docs.map((d) => withoutId<Alert>(d));
}

/** Delivery records of these events to these receivers (by `_id`: `event|receiver`). */
export async function deliveriesOf(store: Store, eventIds: string[], receiverIds: string[]): Promise<DeliveryRecord[]> {
  const ids = eventIds.flatMap((e) => receiverIds.map((r) => `${e}|${r}`));
  const docs = await Promise.all(ids.map((_id) => store.models.Delivery.collection.findOne({ _id } as any)));
  return docs.filter((d) => d !== null) as unknown as DeliveryRecord[];
}

/** Stream events with after < seq <= upTo, oldest first. */
export async function eventsInRange(store: Store, after: number, upTo: number, limit: number): Promise<AlertEvent[]> {
  if (!(upTo > after)) return [];
  const seq = Number.isFinite(upTo) ? { $gt: after, $lte: upTo } : { $gt: after };
  const docs = await store.models.AlertEvent.collection.find({ seq }).sort({ seq: 1 }).limit(limit).toArray();
  return docs.map((d) => withoutId<AlertEvent>(d));
}

/** What buildReport reads of alerts: no posts, reasons or storm summaries. */
const REPORT_ALERT_FIELDS = { _id: 0, id: 1, brandId: 1, brandName: 1, kind: 1, severity: 1, status: 1, createdAt: 1, acknowledgedAt: 1, resolvedAt: 1, escalatedAt: 1 };
const REPORT_CASE_FIELDS = { _id: 0, id: 1, brandId: 1, state: 1, openedAt: 1, recovery: 1 };

export async function reportInputs(store: Store, brandId: string | undefined, from: number): Promise<{ alerts: Alert[]; cases: Case[] }> {
  const [alerts, cases] = await Promise.all([
    store.models.Alert.collection.find(alertQuery({ brandIds: brandId ? [brandId] : undefined, since: from }), { projection: REPORT_ALERT_FIELDS }).toArray(),
    store.models.PageState.collection.find(caseFilter({ ...(brandId ? { brandId } : {}), openedAt: { $gte: from } }), { projection: REPORT_CASE_FIELDS }).toArray(),
  ]);
  return { alerts: alerts as unknown as Alert[], cases: cases as unknown as Case[] };
}

/** A brand's posts in [from, to): only when and how they were judged. */
export async function postJudgements(store: Store, brandId: string, from: number, to: number): Promise<{ createdAt: string; sentiment: string; complaint: boolean }[]> {
  const docs = await store.models.Mention.collection
    .find(
      { brandId, createdAt: { $gte: new Date(from).toISOString(), $lt: new Date(to).toISOString() } },
      { projection: { _id: 0, createdAt: 1, 'judgement.sentiment.label': 1, 'judgement.complaint.label': 1 } },
    )
    .toArray();
  return docs.map((d: any) => ({ createdAt: d.createdAt, sentiment: d.judgement?.sentiment?.label ?? 'neutral', complaint: d.judgement?.complaint?.label === true }));
}

/** A brand's storm alerts created before `to` (the caller drops those that ended before its range). */
export async function stormsOfBrand(store: Store, brandId: string, to: number, limit = 500): Promise<Alert[]> {
  const docs = await store.models.Alert.collection
    .find({ brandId, kind: 'storm', createdAt: { $lt: new Date(to).toISOString() } }, { projection: { _id: 0, post: 0, impact: 0, 'storm.topPosts': 0 } })
    .sort({ createdAt: -1 })
    .limit(limit)
    .toArray();
  return docs as unknown as Alert[];
}

/** Cases, most recent activity first, without their timelines' bulk beyond what a list shows. */
export async function listCases(store: Store, filter: { brandId?: string; state?: string[]; limit: number }): Promise<Case[]> {
  const q: Record<string, unknown> = {};
  if (filter.brandId) q.brandId = filter.brandId;
  if (filter.state?.length) q.state = filter.state.length === 1 ? filter.state[0] : { $in: filter.state };
  const docs = await store.models.PageState.collection.find(caseFilter(q), { projection: { postKeys: 0 } }).sort({ lastPostAt: -1 }).limit(filter.limit).toArray();
  return docs.map(caseOf);
}
