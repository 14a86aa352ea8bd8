import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/**
 * A Bluesky source: Jetstream for the live feed (matched locally against the brand), and
 * authenticated `app.bsky.feed.searchPosts` polls that fill gaps and backfill. Search needs an
 * account session since 2025, so the source names the account's handle (or DID) and an app
 * password by environment variable.
 */
export const blueskySourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('bluesky'),
    /** Environment variable holding the account's handle or DID (the session's identifier). */
    identifierEnv: envName,
    /** Environment variable holding an app password (Settings → Privacy and security → App passwords), never the account password. */
    appPasswordEnv: envName,
    /**
     * Where sessions are made (the PDS or the bsky.social entryway). Authenticated app.bsky.*
     * reads go to the account's PDS, which proxies them to the Bluesky AppView; `baseUrl` (or
     * `baseUrlEnv`) replaces this host, e.g. with a local test double.
     */
    service: z.url({ protocol: /^https?$/ }).default('https://bsky.social'),
    /** Jetstream's subscribe endpoint; the cursor is time-based, so any public instance continues where another stopped. */
    jetstream: z.url({ protocol: /^wss?$/ }).default('wss://jetstream2.us-east.bsky.network/subscribe'),
    /** Only posts in this language (BCP 47, e.g. "nl"): searchPosts' `lang`, and in the stream a post whose `langs` do not include it. */
    lang: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'a language tag such as "nl" or "pt-BR"')
      .optional(),
    /** Gap-fill and backfill searches; the stream delivers live posts in between. */
    pollEvery: durationSchema.default(120_000),
    ...baseUrlFields,
  })
  .strict();

export type BlueskySourceConfig = z.infer<typeof blueskySourceSchema>;
