import type { Alert } from './alert';
import { RepwatchError } from './errors';

/**
 * Triggered → acknowledged → resolved, and the SLA escalation of a critical alert nobody
 * acknowledged in time. Pure: each returns the alert as it is after the change, or throws a coded
 * error for a change that makes no sense (resolving twice, acknowledging a resolved alert).
 */

export function acknowledge(alert: Alert, by: string, now: number): Alert {
  if (alert.status === 'resolved') throw new RepwatchError('RW_ERR_ALERT_STATE', `alert ${alert.id} is already resolved`);
  if (alert.status === 'acknowledged') throw new RepwatchError('RW_ERR_ALERT_STATE', `alert ${alert.id} was already acknowledged by ${alert.acknowledgedBy}`);
  const at = new Date(now).toISOString();
  return { ...alert, status: 'acknowledged', acknowledgedAt: at, acknowledgedBy: by, updatedAt: at, version: alert.version + 1 };
}

export function resolve(alert: Alert, by: string, now: number): Alert {
  if (alert.status === 'resolved') throw new RepwatchError('RW_ERR_ALERT_STATE', `alert ${alert.id} is already resolved (by ${alert.resolvedBy})`);
  const at = new Date(now).toISOString();
  return { ...alert, status: 'resolved', resolvedAt: at, resolvedBy: by, updatedAt: at, version: alert.version + 1 };
}

/** Whether the SLA has run out on this alert at `now`: critical, still triggered, deadline passed, not escalated yet. */
export function isOverdue(alert: Alert, now: number): boolean {
  return alert.status === 'triggered' && !!alert.slaDeadline && !alert.escalatedAt && Date.parse(alert.slaDeadline) <= now;
}

export function escalate(alert: Alert, now: number): Alert {
  const at = new Date(now).toISOString();
  return { ...alert, escalatedAt: at, updatedAt: at, version: alert.version + 1 };
}

/** Milliseconds between two ISO times, or undefined when either is missing. */
export function elapsed(fromIso: string | undefined, toIso: string | undefined): number | undefined {
  if (!fromIso || !toIso) return undefined;
  return Date.parse(toIso) - Date.parse(fromIso);
}
