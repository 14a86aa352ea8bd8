import type { Config } from '../config/load';
import { ALERT_EVENT_TYPES, type AlertEvent } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import type { Logger } from '../logger';
import { eventIdFor, eventOf, isUndelivered, type Store } from '../store/store';
import { planDeliveries } from './notify';
import type { Dispatch } from './ports';

export interface OutboxDeps {
  config: Config;
  store: Store;
  dispatch: Pick<Dispatch, 'deliver' | 'slaTimer'>;
  now: () => number;
  logger: Logger;
}

/** How many marked events the sweep takes per round (it goes on until none are left). */
const REPLAN_BATCH = 200;

/**
 * The outbox's second half. Events are appended with an undelivered marker (Store.appendEvents);
 * this plans their deliveries from them, hands on the delivery jobs and the SLA timers of
 * critical triggered alerts, and only then clears the marker. A crash anywhere before the clear
 * leaves the marker, and the sweep (replanUndelivered) or a retried page plans the event again:
 * job ids are deterministic, so planning twice makes no second job. Events that carry no marker
 * (a retried page finding them handed on already) are left alone.
 * Round trips per page: Redis, the outbox index (are the alerts' previous events still waiting?
 * is it whole?) and one queue bulk add; MongoDB, the planner's read of silences and grouping
 * timers, one write of the open deliveries and timers, and a share of a batched marker clear.
 * Returns how many deliveries were handed on.
 */
export async function handOnEvents(deps: OutboxDeps, events: AlertEvent[], options: { priorEventIds?: string[] } = {}): Promise<number> {
  const own = events.filter(isUndelivered);
  if (own.length === 0 && !options.priorEventIds?.length) return 0;
  // After Redis came back empty, the events it lost the jobs of are planned again first
  // (recoverOutbox): handed on before that, a later event would not wait for an earlier one. A
  // page with no event of its own leaves what it names to that re-plan.
  if (!(await deps.store.outboxReady())) {
    if (own.length === 0) return 0;
    throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', 'Redis came back empty: events are handed on again once the events of the last hours are planned again (recoverOutbox)');
  }
  // An earlier event of the same alert still marked (its page failed between appending and handing
  // on, and is being retried) goes on first, with these: handed on after them, it would find a later
  // event of its alert sent already and be superseded, lost to an `every` receiver. A retried page
  // that changes nothing any more (its first try wrote the alerts) still hands on what that try
  // appended: the alerts it read name their latest events (priorEventIds).
  const earlier = await earlierUndelivered(deps.store, own, options.priorEventIds);
  const marked = dedupe([...earlier, ...own]);
  if (marked.length === 0) return 0;
  const { requests, firstEvents } = await planDeliveries(deps, marked);
  // Open before the jobs exist: a later event's job must see an earlier one it waits for.
  const byId = new Map(marked.map((e) => [e.id, e]));
  const open = requests.flatMap((r) => {
    const event = byId.get(r.eventId);
    return event && !r.reminder ? [{ alertId: event.alertId, receiverId: r.receiverId, open: { eventId: event.id, seq: event.seq, at: deps.now() } }] : [];
  });
  await deps.store.openDeliveries(open, firstEvents);
  // A job for one event carries it (events never change): its delivery reads nothing to find it.
  // A coalesced job sends whatever is latest when it runs, so it carries none.
  if (requests.length) await deps.dispatch.deliver(requests.map((r) => (r.coalesce || r.reminder || !byId.has(r.eventId) ? r : { ...r, event: eventOf(byId.get(r.eventId)!) })));
  for (const [alertId, deadline] of slaTimersOf(marked)) await deps.dispatch.slaTimer(alertId, deadline);
  await deps.store.markHandedOn(marked);
  return requests.length;
}

/**
 * The sweep's part: events still marked undelivered `olderThanMs` after they happened (a crash
 * between appending them and handing them on) are planned and handed on now.
 * Returns how many events were re-planned.
 */
export async function replanUndelivered(deps: OutboxDeps, olderThanMs: number, options: { fromMarkers?: boolean } = {}): Promise<number> {
  let replanned = 0;
  // Read from the markers, handed-on events keep theirs until their batched clear: the scan moves
  // on by stream position rather than reading the same ones again. Read from the index, entries
  // found handed on leave it, so the next batch is another.
  let afterSeq = -1;
  for (let round = 0; round < MAX_REPLAN_ROUNDS; round++) {
    const { events: stale, candidates } = await deps.store.undeliveredBatch(deps.now() - olderThanMs, REPLAN_BATCH, { ...options, afterSeq });
    if (stale.length) {
      afterSeq = stale[stale.length - 1].seq;
      const deliveries = await handOnEvents(deps, stale);
      replanned += stale.length;
      deps.logger.warn({ events: stale.length, deliveries, firstSeq: stale[0].seq }, 'outbox: events not handed on before were re-planned');
    }
    // Done when a batch came short. A full one that yielded nothing (another process re-planning at
    // once had taken it) is not the end.
    if (candidates < REPLAN_BATCH) break;
  }
  return replanned;
}

