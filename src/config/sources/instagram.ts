import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/**
 * An Instagram professional account the brand owns (Instagram API with Facebook Login). Comments
 * and @mentions arrive as Meta webhooks (fields `comments`, `mentions`) at the HTTP server and are
 * fetched through the Graph API; `poll` is the fallback that re-reads recent comments on the
 * account's media and the media it is tagged in, so nothing is lost while the endpoint was down.
 */
export const instagramSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('instagram'),
    /** The Instagram professional account's id (IG User id, as in the webhook's entry.id). */
    igUserId: z.string().regex(/^\d{1,32}$/, 'the Instagram account id, digits only (GET /me/accounts?fields=instagram_business_account)'),
    /** Environment variable holding a long-lived access token with instagram_basic, instagram_manage_comments, pages_read_engagement. */
    accessTokenEnv: envName,
    /** Environment variable holding the Meta app's secret: checks X-Hub-Signature-256 and signs calls (appsecret_proof). */
    appSecretEnv: envName,
    /** Environment variable holding the Verify Token set in the App Dashboard's webhook settings. */
    verifyTokenEnv: envName,
    /** Graph API version in the request path. */
    graphVersion: z.string().regex(/^v\d{1,3}\.\d$/, 'a Graph API version such as "v21.0"').default('v21.0'),
    /** How often the polling fallback runs (webhooks are the live path). */
    pollEvery: durationSchema.refine((ms) => ms >= 60_000, 'Instagram fallback polls run at most once a minute').default(300_000),
    ...baseUrlFields,
  })
  .strict();

export type InstagramSourceConfig = z.infer<typeof instagramSourceSchema>;
