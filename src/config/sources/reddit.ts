import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/** A subreddit name as Reddit allows it (3–21 letters, digits, _); "r/" or "/r/" in front is dropped. */
const subredditSchema = z
  .string()
  .regex(/^(\/?r\/)?[A-Za-z0-9][A-Za-z0-9_]{1,20}$/, 'a subreddit name such as "thenetherlands" (letters, digits and _)')
  .transform((name) => name.replace(/^\/?r\//, ''));

/**
 * A Reddit source: site-wide search for the brand (newest posts), and optionally the new posts and
 * comments of some subreddits, matched locally against the brand. App-only OAuth (client
 * credentials of an approved Reddit app); Reddit requires a unique, descriptive User-Agent.
 */
export const redditSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('reddit'),
    /** Environment variable holding the app's client id (shown under the app's name at reddit.com/prefs/apps). */
    clientIdEnv: envName,
    /** Environment variable holding the app's secret. */
    clientSecretEnv: envName,
    /** Reddit blocks generic agents; the documented form is "<platform>:<app id>:<version> (by /u/<username>)". */
    userAgent: z
      .string()
      .trim()
      .min(8, 'a unique User-Agent naming the app and its Reddit account, e.g. "repwatch/0.1 by u/acme_social"')
      .max(256)
      .refine((ua) => !/^(Mozilla|curl|python-requests|node-fetch|undici)\b/i.test(ua), 'Reddit rate-limits generic User-Agents hard: name the app and its Reddit account'),
    /** New posts and comments of these subreddits (matched locally against the brand), in one combined listing each. */
    subreddits: z.array(subredditSchema).min(1).max(50).optional(),
    /** Site-wide search for the brand's keywords (posts only: Reddit's API does not search comments). */
    search: z.boolean().default(true),
    pollEvery: durationSchema.default(60_000),
    /** Where app-only tokens are issued (POST /api/v1/access_token); API calls go to `baseUrl`, by default https://oauth.reddit.com. */
    authUrl: z.url({ protocol: /^https?$/ }).default('https://www.reddit.com'),
    ...baseUrlFields,
  })
  .strict()
  .refine((s) => s.search || (s.subreddits?.length ?? 0) > 0, {
    message: 'a Reddit source needs search: true or at least one subreddit',
    path: ['subreddits'],
  });

export type RedditSourceConfig = z.infer<typeof redditSourceSchema>;
