import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { AlertEvent } from '../src/domain/alert';
import { mentionSchema } from '../src/domain/mention';
import type { DeliveryRequest } from '../src/services/ports';
import type { RequeueOutcome } from '../src/services/recovery';

/** Every queue repwatch uses, and the typed payload of its jobs. */
export const QUEUES = { poll: 'poll', ingest: 'ingest', deliver: 'deliver', sla: 'sla', recheck: 'recheck', webhook: 'webhook' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const pollJobSchema = z.object({ brandId: z.string(), sourceId: z.string() }).strict();
/** `pageKey`: the page's key in its source's MongoDB checkpoint (src/store/source-state.ts), cleared when the page is judged. */
export const ingestJobSchema = z
  .object({ brandId: z.string(), sourceId: z.string(), polledAt: z.number(), mentions: z.array(mentionSchema.passthrough()).max(1000), pageKey: z.string().max(64).optional() })
  .strict();
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** An alert event in a job's data: the fields a delivery relies on, checked. */
const carriedEventSchema = z.custom<AlertEvent>(
  (v) => isRecord(v) && typeof v.id === 'string' && typeof v.seq === 'number' && typeof v.type === 'string' && typeof v.alertId === 'string' && typeof v.at === 'string' && isRecord(v.alert),
  { message: 'not an alert event' },
);
/**
 * `latestOf`: a coalesced delivery that sends that alert's latest event when it runs.
 * `repeatMs`: remind that long after sending; `reminder`: this job is reminder n of eventId.
 */
export const deliverJobSchema = z
  .object({
    eventId: z.string(),
    receiverId: z.string(),
    latestOf: z.string().optional(),
    repeatMs: z.number().int().positive().optional(),
    reminder: z.number().int().min(1).max(100).optional(),
    /** The event to send (the outbox puts it in): events never change, so the job need not read it. */
    event: carriedEventSchema.optional(),
  })
  .strict();
export const slaJobSchema = z.object({ alertId: z.string() }).strict();
/** Items a platform's webhook told us about (src/api/webhooks.ts), to fetch in full and ingest. */
export const webhookJobSchema = z
  .object({
    brandId: z.string(),
    sourceId: z.string(),
    items: z.array(z.object({ accountId: z.string(), field: z.string(), id: z.string(), value: z.record(z.string(), z.unknown()).optional() }).strict()).min(1).max(1000),
  })
  .strict();
export const recheckJobSchema = z.object({ brandId: z.string(), sourceId: z.string(), postKey: z.string(), round: z.number().int().min(0).max(20) }).strict();

export type PollJob = z.infer<typeof pollJobSchema>;
export type IngestJob = z.infer<typeof ingestJobSchema>;
export type DeliverJob = z.infer<typeof deliverJobSchema>;
export type SlaJob = z.infer<typeof slaJobSchema>;

/**
 * How each queue treats work that fails or whose process dies, chosen per queue (BullMQ's defaults,
 * one stall and no retries, lost whole pages when an ingest process was killed):
 * - `lockDuration`: a job whose lock is not renewed for this long counts as stalled. The lock is
 *   renewed every lockDuration/2 while the event loop is free; 30 s covers a page's longest
 *   synchronous stretch (judging 100 posts takes milliseconds) with a wide margin, while a killed
 *   process's jobs are picked up again within a minute.
 * - `stalledInterval`: how often workers look for stalled jobs (also the delay before a killed
 *   process's job runs again).
 * - `maxStalledCount`: how many times a job may stall (its process killed or blocked) before it is
 *   failed. A page that kills its process every time must not loop for ever, but one crash of a
 *   worker is not the page's fault: ingest and delivery allow 3.
 * - `attempts` and `backoffMs`: tries and the first wait (doubling, capped by the other side's
 *   Retry-After or rate-limit reset when it gave one; see workers/adapters.ts).
 * Ingest pages that still fail become dead letters in MongoDB (src/store/dead-letters.ts): a
 * coverage alert, retried by the minute sweep and by `repwatch dlq retry`. Deliveries take their
 * attempts and backoff from defaults.yaml (`delivery`); their dead letters are counted and listed
 * and retried only by hand (a late resend could overtake a newer state of the alert).
 */
export interface QueuePolicy {
  attempts: number;
  backoffMs: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
}
export const QUEUE_POLICY: Record<QueueName, QueuePolicy> = {
  // 1+2+4+...+64 s: about two minutes of retries covers a MongoDB failover or restart.
  ingest: { attempts: 8, backoffMs: 1000, lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 3 },
  // A lost poll is replaced by the next tick of its scheduler; a few quick tries are enough.
  poll: { attempts: 3, backoffMs: 1000, lockDuration: 60_000, stalledInterval: 30_000, maxStalledCount: 2 },
  // attempts and backoff come from defaults.yaml; a receiver's timeout (15 s) fits twice in the lock.
  deliver: { attempts: 10, backoffMs: 5000, lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 3 },
  // A timer that keeps failing is caught by the minute sweep (overdue alerts), so 5 tries suffice.
  sla: { attempts: 5, backoffMs: 1000, lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 3 },
  // Webhook items: the platform's own retries stop once we answered 200, so these retry long (about 17 min).
  webhook: { attempts: 10, backoffMs: 1000, lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 3 },
  // A lost recheck only means one engagement sample fewer.
  recheck: { attempts: 3, backoffMs: 5000, lockDuration: 30_000, stalledInterval: 30_000, maxStalledCount: 2 },
};

/** The worker options of a queue's policy. */
export function workerOptions(policy: QueuePolicy): Pick<QueuePolicy, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> {
  const { lockDuration, stalledInterval, maxStalledCount } = policy;
  return { lockDuration, stalledInterval, maxStalledCount };
}

/** BullMQ job ids may not contain ':' nor be all digits; these never are. */
const safe = (s: string) => s.replace(/:/g, '_');
export const jobIds = {
  schedulerOf: (brandId: string, sourceId: string) => safe(`poll|${brandId}|${sourceId}`),
  pollAgain: (brandId: string, sourceId: string, key: string) => safe(`more|${brandId}|${sourceId}|${key}`),
  ingest: (brandId: string, sourceId: string, key: string) => safe(`ingest|${brandId}|${sourceId}|${key}`),
  deliver: (eventId: string, receiverId: string) => safe(`deliver|${eventId}|${receiverId}`),
  notify: (alertId: string, receiverId: string, slot: number) => safe(`notify|${alertId}|${receiverId}|${slot}`),
  remind: (eventId: string, receiverId: string, n: number) => safe(`remind|${eventId}|${receiverId}|${n}`),
  sla: (alertId: string, deadline: number) => safe(`sla|${alertId}|${deadline}`),
  recheck: (postKey: string, round: number) => safe(`recheck|${postKey}|${round}`),
  webhook: (brandId: string, sourceId: string, key: string) => safe(`webhook|${brandId}|${sourceId}|${key}`),
};

/** A delivery request as a job: its deterministic id (a request handed on twice is one job) and its data. */
export function deliveryJobOf(r: DeliveryRequest): { id: string; data: DeliverJob } {
  const id = r.reminder
    ? jobIds.remind(r.eventId, r.receiverId, r.reminder)
    : r.coalesce
      ? jobIds.notify(r.coalesce.alertId, r.receiverId, r.coalesce.slot)
      : jobIds.deliver(r.eventId, r.receiverId);
  const data: DeliverJob = {
    eventId: r.eventId,
    receiverId: r.receiverId,
    ...(r.coalesce ? { latestOf: r.coalesce.alertId } : {}),
    ...(r.repeatMs ? { repeatMs: r.repeatMs } : {}),
    ...(r.reminder ? { reminder: r.reminder } : {}),
    ...(r.event && r.event.id === r.eventId ? { event: r.event } : {}),
  };
  return { id, data };
}

/** Reminder deliveries (repeatInterval) have a job name of their own: they wait hours by design. */
export const REMINDER_JOB = 'remind';

/** Jobs still to do in a queue, not counting reminders waiting for their time: "has it drained?" */
export async function outstandingJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
  if (counts.delayed === 0) return counts.waiting + counts.active + counts.prioritized;
  const delayed = await queue.getJobs(['delayed']);
  return counts.waiting + counts.active + counts.prioritized + delayed.filter((j) => j && j.name !== REMINDER_JOB).length;
}

/** The name of an ingest job put back by a dead-letter retry after Redis lost the original (its data came from MongoDB). */
export const RETRIED_JOB = 'retried';

export type { RequeueOutcome };

/**
 * Puts a dead job back, idempotently: a job still in the failed set is retried in place (its
 * attempts are not reset, so each retry is one more attempt); a job Redis no longer has (lost with
 * Redis, or removed after a week) is added again under its own id from the data kept in MongoDB;
 * a job already waiting or running is left alone.
 */
export async function requeue(queue: Queue, jobId: string, name: string, data: unknown, opts: { attempts: number; backoffMs: number }): Promise<RequeueOutcome> {
  const job = await queue.getJob(jobId);
  if (job) {
    const state = await job.getState();
    if (state === 'completed') return 'completed';
    if (state !== 'failed') return 'in-progress';
    try {
      await job.retry('failed');
      return 'retried';
    } catch {
      // Another retry moved it first.
      return 'in-progress';
    }
  }
  await queue.add(name, data, {
    jobId,
    attempts: opts.attempts,
    backoff: { type: 'repwatch', delay: opts.backoffMs },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
  return 'requeued';
}
