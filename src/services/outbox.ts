import type { Config } from '../config/load';
import { ALERT_EVENT_TYPES, type AlertEvent } from '../domain/alert';
import type { Logger } from '../logger';
import type { HandedOnMemory } from '../store/handed-on';
import { eventIdFor, eventOf, isUndelivered, type Store } from '../store/store';
import { planDeliveries } from './notify';
import type { Dispatch } from './ports';

export interface OutboxDeps {
  config: Config;
  store: Store;
  dispatch: Pick<Dispatch, 'deliver' | 'slaTimer'>;
  now: () => number;
  logger: Logger;
  /** Events this process handed on: their markers need not be read back (absent: always read). */
  handedOn?: HandedOnMemory;
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
 * Store round trips per page: the alerts' previous events (by id; none for those this process
 * handed on in this life of Redis, see HandedOnMemory), the planner's read of silences
 * and grouping timers, one write of the open deliveries and timers, one queue bulk add, one marker
 * update.
 * Returns how many deliveries were handed on.
 */
export async function handOnEvents(deps: OutboxDeps, events: AlertEvent[], options: { priorEventIds?: string[] } = {}): Promise<number> {
  const own = events.filter(isUndelivered);
  if (own.length === 0) return 0;
  // Read before the jobs are queued: a Redis restart after it makes what is remembered another life's.
  const life = await deps.handedOn?.life();
  const handedOnHere = (id: string) => life !== undefined && !!deps.handedOn?.knows(id, life);
  // An earlier event of the same alert still marked (its page failed between appending and handing
  // on, and is being retried) goes on first, with these: handed on after them, it would find a later
  // event of its alert sent already and be superseded, lost to an `every` receiver.
  const earlier = await earlierUndelivered(deps.store, own, handedOnHere, options.priorEventIds);
  const marked = dedupe([...earlier, ...own]);
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
  await deps.store.markHandedOn(marked.map((e) => e.id));
  if (life !== undefined) deps.handedOn?.remember(marked.map((e) => e.id), life);
  return requests.length;
}

/**
 * The sweep's part: events still marked undelivered `olderThanMs` after they happened (a crash
 * between appending them and handing them on) are planned and handed on now.
 * Returns how many events were re-planned.
 */
export async function replanUndelivered(deps: OutboxDeps, olderThanMs: number): Promise<number> {
  let replanned = 0;
  for (;;) {
    const stale = await deps.store.undeliveredEvents(deps.now() - olderThanMs, REPLAN_BATCH);
    if (stale.length === 0) break;
    const deliveries = await handOnEvents(deps, stale);
    replanned += stale.length;
    deps.logger.warn({ events: stale.length, deliveries, firstSeq: stale[0].seq }, 'outbox: events not handed on before were re-planned');
    if (stale.length < REPLAN_BATCH) break;
  }
  return replanned;
}

/** How many versions back an alert's events are followed to find ones still marked; older ones are the sweep's. */
const WALK_BACK_LIMIT = 20;

/**
 * Earlier events of these events' alerts still marked undelivered, found by id, never by a query
 * on the alert (a scan of the whole stream on FerretDB: at 150,000 posts it took about a second a
 * page and slowed the pipeline tenfold). It starts from each alert's latest event before these
 * (`priorEventIds`, when the caller knows it) or else from the version before the earliest of
 * these, and steps back one version while the event found is still marked (the id of version n's
 * event is known but for its type, so each step is one read of those few ids). A version whose
 * event this process handed on (`handedOnHere`) is not read: it is not marked, and the walk stops there.
 */
async function earlierUndelivered(store: Store, own: AlertEvent[], handedOnHere: (id: string) => boolean, priorEventIds?: string[]): Promise<AlertEvent[]> {
  const ownIds = new Set(own.map((e) => e.id));
  const unknown = (version: string[]) => (version.some(handedOnHere) ? [] : version.filter((id) => !ownIds.has(id)));
  let frontier = (priorEventIds ? priorEventIds.map((id) => [id]) : versionBeforeEarliest(own)).flatMap(unknown);
  const found: AlertEvent[] = [];
  for (let step = 0; frontier.length > 0 && step < WALK_BACK_LIMIT; step++) {
    const marked = (await store.storedEvents(frontier)).filter((e) => isUndelivered(e) && !ownIds.has(e.id));
    found.push(...marked);
    frontier = marked.flatMap((e) => unknown(candidateIdsOf(e.alertId, e.alert.version - 1)));
  }
  return found;
}

/** The possible ids of the event that recorded version `version` of an alert (one per event type). */
function candidateIdsOf(alertId: string, version: number): string[] {
  return version < 1 ? [] : ALERT_EVENT_TYPES.map((type) => eventIdFor(alertId, version, type));
}

/** For each alert, the candidate ids of the version before the earliest of these events. */
function versionBeforeEarliest(events: AlertEvent[]): string[][] {
  const earliest = new Map<string, number>();
  for (const e of events) earliest.set(e.alertId, Math.min(earliest.get(e.alertId) ?? Infinity, e.alert.version));
  return [...earliest].map(([alertId, version]) => candidateIdsOf(alertId, version - 1));
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
