import { z } from 'zod';
import { durationSchema, envName, sourceIdSchema } from './fields';
import { keywordProblem, parseExclusion } from '../domain/matcher';
import { blueskySourceSchema } from './sources/bluesky';
import { facebookSourceSchema } from './sources/facebook';
import { googleReviewsSourceSchema } from './sources/google-reviews';
import { instagramSourceSchema } from './sources/instagram';
import { mastodonSourceSchema } from './sources/mastodon';
import { redditSourceSchema } from './sources/reddit';
import { rssSourceSchema } from './sources/rss';
import { trustpilotSourceSchema } from './sources/trustpilot';
import { youtubeSourceSchema } from './sources/youtube';

export { durationSchema, envName };

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);


const severityTierSchema = z.object({
  minFollowers: z.number().int().nonnegative(),
  severity: severitySchema,
});

export const policySchema = z
  .object({
    /** A negative post from an account with at least this many followers is critical. */
    criticalFollowers: z.number().int().positive().default(100_000),
    /** Lower tiers for smaller accounts; an account below the lowest tier raises no alert. */
    tiers: z
      .array(severityTierSchema)
      .default([
        { minFollowers: 10_000, severity: 'high' },
        { minFollowers: 1_000, severity: 'medium' },
        { minFollowers: 250, severity: 'low' },
      ]),
    /** A complaint counts as negative for alerting even when its sentiment score is mild. */
    complaintsAreNegative: z.boolean().default(true),
    /** How much an author's followers count on each platform (1 = as on X); unlisted platforms count 1. */
    platformWeights: z.record(z.string(), z.number().min(0).max(10)).default({}),
    /**
     * The audience a post has on a platform that gives no follower counts, counted as the author's
     * followers when larger: a review is read by prospective customers, a news item by the outlet's
     * readers. Without it a one-star review or a critical article could never reach a tier.
     */
    platformAudience: z.record(z.string(), z.number().int().min(0)).default({ trustpilot: 1_000, 'google-reviews': 1_000, rss: 10_000 }),
    /** A positive post from an account at least this large is routed as an opportunity. */
    opportunityFollowers: z.number().int().positive().default(10_000),
    /** A critical alert nobody acknowledged within this time escalates to on-call. */
    criticalAckSla: durationSchema.default(150_000),
    /** High-impact posts are fetched again for engagement after these delays, to project their reach. */
    engagementRechecks: z.array(durationSchema).max(10).default([300_000, 900_000, 3_600_000]),
    /** Only posts with at least this impact score (0..1) are rechecked. */
    recheckMinImpact: z.number().min(0).max(1).default(0.5),
    /** Posts of one author across platforms, and replies in one conversation, join a case within this window. */
    caseWindow: durationSchema.default(48 * 3_600_000),
    /** After a case is resolved, the author's later posts are followed this long to see whether sentiment recovered. */
    recoveryWindow: durationSchema.default(7 * 86_400_000),
    /** Storm detection (see src/domain/storms.ts for each setting's meaning). */
    storms: z
      .object({
        bucket: durationSchema.optional(),
        k: z.number().positive().optional(),
        minCount: z.number().int().positive().optional(),
        minShare: z.number().min(0).max(1).optional(),
        cooldown: durationSchema.optional(),
        climbBuckets: z.number().int().min(2).max(100).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type PolicyConfig = z.infer<typeof policySchema>;

const replaySourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('replay'),
    /** JSONL file of posts; relative paths are resolved against the config folder. */
    file: z.string().min(1),
    /**
     * How fast simulated time runs: 60 plays an hour of posts in a minute; "max" plays them
     * as fast as the pipeline takes them.
     */
    speed: z.union([z.number().positive(), z.literal('max')]).default('max'),
    pageSize: z.number().int().min(1).max(1000).default(500),
    pollEvery: durationSchema.default(1000),
  })
  .strict();

const xSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('x'),
    /** Environment variable holding the app's bearer token. */
    bearerTokenEnv: envName,
    pageSize: z.number().int().min(10).max(100).default(100),
    /** Pages fetched per poll before the rest waits for the next poll. */
    maxPagesPerPoll: z.number().int().min(1).max(50).default(5),
    pollEvery: durationSchema.default(60_000),
    /** Extra query terms, appended to the one built from keywords and handles (e.g. "-is:retweet"). */
    queryExtra: z.string().max(200).default('-is:retweet'),
  })
  .strict();

