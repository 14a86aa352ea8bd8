import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/** A hashtag as Mastodon stores it: letters, digits and underscores; a leading '#' is allowed and dropped. */
const hashtagSchema = z
  .string()
  .regex(/^#?[\p{L}\p{N}_]{1,100}$/u, 'a hashtag such as "acmebank" (letters, digits and _; no spaces)')
  .transform((tag) => tag.replace(/^#/, '').toLowerCase());

/**
 * One Mastodon server, watched through its hashtag timelines (and its status search with a token),
 * plus the streaming API for the same hashtags when a user token is configured.
 */
export const mastodonSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('mastodon'),
    /** The server, e.g. https://mastodon.social. Handles of its local accounts get its host appended. */
    instance: z.url({ protocol: /^https$/, error: 'the https URL of a Mastodon server, such as https://mastodon.social' }),
    /**
     * Hashtags to follow (without '#'). Default: the brand's keywords with spaces removed, lower
     * case (resolved by the connector, which knows the brand). At most 10: one request each per poll.
     */
    hashtags: z.array(hashtagSchema).min(1).max(10).optional(),
    /** A user token (scope `read`): required for streaming and for `search`; also raises the rate limit to per account. */
    accessTokenEnv: envName.optional(),
    /** Also search statuses for the brand's keywords (GET /api/v2/search, type=statuses). Needs accessTokenEnv. */
    search: z.boolean().default(false),
    /**
     * The streaming server's base URL when it is not the instance itself (the instance's
     * GET /api/v2/instance tells it as configuration.urls.streaming, e.g. wss://streaming.example).
     */
    streamingUrl: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
    pollEvery: durationSchema.default(120_000),
    ...baseUrlFields,
  })
  .strict()
  .refine((s) => !s.search || s.accessTokenEnv !== undefined, {
    message: 'search needs a user token: set accessTokenEnv',
    path: ['search'],
  });

export type MastodonSourceConfig = z.infer<typeof mastodonSourceSchema>;
