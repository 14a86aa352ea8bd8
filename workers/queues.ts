import type { Queue } from 'bullmq';
import { z } from 'zod';
import { mentionSchema } from '../src/domain/mention';
import type { DeliveryRequest } from '../src/services/ports';

/** Every queue repwatch uses, and the typed payload of its jobs. */
export const QUEUES = { poll: 'poll', ingest: 'ingest', deliver: 'deliver', sla: 'sla', recheck: 'recheck' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const pollJobSchema = z.object({ brandId: z.string(), sourceId: z.string() }).strict();
export const ingestJobSchema = z
  .object({ brandId: z.string(), sourceId: z.string(), polledAt: z.number(), mentions: z.array(mentionSchema.passthrough()).max(1000) })
  .strict();
/**
 * `latestOf`: a coalesced delivery that sends that alert's latest event when it runs.
 * `repeatMs`: remind that long after sending; `reminder`: this job is reminder n of eventId.
 */
export const deliverJobSchema = z
  .object({ eventId: z.string(), receiverId: z.string(), latestOf: z.string().optional(), repeatMs: z.number().int().positive().optional(), reminder: z.number().int().min(1).max(100).optional() })
  .strict();
export const slaJobSchema = z.object({ alertId: z.string() }).strict();
export const recheckJobSchema = z.object({ brandId: z.string(), sourceId: z.string(), postKey: z.string(), round: z.number().int().min(0).max(20) }).strict();

export type PollJob = z.infer<typeof pollJobSchema>;
export type IngestJob = z.infer<typeof ingestJobSchema>;
export type DeliverJob = z.infer<typeof deliverJobSchema>;
export type SlaJob = z.infer<typeof slaJobSchema>;

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