/** A bound on one re-plan's batches (REPLAN_BATCH each): what is left waits for the next sweep. */
const MAX_REPLAN_ROUNDS = 500;

/** How often the sweep reads the markers themselves rather than the outbox index (a scan of the stream on FerretDB). */
const MARKER_SCAN_EVERY_MS = 10 * 60_000;
let lastMarkerScan = 0;

/**
 * Whether this sweep should read the markers: every MARKER_SCAN_EVERY_MS, so an event the index
 * missed (an insert that landed after a rebuild, by a page that then died) is planned all the same.
 * Kept per process: a sweep more or less is only work.
 */
export function markerScanDue(now: number): boolean {
  if (now - lastMarkerScan < MARKER_SCAN_EVERY_MS) return false;
  lastMarkerScan = now;
  return true;
}

/**
 * After Redis lost the outbox index, and with it the delivery jobs: the events
 * of the last `sinceMs` are marked undelivered again (the index is rebuilt from the markers, which
 * lets pages hand on again) and planned again in stream order, so an earlier event of an alert is
 * handed on before or with a later one. Sent ones find their record and are not sent twice.
 */
export async function recoverOutbox(deps: OutboxDeps, sinceMs: number): Promise<{ remarked: number; replanned: number }> {
  const remarked = await deps.store.remarkUndeliveredSince(new Date(deps.now() - sinceMs).toISOString());
  // From the markers, in stream order: the index orders by time, and every event marked again has the same.
  return { remarked, replanned: await replanUndelivered(deps, 0, { fromMarkers: true }) };
}

/** How many versions back an alert's events are followed to find ones still marked; older ones are the sweep's. */
const WALK_BACK_LIMIT = 20;

/**
 * Earlier events of these events' alerts still marked undelivered, found by id, never by a query
 * on the alert (a scan of the whole stream on FerretDB: at 150,000 posts it took about a second a
 * page and slowed the pipeline tenfold). It starts from each alert's latest event before these
 * (`priorEventIds`, when the caller knows it) or else from the version before the earliest of
 * these, and steps back one version while the event found is still marked (the id of version n's
 * event is known but for its type, so each step is one read of those few ids).
 */
async function earlierUndelivered(store: Store, own: AlertEvent[], priorEventIds?: string[]): Promise<AlertEvent[]> {
  const ownIds = new Set(own.map((e) => e.id));
  let frontier = priorEventIds ? priorEventIds.filter((id) => !ownIds.has(id)) : versionBeforeEarliest(own).filter((id) => !ownIds.has(id));
  const found: AlertEvent[] = [];
  for (let step = 0; frontier.length > 0 && step < WALK_BACK_LIMIT; step++) {
    const marked = (await store.waitingAmong(frontier)).filter((e) => !ownIds.has(e.id));
    found.push(...marked);
    frontier = marked.flatMap((e) => candidateIdsOf(e.alertId, e.alert.version - 1));
  }
  return found;
}

/** The possible ids of the event that recorded version `version` of an alert (one per event type). */
function candidateIdsOf(alertId: string, version: number): string[] {
  return version < 1 ? [] : ALERT_EVENT_TYPES.map((type) => eventIdFor(alertId, version, type));
}

function versionBeforeEarliest(events: AlertEvent[]): string[] {
  const earliest = new Map<string, number>();
  for (const e of events) earliest.set(e.alertId, Math.min(earliest.get(e.alertId) ?? Infinity, e.alert.version));
  return [...earliest].flatMap(([alertId, version]) => candidateIdsOf(alertId, version - 1));
}

function dedupe(events: AlertEvent[]): AlertEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(e.id) && seen.add(e.id)).sort((a, b) => a.seq - b.seq);
}

/** A critical alert still triggered and not escalated gets its SLA timer at its deadline (the latest event of each alert decides). */
function slaTimersOf(events: AlertEvent[]): Map<string, number> {
  const latest = new Map<string, AlertEvent['alert']>();
  for (const e of events) latest.set(e.alertId, e.alert);
  const timers = new Map<string, number>();
  for (const [id, alert] of latest) {
    if (alert.slaDeadline && alert.status === 'triggered' && !alert.escalatedAt) timers.set(id, Date.parse(alert.slaDeadline));
  }
  return timers;
}
