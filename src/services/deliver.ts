import { RepwatchError, isRepwatchError, isRetryable } from '../domain/errors';
import type { Logger } from '../logger';
import type { Notifier } from '../notifiers/notifier';
import type { Store } from '../store/store';

export interface DeliverDeps {
  store: Store;
  notifiers: ReadonlyMap<string, Notifier>;
  now: () => number;
  logger: Logger;
}

export type DeliverOutcome = { status: 'sent'; httpStatus: number } | { status: 'already-sent' } | { status: 'another-job' };

/** Thread key of an alert's messages: its case when it has one (one customer, one thread), else the alert. */
const threadKeyOf = (alert: { id: string; caseId?: string }) => (alert.caseId ? `case/${alert.caseId}` : alert.id);

/**
 * Sends one alert event to one receiver, at most once: the delivery record (unique per event and
 * receiver) is checked before sending and marked after. A coalesced job (`latestOf`) sends the
 * alert's latest event instead, so updates that piled up during a group interval go out as one.
 * Failures are recorded and rethrown with their code, so the queue retries what is retryable
 * and stops on what is not.
 */
export async function deliverEvent(
  deps: DeliverDeps,
  eventId: string,
  receiverId: string,
  finalAttempt: boolean,
  latestOf?: string,
  /** The job's id: the first job to claim an (event, receiver) owns it. */
  claimant = `deliver|${eventId}|${receiverId}`,
): Promise<DeliverOutcome> {
  const notifier = deps.notifiers.get(receiverId);
  if (!notifier) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no enabled receiver "${receiverId}"`);
  const event = latestOf ? ((await deps.store.latestEventOf(latestOf)) ?? null) : await deps.store.getEvent(eventId);
  if (!event) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert event "${eventId}"`);
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
