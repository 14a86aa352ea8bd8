import type { ReceiverConfig } from '../config/schema';
import type { AlertEvent } from '../domain/alert';
import { RepwatchError, isRepwatchError, isRetryable } from '../domain/errors';
import { reminderDue } from '../domain/routing';
import type { Logger } from '../logger';
import type { Notifier } from '../notifiers/notifier';
import type { DeliveryClaims } from '../store/delivery-claims';
import { ReceiverState } from '../store/receiver-state';
import { openKeyOf, type NotificationLogRecord, type OpenDelivery, type Store } from '../store/store';
import { deliveryModeOf, type DeliveryMode } from './notify';
import type { Dispatch } from './ports';

export interface DeliverDeps {
  store: Store;
  notifiers: ReadonlyMap<string, Notifier>;
  /** Schedules reminders (repeatInterval); without it none are sent. */
  dispatch?: Pick<Dispatch, 'deliver'>;
  now: () => number;
  logger: Logger;
  /** The receivers as configured (their deliveryMode); without it each type's default mode. */
  config?: { receivers: readonly ReceiverConfig[] };
  /**
   * Puts this job back to wait `ms` without using up an attempt (BullMQ: moveToDelayed, then
   * DelayedError). Without it a job that must wait throws RW_ERR_DELIVERY_DEFERRED and the queue
   * retries it with its backoff.
   */
  defer?: (ms: number) => Promise<never>;
  /** Where receivers disabled by a 410 are kept; default on `store`. */
  receiverState?: ReceiverState;
  /** Who is sending an (event, receiver) now, and which are finished (store/delivery-claims.ts). */
  claims: Pick<DeliveryClaims, 'claim' | 'finish' | 'finished'>;
}

/** One delivery job's orders. */
export interface DeliverJob {
  eventId: string;
  receiverId: string;
  /** A coalesced delivery: send this alert's latest event instead. */
  latestOf?: string;
  /** The job's id: the first job to claim an (event, receiver) sends it (its retries carry the same id). */
  claimant?: string;
  /** The route's repeatInterval: remind while the alert stays unacknowledged. */
  repeatMs?: number;
  /** This job is reminder n of eventId. */
  reminder?: number;
  /** The event (eventId) as the outbox handed it on; read from the store when absent. */
  event?: AlertEvent;
}

export type DeliverOutcome =
  /** `eventAt`: when the event happened (the delivery latency metric reads it here rather than from the store). */
  | { status: 'sent'; httpStatus: number; eventAt: string }
  | { status: 'already-sent' }
  | { status: 'another-job' }
  | { status: 'no-longer-due' }
  /** A later event of the alert reached the receiver first: this one is recorded superseded, never sent after it. */
  | { status: 'superseded'; by: string }
  /** The receiver is disabled (410 Gone): recorded failed with RW_ERR_RECEIVER_GONE, nothing sent. */
  | { status: 'receiver-disabled' };

/** Events that record a decision already told (acknowledged, resolved, escalated) are never repeated. */
const REPEATABLE = new Set<AlertEvent['type']>(['alert.triggered', 'alert.updated', 'storm.started']);

/**
 * A later event stops waiting for an earlier one handed on this long ago: its job was lost (with
 * Redis) or is retrying for hours. The earlier one is then superseded if it ever comes.
 */
export const ORDER_WAIT_LIMIT_MS = 2 * 60 * 60_000;
/**
 * How long a later event waits in place for an earlier one of its alert that is being sent right
 * now (handed on within ORDER_IN_PLACE_RECENT_MS), asking Redis whether it finished: the usual case
 * under load, where both jobs run at once. Past it, or for an older one (retrying), the job reads
 * the delivery records and is put back.
 */
const ORDER_IN_PLACE_WAIT_MS = 3_000;
const ORDER_IN_PLACE_RECENT_MS = 60_000;
/** How long a job waits in place for another job to start a Slack thread before it retries later. */
const THREAD_WAIT_MS = 5_000;
const THREAD_POLL_MS = 100;
/** A thread claim older than this belongs to a job that died before posting: it is taken over. */
const THREAD_CLAIM_STALE_MS = 60_000;

/** Reminder n of an event: the same alert, a message of its own (id, webhook-id, delivery record). */
export function reminderOf(event: AlertEvent, n: number): AlertEvent {
  return { ...event, id: `${event.id}/reminder-${n}`, reminder: n };
}

/** Thread key of an alert's messages: its case when it has one (one customer, one thread), else the alert. */
const threadKeyOf = (alert: { id: string; caseId?: string }) => (alert.caseId ? `case/${alert.caseId}` : alert.id);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The webhook notifier's 410 Gone, by its code (or, from a notifier without the code, its `gone` detail). */
function isGone(err: unknown): boolean {
  return isRepwatchError(err) && (err.code === 'RW_ERR_RECEIVER_GONE' || err.details?.gone === true);
}

