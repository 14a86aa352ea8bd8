import type { Config } from '../config/load';
import type { AlertEvent } from '../domain/alert';
import type { Logger } from '../logger';
import { eventOf, isUndelivered, type Store } from '../store/store';
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
 * Store round trips per page: the alerts' previous events (by id), the planner's read of silences
 * and grouping timers, one write of the open deliveries and timers, one queue bulk add, one marker
 * update.
 * Returns how many deliveries were handed on.
 */
export async function handOnEvents(deps: OutboxDeps, events: AlertEvent[], options: { priorEventIds?: string[] } = {}): Promise<number> {
  const own = events.filter(isUndelivered);
  if (own.length === 0) return 0;
  // An earlier event of the same alert still marked (its page failed between appending and handing
  // on, and is being retried) goes on first, with these: handed on after them, it would find a later
  // event of its alert sent already and be superseded, lost to an `every` receiver.
  const earlier = await earlierUndelivered(deps.store, own, options.priorEventIds);
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

/**
 * Earlier events of these events' alerts still marked undelivered. With `priorEventIds` (each
 * alert's latest event before the page, known to the page's read step) only those are read, by
 * id; only when one of them is still marked (a page failed before handing on) are the alert's
 * events searched for more. Without them, the alerts' events are searched (a query by alert, not
 * by id: a scan on FerretDB, so not for every page).
 */
async function earlierUndelivered(store: Store, own: AlertEvent[], priorEventIds?: string[]): Promise<AlertEvent[]> {
  if (!priorEventIds) return store.undeliveredOfAlerts([...new Set(own.map((e) => e.alertId))]);
  const ownIds = new Set(own.map((e) => e.id));
  const toRead = priorEventIds.filter((id) => !ownIds.has(id));
  if (toRead.length === 0) return [];
  const stillMarked = (await store.storedEvents(toRead)).filter(isUndelivered);
  if (stillMarked.length === 0) return [];
  return store.undeliveredOfAlerts([...new Set(stillMarked.map((e) => e.alertId))]);
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