/** One schema per platform (src/config/sources/<platform>.ts); a new platform is a file there and a line here. */
export const sourceSchema = z.discriminatedUnion('platform', [
  replaySourceSchema,
  xSourceSchema,
  blueskySourceSchema,
  mastodonSourceSchema,
  rssSourceSchema,
  youtubeSourceSchema,
  redditSourceSchema,
  instagramSourceSchema,
  facebookSourceSchema,
  trustpilotSourceSchema,
  googleReviewsSourceSchema,
]);
export type SourceConfig = z.infer<typeof sourceSchema>;
export type ReplaySourceConfig = z.infer<typeof replaySourceSchema>;
export type XSourceConfig = z.infer<typeof xSourceSchema>;

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A brand's digest: a quiet summary to some receivers, hourly or daily at a time of day in a time zone. */
export const digestSchema = z
  .object({
    /** Receiver ids (slack or webhook) from receivers.yaml. */
    receivers: z.array(z.string().min(1)).min(1),
    schedule: z.enum(['hourly', 'daily']).default('daily'),
    /** Time of day for daily digests; hourly digests are sent at this many minutes past the hour. */
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day such as "09:00"').default('09:00'),
    timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as "Europe/Amsterdam"').default('UTC'),
  })
  .strict();
export type DigestConfig = z.infer<typeof digestSchema>;

export const brandSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    name: z.string().min(1),
    keywords: z.array(z.string().min(1)).default([]),
    handles: z.array(z.string().regex(/^@?\w{1,50}$/, 'a handle such as @brand')).default([]),
    /**
     * Words or phrases that mark a post as not about the brand even when a keyword matched
     * ("zeezicht uitzicht": a hotel's name used as an ordinary word). Used by the brand matcher
     * (src/domain/matcher.ts) for streams, feeds and platforms without server-side search, and
     * as negated terms in the X query.
     */
    exclude: z.array(z.string().min(1)).default([]),
    languages: z.array(z.string().regex(/^[a-z]{2}$/)).min(1).default(['nl', 'en']),
    sources: z.array(sourceSchema).min(1),
    /**
     * Topics to group alerts and storms by: a name and the words that mark a post as being about
     * it (lower case; "levering" matches "Levering" and "#levering"). Posts matching none are 'general'.
     */
    topics: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'), z.array(z.string().min(1)).min(1)).default({}),
    /** Overrides of policy settings for this brand only. */
    policy: policySchema.partial().optional(),
    /** An optional digest (see src/domain/digest.ts). */
    digest: digestSchema.optional(),
  })
  .strict()
  .refine((b) => b.keywords.length + b.handles.length > 0, {
    message: 'a brand needs at least one keyword or handle to search for',
    path: ['keywords'],
  })
  .superRefine((b, ctx) => {
    // Keywords may be small boolean queries (src/domain/matcher.ts): a bad one is a config problem, not a failing poll.
    b.keywords.forEach((k, i) => {
      const problem = keywordProblem(k);
      if (problem) ctx.addIssue({ code: 'custom', message: `keyword "${k}": ${problem}`, path: ['keywords', i] });
    });
    b.exclude.forEach((e, i) => {
      try {
        parseExclusion(e);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message, path: ['exclude', i] });
      }
    });
  });
export type BrandConfig = z.infer<typeof brandSchema>;

const receiverBase = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  /** Events below this severity are not sent to this receiver. */
  minSeverity: severitySchema.default('info'),
  /** When the credential's environment variable is unset: false fails start-up, true disables the receiver. */
  optional: z.boolean().default(false),
};

/**
 * What a receiver gets of an alert: `every` event in order, or only the `latest` state per
 * grouping interval (older triggers and updates are recorded as superseded).
 */
export const deliveryModeSchema = z.enum(['every', 'latest']);
export type DeliveryModeConfig = z.infer<typeof deliveryModeSchema>;