/**
 * Sends one alert event to one receiver, at most once per job and in order per alert:
 * - a disabled receiver (410 Gone) gets nothing: the delivery is recorded failed with RW_ERR_RECEIVER_GONE;
 * - an event older than one already sent to the receiver is recorded `superseded`, never sent after it;
 * - an `every` receiver gets an event only after the earlier events of the alert handed on to it
 *   are finished (sent, superseded or failed for good): the job waits (defer) meanwhile;
 * - one job sends an (event, receiver): it claims it in Redis before sending, and writes the delivery
 *   record (unique per event and receiver) once, after; the notification log tells a retry it went out;
 *   a coalesced job (`latestOf`, `latest` receivers) sends the alert's latest event, and the earlier
 *   events it stands for are recorded `superseded` by it;
 * - a Slack bot's first message of a case claims the case's thread first, so two jobs never start two.
 * After a trigger or update goes out, a reminder is scheduled `repeatMs` later; it is sent only if
 * the alert has not changed and is still not acknowledged (see reminderDue). Failures are recorded
 * and rethrown with their code, so the queue retries what is retryable and stops on what is not.
 */
export async function deliverEvent(deps: DeliverDeps, job: DeliverJob, finalAttempt: boolean): Promise<DeliverOutcome> {
  const { eventId, receiverId, latestOf, reminder } = job;
  const { store } = deps;
  const claimant = job.claimant ?? `deliver|${eventId}|${receiverId}`;
  const notifier = deps.notifiers.get(receiverId);
  if (!notifier) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no enabled receiver "${receiverId}"`);
  const carried = !latestOf && job.event?.id === eventId ? job.event : undefined;
  const found = latestOf ? ((await store.latestEventOf(latestOf)) ?? null) : (carried ?? (await store.getEvent(eventId)));
  if (!found) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert event "${eventId}"`);
  let event = found;
  if (reminder) {
    // Reminded only while nothing happened since: a change is an event of its own, with its own reminders.
    const latest = await store.latestEventOf(found.alertId);
    if (!latest || latest.id !== found.id || !reminderDue(latest.alert, reminder)) return { status: 'no-longer-due' };
    event = reminderOf(latest, reminder);
  }
  const logger = deps.logger.child({ receiver: receiverId, event: event.id, seq: event.seq });
  const receiverState = deps.receiverState ?? new ReceiverState(store);

  // Said in Redis once the store records it, for a later event of the alert waiting for this one.
  const finished = async () => {
    if (!reminder) await deps.claims.finish(event.id, receiverId).catch((err: Error) => logger.warn({ err: err.message }, 'could not note the delivery finished in Redis: a later event waiting for it reads the store instead'));
  };

  const disabled = await receiverState.isDisabled(receiverId);
  if (disabled) {
    await store.markDeliveryFailed(event.id, receiverId, { code: 'RW_ERR_RECEIVER_GONE', message: `receiver "${receiverId}" is disabled since ${new Date(disabled.since).toISOString()}: ${disabled.reason}` });
    if (!reminder) await store.closeDeliveries(event.alertId, receiverId, [event.seq]);
    await finished();
    logger.info({ code: 'RW_ERR_RECEIVER_GONE' }, 'not sent: the receiver is disabled');
    return { status: 'receiver-disabled' };
  }

  const log: NotificationLogRecord = (await store.getNotificationLog(event.alertId, receiverId)) ?? {};
  let open = Object.values(log.open ?? {});
  if (!reminder) {
    // Never after a later one: the receiver would end in an older state (a page after its acknowledgement).
    if (log.lastSentSeq !== undefined && log.lastSentSeq > event.seq && log.lastSentEventId) {
      await supersede(store, event.alertId, receiverId, [{ eventId: event.id, seq: event.seq, at: 0 }], log.lastSentEventId);
      await finished();
      logger.info({ by: log.lastSentEventId }, 'superseded: a later event of the alert was sent first');
      return { status: 'superseded', by: log.lastSentEventId };
    }
    if (modeOf(deps, notifier) === 'every') {
      const { unfinished: waitingFor, finished: done } = await earlierDeliveries(deps, event, receiverId, open);
      // Those finished since the log was read took themselves off it: nothing below supersedes them.
      open = open.filter((o) => !done.has(o.eventId));
      if (waitingFor.length) {
        if (!finalAttempt) return wait(deps, `event ${event.id} waits for ${waitingFor[0].eventId} (earlier, to the same receiver)`, log.open?.[openKeyOf(event.seq)]);
        // Out of attempts: sending keeps the order anyway, the earlier one is superseded if it comes later.
        logger.warn({ waitingFor: waitingFor.map((o) => o.eventId) }, 'sent before earlier events of the alert: its attempts ran out while they were still retrying');
      }
    }
  }

  // Sent before: by this job's earlier attempt that ended after sending, by another job (a
  // coalesced one), or planned again by the outbox after Redis came back empty. An event's
  // notification log says so; a reminder's own delivery record does.
  const sentBefore = reminder ? await reminderSentAt(store, event.id, receiverId, deps.now()) : log.lastSentEventId === event.id ? (log.lastSentAt ?? deps.now()) : undefined;
  if (sentBefore !== undefined) {
    if (!reminder) {
      // Its record may not say so yet (the job ended between the two writes); the events it stood for are done.
      await store.markSentEarlier(event.id, receiverId, sentBefore);
      await supersede(store, event.alertId, receiverId, open.filter((o) => o.seq < event.seq), event.id);
      await finished();
    }
    // The reminder chain goes on from here, at the time it was due; job ids are deterministic, so
    // a reminder still waiting is not doubled.
    await scheduleNextReminder(deps, job, found, reminder, sentBefore);
    return { status: 'already-sent' };
  }
  if (!(await deps.claims.claim(event.id, receiverId, claimant))) return { status: 'another-job' };

  const threadKey = threadKeyOf(event.alert);
  const thread = notifier.threads ? await threadFor(deps, threadKey, receiverId, claimant) : undefined;
  if (thread?.state === 'wait') return wait(deps, `event ${event.id} waits for the first message of its Slack thread`, undefined);
  try {
    const receipt = await notifier.send(event, logger, { threadRef: thread?.state === 'has-thread' ? thread.threadRef : undefined });
    const at = deps.now();
    // The log first: it is what a retry reads to know the event went out (the record follows).
    await store.recordSent(event.alertId, receiverId, { eventId: event.id, seq: event.seq, version: event.alert.version, at });
    await store.markDelivered(event.id, receiverId, at, receipt.status, receipt.reference);
    // The first message of a case starts its thread; later ones reply in it (Slack bot tokens).
    if (thread?.state === 'claimed') {
      if (receipt.reference) await store.saveThread(threadKey, receiverId, receipt.reference);
      else await store.releaseThread(threadKey, receiverId, claimant);
    }
    if (!reminder) await supersede(store, event.alertId, receiverId, open.filter((o) => o.seq < event.seq), event.id);
    await finished();
    logger.debug({ httpStatus: receipt.status }, 'delivered');
    await scheduleNextReminder(deps, job, found, reminder, at);
    return { status: 'sent', httpStatus: receipt.status, eventAt: event.at };
  } catch (caught) {
    if (thread?.state === 'claimed') await store.releaseThread(threadKey, receiverId, claimant).catch(() => undefined);
    const err = isGone(caught) && isRepwatchError(caught) && caught.code !== 'RW_ERR_RECEIVER_GONE'
      ? new RepwatchError('RW_ERR_RECEIVER_GONE', caught.message, { details: caught.details })
      : caught;
    const code = isRepwatchError(err) ? err.code : 'UNEXPECTED';
    const message = err instanceof Error ? err.message : String(err);
    const final = finalAttempt || !isRetryable(err);
    await store.markDeliveryError(event.id, receiverId, { code, message }, final);
    if (final && !reminder) {
      await store.closeDeliveries(event.alertId, receiverId, [event.seq]);
      await finished();
    }
    if (isGone(err)) {
      // Standard Webhooks: 410 Gone asks the sender to stop. Operators see it (ReceiverState) and enable it again.
      const state = await receiverState.disable(receiverId, message, 'RW_ERR_RECEIVER_GONE', deps.now());
      logger.error({ code, since: state.since }, `receiver disabled: ${message}`);
    } else {
      logger.warn({ code, final }, `delivery failed: ${message}`);
    }
    throw err;
  }
}

