import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/**
 * Quota costs from https://developers.google.com/youtube/data/determine_quota_cost: list calls cost
 * 1 unit of the project's daily units. search.list no longer draws on the units (it used to cost
 * 100): it has its own bucket of 100 calls a day per project.
 */
export const YOUTUBE_UNITS = { commentThreads: 1, channels: 1 } as const;
export const YOUTUBE_SEARCH_CALLS_PER_DAY = 100;
const DAY_MS = 86_400_000;

/**
 * A YouTube source: comment threads on the brand's own channel, and on the newest videos a search
 * for the brand finds. Public data only, with an API key; every call costs quota units, so the
 * schema refuses a configuration whose estimated daily use does not fit `dailyQuotaUnits`.
 */
const youtubeSourceObject = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('youtube'),
    /** Environment variable holding a YouTube Data API v3 key (Google Cloud console → Credentials). */
    apiKeyEnv: envName,
    /** The brand's own channel (UC…): all comment threads on it and its videos. */
    channelId: z
      .string()
      .regex(/^UC[A-Za-z0-9_-]{22}$/, 'a channel id such as "UCxxxxxxxxxxxxxxxxxxxxxx" (24 characters starting with UC; not the @handle)')
      .optional(),
    /** Videos about the brand: search.list (type=video, newest first), then the comment threads of each. */
    search: z
      .object({
        /** YouTube search syntax ("|" is OR, "-" is NOT). Default: the brand's keywords OR-ed. */
        query: z.string().trim().min(1).max(500).optional(),
        /** How many of the newest matching videos (published in the last week) are watched for comments. */
        maxVideos: z.number().int().min(1).max(50).default(5),
        /** How often the search itself runs (search.list allows 100 calls a day); the watched videos' comments are read every poll. */
        every: durationSchema.default(3_600_000),
      })
      .strict()
      .optional(),
    /** This source's share of the project's daily quota (10,000 units by default per Google Cloud project). */
    dailyQuotaUnits: z.number().int().min(1).max(10_000_000).default(10_000),
    pollEvery: durationSchema.default(15 * 60_000),
    ...baseUrlFields,
  })
  .strict();

type YoutubeSourceShape = z.infer<typeof youtubeSourceObject>;

export interface YoutubeQuotaEstimate {
  /** Units a day: comment threads + subscriber look-ups. */
  units: number;
  /** search.list calls a day (their own bucket, not units). */
  searches: number;
  pollsPerDay: number;
}

/**
 * Units a configuration uses on a quiet day: every poll reads one page of comment threads per
 * feed (the channel, each watched video) and makes one channels.list call for new authors. The
 * search runs every `search.every` (never more often than the polls) and counts against the
 * search.list bucket instead. Busy feeds page further and cost more; the connector counts the real
 * use and stops at `dailyQuotaUnits`.
 */
export function estimateYoutubeQuota(source: Pick<YoutubeSourceShape, 'channelId' | 'search' | 'pollEvery'>): YoutubeQuotaEstimate {
  const pollEvery = Math.max(1, source.pollEvery);
  const pollsPerDay = Math.ceil(DAY_MS / pollEvery);
  const feeds = (source.channelId ? 1 : 0) + (source.search ? source.search.maxVideos : 0);
  const searches = source.search ? Math.ceil(DAY_MS / Math.max(source.search.every, pollEvery)) : 0;
  const units = pollsPerDay * feeds * YOUTUBE_UNITS.commentThreads + pollsPerDay * YOUTUBE_UNITS.channels;
  return { units, searches, pollsPerDay };
}

export const youtubeSourceSchema = youtubeSourceObject.superRefine((s, ctx) => {
  if (!s.channelId && !s.search) {
    ctx.addIssue({ code: 'custom', message: 'a YouTube source needs channelId, search, or both', path: ['channelId'] });
    return;
  }
  if (s.pollEvery < 60_000) {
    ctx.addIssue({ code: 'custom', message: 'YouTube is polled at most once a minute (every call costs quota)', path: ['pollEvery'] });
    return;
  }
  const q = estimateYoutubeQuota(s);
  if (q.searches > YOUTUBE_SEARCH_CALLS_PER_DAY) {
    ctx.addIssue({
      code: 'custom',
      message: `search would run ${q.searches} times a day; search.list allows ${YOUTUBE_SEARCH_CALLS_PER_DAY} calls a day per project: make search.every at least 15m`,
      path: ['search', 'every'],
    });
  }
  if (q.units > s.dailyQuotaUnits) {
    ctx.addIssue({
      code: 'custom',
      message: `this source would use about ${q.units} quota units a day (${q.pollsPerDay} polls × ${q.units / q.pollsPerDay} calls), over dailyQuotaUnits ${s.dailyQuotaUnits}: poll less often or watch fewer videos`,
      path: ['dailyQuotaUnits'],
    });
  }
});

export type YoutubeSourceConfig = z.infer<typeof youtubeSourceSchema>;
