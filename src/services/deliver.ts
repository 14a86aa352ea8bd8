import type { AlertEvent } from '../domain/alert';
import { RepwatchError, isRepwatchError, isRetryable } from '../domain/errors';
import { reminderDue } from '../domain/routing';
import type { Logger } from '../logger';
import type { Notifier } from '../notifiers/notifier';
import type { Store } from '../store/store';
import type { Dispatch } from './ports';

export interface DeliverDeps {
  store: Store;
  notifiers: ReadonlyMap<string, Notifier>;
  /** Schedules reminders (repeatInterval); without it none are sent. */
  dispatch?: Pick<Dispatch, 'deliver'>;
  now: () => number;
  logger: Logger;
}

/** One delivery job's orders. */
export interface DeliverJob {
  eventId: string;
  receiverId: string;
  /** A coalesced delivery: send this alert's latest event instead. */
  latestOf?: string;
  /** The job's id: the first job to claim an (event, receiver) owns it. */
  claimant?: string;
  /** The route's repeatInterval: remind while the alert stays unacknowledged. */
  repeatMs?: number;
  /** This job is reminder n of eventId. */
  reminder?: number;
}

export type DeliverOutcome = { status: 'sent'; httpStatus: number } | { status: 'already-sent' } | { status: 'another-job' } | { status: 'no-longer-due' };

/** Events that record a decision already told (acknowledged, resolved, escalated) are never repeated. */
const REPEATABLE = new Set<AlertEvent['type']>(['alert.triggered', 'alert.updated', 'storm.started']);

/** Reminder n of an event: the same alert, a message of its own (id, webhook-id, delivery record). */
export function reminderOf(event: AlertEvent, n: number): AlertEvent {
  return { ...event, id: `${event.id}/reminder-${n}`, reminder: n };
}

/** Thread key of an alert's messages: its case when it has one (one customer, one thread), else the alert. */
const threadKeyOf = (alert: { id: string; caseId?: string }) => (alert.caseId ? `case/${alert.caseId}` : alert.id);

/**
 * Sends one alert event to one receiver, at most once: the delivery record (unique per event and
 * receiver) is checked before sending and marked after. A coalesced job (`latestOf`) sends the
 * alert's latest event instead, so updates that piled up during a group interval go out as one.
 * After a trigger or update goes out, a reminder is scheduled `repeatMs` later; it is sent only
 * if the alert has not changed and is still not acknowledged (see reminderDue), and schedules the
 * next. Failures are recorded and rethrown with their code, so the queue retries what is
 * retryable and stops on what is not.
 */
export async function deliverEvent(deps: DeliverDeps, job: DeliverJob, finalAttempt: boolean): Promise<DeliverOutcome> {
  const { eventId, receiverId, latestOf, reminder } = job;
  const claimant = job.claimant ?? `deliver|${eventId}|${receiverId}`;
  const notifier = deps.notifiers.get(receiverId);
  if (!notifier) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no enabled receiver "${receiverId}"`);
  const found = latestOf ? ((await deps.store.latestEventOf(latestOf)) ?? null) : await deps.store.getEvent(eventId);
  if (!found) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert event "${eventId}"`);
  let event = found;
  if (reminder) {
    // Reminded only while nothing happened since: a change is an event of its own, with its own reminders.
    const latest = await deps.store.latestEventOf(found.alertId);
    if (!latest || latest.id !== found.id || !reminderDue(latest.alert, reminder)) return { status: 'no-longer-due' };
    event = reminderOf(latest, reminder);
  }
  const record = await deps.store.claimDelivery(event.id, receiverId, claimant);
  if (record.status === 'sent') return { status: 'already-sent' };
  if (record.claimant !== undefined && record.claimant !== claimant) return { status: 'another-job' };
  const logger = deps.logger.child({ receiver: receiverId, event: event.id, seq: event.seq });
  const threadKey = threadKeyOf(event.alert);
  const thread = notifier.threads ? await deps.store.getNotificationLog(threadKey, receiverId) : undefined;
  try {
    const receipt = await notifier.send(event, logger, { threadRef: thread?.threadRef });
    const at = deps.now();
    await deps.store.markDelivered(event.id, receiverId, at, receipt.status, receipt.reference);
    const log = await deps.store.getNotificationLog(event.alertId, receiverId);
    await deps.store.saveNotificationLog(event.alertId, receiverId, { ...log, firstEventAt: log?.firstEventAt ?? at, lastSentAt: at, lastSentVersion: event.alert.version }, !!log);
    // The first message of a case starts its thread; later ones reply in it (Slack bot tokens).
    if (notifier.threads && receipt.reference && !thread?.threadRef) await deps.store.saveNotificationLog(threadKey, receiverId, { ...(thread ?? {}), threadRef: receipt.reference }, !!thread);
    logger.debug({ httpStatus: receipt.status }, 'delivered');
    const next = (reminder ?? 0) + 1;
    if (job.repeatMs && deps.dispatch && REPEATABLE.has(found.type) && reminderDue(found.alert, next)) {
      await deps.dispatch.deliver([{ eventId: found.id, receiverId, delayMs: job.repeatMs, repeatMs: job.repeatMs, reminder: next }]);
    }
    return { status: 'sent', httpStatus: receipt.status };
  } catch (err) {
    const code = isRepwatchError(err) ? err.code : 'UNEXPECTED';
    const message = err instanceof Error ? err.message : String(err);
    const final = finalAttempt || !isRetryable(err);
    await deps.store.markDeliveryError(event.id, receiverId, { code, message }, final);
    logger.warn({ code, final, attempt: record.attempts }, `delivery failed: ${message}`);
    throw err;
  }
}