/** When reminder `eventId` went out, if it did (ms since epoch). */
async function reminderSentAt(store: Store, eventId: string, receiverId: string, now: number): Promise<number | undefined> {
  const record = await store.getDelivery(eventId, receiverId);
  return record?.status === 'sent' ? (record.sentAt ? new Date(record.sentAt).getTime() : now) : undefined;
}

/** After a trigger or update (or reminder n) went out at `sentAt`: reminder n+1, `repeatMs` later, while it is still due. */
async function scheduleNextReminder(deps: DeliverDeps, job: DeliverJob, found: AlertEvent, reminder: number | undefined, sentAt: number): Promise<void> {
  const next = (reminder ?? 0) + 1;
  if (!job.repeatMs || !deps.dispatch || !REPEATABLE.has(found.type) || !reminderDue(found.alert, next)) return;
  const delayMs = Math.max(0, sentAt + job.repeatMs - deps.now());
  await deps.dispatch.deliver([{ eventId: found.id, receiverId: job.receiverId, delayMs, repeatMs: job.repeatMs, reminder: next }]);
}

function modeOf(deps: DeliverDeps, notifier: Notifier): DeliveryMode {
  const configured = deps.config?.receivers.find((r) => r.id === notifier.receiverId);
  return deliveryModeOf(configured ?? { type: notifier.type });
}

