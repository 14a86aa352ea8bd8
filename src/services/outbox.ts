import type { Config } from '../config/load';
import type { AlertEvent } from '../domain/alert';
import type { Logger } from '../logger';
import { isUndelivered, type Store } from '../store/store';
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
 * Store round trips per page: earlier marked events of the same alerts, the planner's
 * notification-log reads, one write of the open deliveries, one queue bulk add, one marker update.
 * Returns how many deliveries were handed on.
 */
export async function handOnEvents(deps: OutboxDeps, events: AlertEvent[]): Promise<number> {
  const own = events.filter(isUndelivered);
  if (own.length === 0) return 0;
  // An earlier event of the same alert still marked (its page failed between appending and handing
  // on, and is being retried) goes on first, with these: handed on after them, it would find a later
  // event of its alert sent already and be superseded, lost to an `every` receiver.
  const earlier = await deps.store.undeliveredOfAlerts([...new Set(own.map((e) => e.alertId))]);
  const marked = dedupe([...earlier, ...own]);
  const requests = await planDeliveries(deps, marked);
  // Open before the jobs exist: a later event's job must see an earlier one it waits for.
  const byId = new Map(marked.map((e) => [e.id, e]));
  const open = requests.flatMap((r) => {
    const event = byId.get(r.eventId);
    return event && !r.reminder ? [{ alertId: event.alertId, receiverId: r.receiverId, open: { eventId: event.id, seq: event.seq, at: deps.now() } }] : [];
  });
  await deps.store.openDeliveries(open);
  if (requests.length) await deps.dispatch.deliver(requests);
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
