import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/**
 * A Trustpilot business unit's public reviews (Business Units API, `apikey` header).
 * Trustpilot asks callers to stay under 833 calls per 5 minutes and 10k per hour per key, so a
 * poll is bounded (`maxPagesPerPoll`) and polls are at least a minute apart.
 */
export const trustpilotSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('trustpilot'),
    /** Environment variable holding the Trustpilot API key. */
    apiKeyEnv: envName,
    /** The business unit's id (from GET /v1/business-units/find?name=<domain>). It goes into the URL path. */
    businessUnitId: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'a Trustpilot business unit id such as 507f191e810c19729de860ea'),
    /** Reviews per page (Trustpilot allows 1..100). */
    pageSize: z.number().int().min(1).max(100).default(100),
    /** Pages fetched one after the other in one poll before the rest waits for the next poll. */
    maxPagesPerPoll: z.number().int().min(1).max(20).default(3),
    pollEvery: durationSchema.refine((ms) => ms >= 60_000, 'Trustpilot sources poll at most once a minute').default(600_000),
    ...baseUrlFields,
  })
  .strict();

export type TrustpilotSourceConfig = z.infer<typeof trustpilotSourceSchema>;