const slackReceiverSchema = z
  .object({
    ...receiverBase,
    type: z.literal('slack'),
    /** Incoming-webhook URL (a secret): the environment variable that holds it. */
    webhookUrlEnv: envName.optional(),
    /** Bot token (xoxb-...): the environment variable that holds it; needs `channel`. */
    botTokenEnv: envName.optional(),
    channel: z.string().optional(),
    /** Or: the environment variable that names the channel (resolved at start-up). */
    channelEnv: envName.optional(),
    /** A channel reads best as the alert's latest state. */
    deliveryMode: deliveryModeSchema.default('latest'),
  })
  .strict()
  .refine((r) => (r.webhookUrlEnv ? 1 : 0) + (r.botTokenEnv ? 1 : 0) === 1, {
    message: 'give exactly one of webhookUrlEnv or botTokenEnv',
    path: ['webhookUrlEnv'],
  })
  .refine((r) => !r.botTokenEnv || !!r.channel || !!r.channelEnv, { message: 'a bot token needs a channel (or channelEnv)', path: ['channel'] });

const webhookReceiverSchema = z
  .object({
    ...receiverBase,
    type: z.literal('webhook'),
    /** The endpoint, given directly or through an environment variable (when it carries credentials). */
    url: z.url({ protocol: /^https?$/ }).optional(),
    urlEnv: envName.optional(),
    /**
     * Standard Webhooks signing secret (whsec_..., at least 24 bytes): the environment variable that
     * holds it, or several for rotation (a list, and/or space-separated secrets in one variable).
     * Every delivery is signed with each.
     */
    secretEnv: z.union([envName, z.array(envName).min(1)]),
    timeout: durationSchema.default(15_000),
    /** A system of record wants every change. */
    deliveryMode: deliveryModeSchema.default('every'),
  })
  .strict()
  .refine((r) => (r.url ? 1 : 0) + (r.urlEnv ? 1 : 0) === 1, { message: 'give exactly one of url or urlEnv', path: ['url'] });

/**
 * PagerDuty Events API v2: on-call paging. Receives only escalations (a critical alert nobody
 * acknowledged within its SLA) and the acknowledgements and resolutions of alerts it was paged for.
 */
const pagerDutyReceiverSchema = z
  .object({
    ...receiverBase,
    type: z.literal('pagerduty'),
    /** The integration's 32-character routing key (a secret): the environment variable that holds it. */
    routingKeyEnv: envName,
    /** Events API endpoint; the default is PagerDuty's (override for an EU account or a proxy). */
    url: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com/v2/enqueue'),
    /** Or: the environment variable that holds the endpoint (a local stand-in, a proxy). */
    urlEnv: envName.optional(),
    timeout: durationSchema.default(15_000),
    /** Triggers, acknowledgements and resolutions in order: PagerDuty must never see an acknowledge before its trigger. */
    deliveryMode: deliveryModeSchema.default('every'),
  })
  .strict();

// Discriminated by type, so a problem is reported at its own path (receivers.0.deliveryMode), not as "no option matched".
export const receiverSchema = z.discriminatedUnion('type', [slackReceiverSchema, webhookReceiverSchema, pagerDutyReceiverSchema]);
/** A loaded receiver always has its deliveryMode (the schema's default per type); one built in code may leave it out. */
type ModeOptional<T> = T extends unknown ? Omit<T, 'deliveryMode'> & { deliveryMode?: DeliveryModeConfig } : never;
export type ReceiverConfig = ModeOptional<z.infer<typeof receiverSchema>>;
export type SlackReceiverConfig = ModeOptional<z.infer<typeof slackReceiverSchema>>;
export type WebhookReceiverConfig = ModeOptional<z.infer<typeof webhookReceiverSchema>>;
export type PagerDutyReceiverConfig = ModeOptional<z.infer<typeof pagerDutyReceiverSchema>>;

export const settingsSchema = z
  .object({
    /** BullMQ key prefix; keep the braces so every queue lands in one Redis Cluster slot. */
    queuePrefix: z.string().regex(/^\{[\w-]+\}$/, 'a hash tag such as {repwatch}').default('{repwatch}'),
    ingestConcurrency: z.number().int().min(1).max(64).default(2),
    deliverConcurrency: z.number().int().min(1).max(256).default(16),
    delivery: z
      .object({
        attempts: z.number().int().min(1).max(50).default(10),
        /** First retry delay; later ones double (5s, 10s, 20s, ...), unless the receiver says when. */
        backoff: durationSchema.default(5000),
      })
      .strict()
      .default({ attempts: 10, backoff: 5000 }),
    policy: policySchema.default(policySchema.parse({})),
  })
  .strict();
export type Settings = z.infer<typeof settingsSchema>;

export const brandsFileSchema = z.object({ brands: z.array(brandSchema).min(1) }).strict();
export const receiversFileSchema = z.object({ receivers: z.array(receiverSchema).default([]) }).strict();
