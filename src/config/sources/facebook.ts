import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/**
 * A Facebook Page the brand owns. Posts and comments on the Page arrive as Meta webhooks (Page
 * field `feed`) at the HTTP server and are fetched through the Graph API; `poll` is the fallback
 * that re-reads the Page feed (posts of the last `lookback`, with their newest comments), so
 * nothing is lost while the endpoint was down.
 */
export const facebookSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('facebook'),
    /** The Page's numeric id (as in the webhook's entry.id). */
    pageId: z.string().regex(/^\d{1,32}$/, 'the Facebook Page id, digits only'),
    /** Environment variable holding a Page access token (pages_read_engagement, pages_read_user_content, pages_manage_metadata). */
    accessTokenEnv: envName,
    /** Environment variable holding the Meta app's secret: checks X-Hub-Signature-256 and signs calls (appsecret_proof). */
    appSecretEnv: envName,
    /** Environment variable holding the Verify Token set in the App Dashboard's webhook settings. */
    verifyTokenEnv: envName,
    /** Graph API version in the request path. */
    graphVersion: z.string().regex(/^v\d{1,3}\.\d$/, 'a Graph API version such as "v21.0"').default('v21.0'),
    /** How often the polling fallback runs (webhooks are the live path). */
    pollEvery: durationSchema.refine((ms) => ms >= 60_000, 'Facebook fallback polls run at most once a minute').default(300_000),
    /** Posts created this long before the last comment seen are re-read for new comments. */
    lookback: durationSchema
      .refine((ms) => ms >= 3_600_000 && ms <= 90 * 86_400_000, 'between 1h and 90d')
      .default(7 * 86_400_000),
    ...baseUrlFields,
  })
  .strict();

export type FacebookSourceConfig = z.infer<typeof facebookSourceSchema>;
