import type { Alert, AlertEvent, AlertEventType } from '../domain/alert';
import { acknowledgeCase, resolveCase, settleRecovery } from '../domain/cases';
import { RepwatchError } from '../domain/errors';
import { acknowledge, escalate, isOverdue, resolve } from '../domain/lifecycle';
import { alertsOfStorm } from '../store/queries';
import { withEventId } from '../store/store';
import type { SweepRequests } from '../store/sweep-requests';
import { caseSettingsOf, saveCases } from './cases';
import type { EvaluateDeps } from './evaluate';
import { handOnEvents, replanUndelivered } from './outbox';

export type LifecycleDeps = EvaluateDeps & {
  /** Where a change asks for the full sweep before writing its events (absent: the sweep's own schedule finds them). */
  sweepRequests?: Pick<SweepRequests, 'request'>;
};

/** A person's name or address as given on the command line or in Slack; kept short and printable. */
function actor(by: string): string {
  const clean = by.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 100);
  if (!clean) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'say who acknowledges or resolves (--by NAME)');
  return clean;
}

async function change(
  deps: LifecycleDeps,
  alertId: string,
  type: AlertEventType,
  apply: (alert: Alert, now: number) => Alert | null,
  by: string,
  comment?: string,
): Promise<{ alert: Alert; event?: AlertEvent }> {
  const found = await deps.store.getAlert(alertId);
  if (!found) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert "${alertId}"`);
  // The brand's lock: an ingest job may be updating the same alert or case right now. Taken as
  // urgent: an escalation or an acknowledgement does not wait behind the brand's bulk ingest.
  return deps.locks.withLock(`brand:${found.brandId}`, async (held) => {
    // Read again under the lock; gone meanwhile (its database dropped, say) is the same coded error.
    const alert = await deps.store.getAlert(alertId);
    if (!alert) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert "${alertId}"`);
    const now = deps.now();
    const applied = apply(alert, now);
    if (!applied) return { alert };
    // Written outside a queue job, nothing retries this change if the process dies before its
    // events are handed on: the full sweep is asked to look first.
    if (by !== 'sla') await deps.sweepRequests?.request(now);
    await held.confirm();
    const recorded = withEventId({ type, alert: applied, at: new Date(now).toISOString(), by, ...(comment ? { comment } : {}) });
    const next = recorded.alert;
    const { events } = await deps.store.appendEvents([recorded]);
    await deps.store.saveAlerts([next]);
    // The case follows its alerts: acknowledged with the first, resolved (and watched for recovery) with them.
    if (next.caseId && (type === 'alert.acknowledged' || type === 'alert.resolved')) {
      const c = (await deps.store.getCases([next.caseId])).get(next.caseId);
      const brand = deps.config.brands.find((b) => b.id === next.brandId);
      if (c && brand) {
        const updated = type === 'alert.acknowledged' ? (c.state === 'open' ? acknowledgeCase(c, by, now) : c) : c.state !== 'resolved' ? resolveCase(c, by, now, caseSettingsOf(brand.effectivePolicy)) : c;
        if (updated !== c) await saveCases(deps, brand, [updated], now, new Set([c.id]));
      }
    }
    // A storm is handled as one: its grouped alerts are acknowledged and resolved with it.
    let memberEvents: AlertEvent[] = [];
    if (next.kind === 'storm' && (type === 'alert.acknowledged' || type === 'alert.resolved')) {
      const members = (await alertsOfStorm(deps.store, next.id, 0)).filter((a) => a.brandId === next.brandId && a.status !== 'resolved' && (type === 'alert.resolved' || a.status === 'triggered'));
      const changes = members.map((a) => withEventId({ type, alert: type === 'alert.acknowledged' ? acknowledge(a, by, now) : resolve(a, by, now), at: new Date(now).toISOString(), by }));
      memberEvents = (await deps.store.appendEvents(changes)).events;
      await deps.store.saveAlerts(changes.map((c) => c.alert));
    }
    // The outbox: deliveries planned from the events just written, then their marker cleared.
    await handOnEvents(deps, [...events, ...memberEvents]);
    deps.logger.info({ alert: alertId, change: type, by }, 'alert changed');
    return { alert: next, event: events[0] };
  }, { urgent: true });
}

/** A comment kept with the event: printable, at most 1,000 characters, absent when empty. */
function remark(comment?: string): string | undefined {
  const clean = comment?.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ').trim().slice(0, 1000);
  return clean || undefined;
}

export function acknowledgeAlert(deps: LifecycleDeps, alertId: string, by: string, comment?: string) {
  const who = actor(by);
  return change(deps, alertId, 'alert.acknowledged', (a, now) => acknowledge(a, who, now), who, remark(comment));
}

export function resolveAlert(deps: LifecycleDeps, alertId: string, by: string, comment?: string) {
  const who = actor(by);
  return change(deps, alertId, 'alert.resolved', (a, now) => resolve(a, who, now), who, remark(comment));
}

/**
 * The SLA timer of one alert: escalates it to on-call if it is still unacknowledged after its
 * deadline. Idempotent: an alert escalates once; acknowledged or resolved alerts are left alone.
 */
export async function escalateIfOverdue(deps: LifecycleDeps, alertId: string): Promise<boolean> {
  const { event } = await change(deps, alertId, 'alert.escalated', (a, now) => (isOverdue(a, now) ? escalate(a, now) : null), 'sla');
  return !!event;
}

/** Every overdue alert at once: a sweep that catches timers lost with Redis. */
export async function escalateOverdue(deps: LifecycleDeps): Promise<string[]> {
  const escalated: string[] = [];
  for (const alert of await deps.store.overdueAlerts(deps.now())) {
    if (await escalateIfOverdue(deps, alert.id)) escalated.push(alert.id);
  }
  return escalated;
}

/**
 * Resolved cases whose recovery window ended without a neutral or positive post are recorded as
 * not recovered. Part of the periodic sweep: evaluation only reads the cases its posts reach, so
 * a customer who never posts again is settled here.
 */
export async function settleRecoveries(deps: LifecycleDeps): Promise<string[]> {
  const settled: string[] = [];
  const due = await deps.store.casesDueToSettle(deps.now());
  for (const brandId of new Set(due.map((c) => c.brandId))) {
    const brand = deps.config.brands.find((b) => b.id === brandId);
    if (!brand) continue;
    await deps.locks.withLock(`brand:${brandId}`, async (held) => {
      const now = deps.now();
      const ids = due.filter((c) => c.brandId === brandId).map((c) => c.id);
      const current = [...(await deps.store.getCases(ids)).values()];
      const changed = current.filter((c) => settleRecovery(c, now) !== c).map((c) => settleRecovery(c, now));
      await held.confirm();
      await saveCases(deps, brand, changed, now, new Set(ids));
      settled.push(...changed.map((c) => c.id));
    });
  }
  if (settled.length) deps.logger.info({ cases: settled.length }, 'recovery windows ended: not recovered');
  return settled;
}

/** Events not handed on within this long after they happened are taken to be left by a crash. */
export const OUTBOX_REPLAN_AFTER_MS = 60_000;

/** The schedule role's minute sweep: escalations whose timer was lost, ended recovery windows, and events a crash left in the outbox. */
export async function sweep(deps: LifecycleDeps): Promise<{ escalated: string[]; settled: string[]; replanned: number }> {
  return { escalated: await escalateOverdue(deps), settled: await settleRecoveries(deps), replanned: await replanUndelivered(deps, OUTBOX_REPLAN_AFTER_MS) };
}
