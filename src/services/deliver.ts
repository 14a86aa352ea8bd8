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

export type DeliverOutcome = { status: 'sent'; httpStatus: number } | { status: 'already-sent' };

/**
 * Sends one alert event to one receiver, at most once: the delivery record (unique per event and
 * receiver) is checked before sending and marked after. Failures are recorded and rethrown with
 * their code, so the queue retries what is retryable and stops on what is not.
 */
export async function deliverEvent(deps: DeliverDeps, eventId: string, receiverId: string, finalAttempt: boolean): Promise<DeliverOutcome> {
  const notifier = deps.notifiers.get(receiverId);
  if (!notifier) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no enabled receiver "${receiverId}"`);
  const event = await deps.store.getEvent(eventId);
  if (!event) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert event "${eventId}"`);
  const record = await deps.store.claimDelivery(eventId, receiverId);
  if (record.status === 'sent') return { status: 'already-sent' };
  const logger = deps.logger.child({ receiver: receiverId, event: eventId, seq: event.seq });
  try {
    const receipt = await notifier.send(event, logger);
    await deps.store.markDelivered(eventId, receiverId, deps.now(), receipt.status, receipt.reference);
    logger.debug({ httpStatus: receipt.status }, 'delivered');
    return { status: 'sent', httpStatus: receipt.status };
  } catch (err) {
    const code = isRepwatchError(err) ? err.code : 'UNEXPECTED';
    const message = err instanceof Error ? err.message : String(err);
    const final = finalAttempt || !isRetryable(err);
    await deps.store.markDeliveryError(eventId, receiverId, { code, message }, final);
    logger.warn({ code, final, attempt: record.attempts }, `delivery failed: ${message}`);
    throw err;
  }
}
