import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/** Feeds, Google News above all, are not to be polled more than once a minute. */
export const RSS_MIN_POLL_MS = 60_000;

/**
 * A Google News search feed (https://news.google.com/rss/search?q=…&hl=…&gl=…&ceid=GL:lang).
 * Undocumented by Google; `hl`, `gl` and `ceid` must agree or the feed comes back empty.
 */
export const googleNewsSchema = z
  .object({
    /** The search. Default: the brand's keywords, each quoted as a phrase, OR-ed; its exclusions negated. */
    query: z.string().trim().min(1).max(500).optional(),
    /** Interface language: "nl", "fr", "de", "en-GB". */
    hl: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/, 'a language such as "nl", "fr" or "en-GB"')
      .default('nl'),
    /** Country edition (ISO 3166-1 alpha-2): "NL", "BE". */
    gl: z.string().regex(/^[A-Z]{2}$/, 'a country code such as "NL" or "BE"').default('NL'),
  })
  .strict();

/**
 * A news or RSS/Atom feed: a feed address (`url`, or `urlEnv` when the address carries a private
 * token), or a Google News search built from the brand. No credentials otherwise.
 */
export const rssSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('rss'),
    /** The feed's address (RSS 2.0, RSS 1.0 or Atom). Also the way to point the source at a local server. */
    url: z.url({ protocol: /^https?$/, error: 'the http(s) address of an RSS or Atom feed' }).optional(),
    /** Environment variable holding the feed's address, for feeds whose address is itself a secret. */
    urlEnv: envName.optional(),
    googleNews: googleNewsSchema.optional(),
    /**
     * Keep only items that mention the brand (its keywords and handles, minus its exclusions).
     * Default: true for a plain feed (a newspaper's feed is mostly about other things), false for
     * googleNews (the search already matched).
     */
    matchBrand: z.boolean().optional(),
    pollEvery: durationSchema
      .pipe(z.number().min(RSS_MIN_POLL_MS, 'pollEvery must be at least 1m: feeds, and Google News above all, are not polled more than once a minute'))
      .default(300_000),
    /** googleNews only: where Google News is (default https://news.google.com), e.g. a local test double. */
    ...baseUrlFields,
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.url !== undefined && s.urlEnv !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['urlEnv'], message: 'give the feed address as url or as urlEnv, not both' });
    }
    if (s.googleNews !== undefined && (s.url !== undefined || s.urlEnv !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['googleNews'], message: 'googleNews builds the feed address itself: leave out url and urlEnv' });
    }
    if (s.googleNews === undefined && s.url === undefined && s.urlEnv === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'an rss source needs url, urlEnv or googleNews' });
    }
    if (s.googleNews === undefined && (s.baseUrl !== undefined || s.baseUrlEnv !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [s.baseUrl !== undefined ? 'baseUrl' : 'baseUrlEnv'], message: 'baseUrl only applies to googleNews; for a plain feed, url is the whole address' });
    }
  });

export type RssSourceConfig = z.infer<typeof rssSourceSchema>;
export type GoogleNewsConfig = z.infer<typeof googleNewsSchema>;
