import { z } from 'zod';
import { mentionSchema } from '../src/domain/mention';

/** Every queue repwatch uses, and the typed payload of its jobs. */
export const QUEUES = { poll: 'poll', ingest: 'ingest', deliver: 'deliver', sla: 'sla', recheck: 'recheck' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const pollJobSchema = z.object({ brandId: z.string(), sourceId: z.string() }).strict();
export const ingestJobSchema = z
  .object({ brandId: z.string(), sourceId: z.string(), polledAt: z.number(), mentions: z.array(mentionSchema.passthrough()).max(1000) })
  .strict();
/** `latestOf`: a coalesced delivery that sends that alert's latest event when it runs. */
export const deliverJobSchema = z.object({ eventId: z.string(), receiverId: z.string(), latestOf: z.string().optional() }).strict();
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
  sla: (alertId: string, deadline: number) => safe(`sla|${alertId}|${deadline}`),
  recheck: (postKey: string, round: number) => safe(`recheck|${postKey}|${round}`),
};