/**
 * Earlier events of the alert handed on to this receiver: those not finished, and those found
 * finished. Redis says which finished (their jobs note it); for ones handed on just now (being sent
 * beside this job) it is asked again for up to ORDER_IN_PLACE_WAIT_MS. Only what Redis does not
 * know is read from the delivery records: an entry whose record is final already (its job ended
 * between recording and closing it) is closed here. One handed on longer ago than
 * ORDER_WAIT_LIMIT_MS is not waited for.
 */
async function earlierDeliveries(deps: DeliverDeps, event: AlertEvent, receiverId: string, open: OpenDelivery[]): Promise<{ unfinished: OpenDelivery[]; finished: Set<string> }> {
  const earlier = open.filter((o) => o.seq < event.seq && o.at > deps.now() - ORDER_WAIT_LIMIT_MS);
  const finished = await finishedInRedis(deps, earlier, receiverId);
  const unknown = earlier.filter((o) => !finished.has(o.eventId));
  const unfinished: OpenDelivery[] = [];
  const closed: number[] = [];
  // Their records in one read.
  const records = await deps.store.getDeliveries(unknown.map((o) => o.eventId), receiverId);
  for (const o of unknown) {
    const record = records.get(o.eventId);
    if (record && record.status !== 'pending') {
      closed.push(o.seq);
      finished.add(o.eventId);
    } else unfinished.push(o);
  }
  await deps.store.closeDeliveries(event.alertId, receiverId, closed);
  return { unfinished: unfinished.sort((a, b) => a.seq - b.seq), finished };
}

/** Which of `earlier` Redis says are finished, waiting in place while the rest were handed on just now. */
async function finishedInRedis(deps: DeliverDeps, earlier: OpenDelivery[], receiverId: string): Promise<Set<string>> {
  if (earlier.length === 0) return new Set();
  const until = Date.now() + ORDER_IN_PLACE_WAIT_MS;
  let pause = 10;
  for (;;) {
    const finished = await deps.claims.finished(earlier.map((o) => o.eventId), receiverId);
    const rest = earlier.filter((o) => !finished.has(o.eventId));
    if (rest.length === 0 || Date.now() >= until || rest.some((o) => o.at < deps.now() - ORDER_IN_PLACE_RECENT_MS)) return finished;
    await sleep(pause);
    pause = Math.min(pause * 2, 100);
  }
}

/** Events made needless by `by`: recorded superseded and taken off the open list. */
async function supersede(store: Store, alertId: string, receiverId: string, entries: OpenDelivery[], by: string): Promise<void> {
  const done = entries.filter((o) => o.eventId !== by);
  if (done.length === 0) return;
  await store.markSuperseded(done.map((o) => o.eventId), receiverId, by);
  await store.closeDeliveries(alertId, receiverId, done.map((o) => o.seq));
}

/**
 * This job must wait for another: put back without using an attempt when the worker can, else a
 * retryable coded error (the queue's backoff). The wait grows with how long it has waited.
 */
async function wait(deps: DeliverDeps, why: string, own: OpenDelivery | undefined): Promise<never> {
  const waited = own ? Math.max(0, deps.now() - own.at) : 0;
  const ms = Math.min(30_000, Math.max(500, Math.round(waited / 4)));
  deps.logger.debug({ waitMs: ms }, why);
  if (deps.defer) return deps.defer(ms);
  throw new RepwatchError('RW_ERR_DELIVERY_DEFERRED', why);
}

type ThreadClaim = { state: 'claimed' } | { state: 'has-thread'; threadRef: string } | { state: 'wait' };

/**
 * The Slack thread this message belongs in. The first job to claim the case's thread posts the
 * top-level message; another job delivering a message of the same case meanwhile waits for the
 * winner's message (briefly, in place; then it retries later) and replies in its thread.
 */
async function threadFor(deps: DeliverDeps, threadKey: string, receiverId: string, claimant: string): Promise<ThreadClaim> {
  const until = Date.now() + THREAD_WAIT_MS;
  for (;;) {
    const claim = await deps.store.claimThread(threadKey, receiverId, claimant, deps.now(), THREAD_CLAIM_STALE_MS);
    if (claim.state !== 'claimed-by-other') return claim;
    if (Date.now() >= until) return { state: 'wait' };
    await sleep(THREAD_POLL_MS);
  }
}
