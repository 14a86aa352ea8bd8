import { z } from 'zod';
import { silenceSchema } from '../config/routing-schema';
import { durationSchema, SEVERITIES, severitySchema } from '../config/schema';
import { ALERT_EVENT_TYPES, ALERT_KINDS } from '../domain/alert';
import type { Alert, AlertEvent } from '../domain/alert';
import type { Case } from '../domain/cases';
import { authorSchema } from '../domain/mention';
import type { StoredSilence } from '../store/silences';
import type { StoredMention } from '../store/store';

/**
 * Request and response shapes of the HTTP API. One schema validates a request (or a response)
 * and documents it in /openapi.json. Stored documents are described by their fields clients use;
 * other fields pass through (z.looseObject), so an older or newer document is never refused.
 */

export const ALERT_STATUSES = ['triggered', 'acknowledged', 'resolved'] as const;
export const CASE_STATES = ['open', 'acknowledged', 'resolved'] as const;

export const errorSchema = z
  .object({ error: z.object({ code: z.string().describe('RW_ERR_… (see the README error table)'), message: z.string() }) })
;

/** A comma list of known values: `status=triggered,acknowledged`. */
function csv<const T extends readonly [string, ...string[]]>(values: T, extra: Record<string, readonly T[number][]> = {}) {
  return z
    .string()
    .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean).flatMap((x) => (extra[x] ? [...extra[x]] : [x])))])
    .pipe(z.array(z.enum(values)).min(1, 'give at least one value'))
    .describe(`comma-separated: ${[...values, ...Object.keys(extra)].join(', ')}`);
}

const brandIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a brand id (lower-case letters, digits, - and _)');

/** Durations as in the config (`30m`, `24h`, `7d`), given in ms when they reach a handler. */
const durationParam = (what: string) =>
  z
    .string()
    .transform((s, ctx) => {
      const parsed = durationSchema.safeParse(s);
      if (parsed.success && parsed.data > 0) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `${what}: a duration such as 30m, 24h or 7d` });
      return z.NEVER;
    })
    .describe(`${what}: a duration such as 30m, 24h or 7d`);

/** An instant: ISO 8601 or ms since epoch. */
const instantParam = z
  .string()
  .transform((s, ctx) => {
    const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (Number.isFinite(t)) return t;
    ctx.addIssue({ code: 'custom', message: 'an ISO 8601 time or ms since epoch' });
    return z.NEVER;
  })
  .describe('an ISO 8601 time (2026-11-30T10:00:00Z) or ms since epoch');

const limitParam = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt).describe(`1..${max}, default ${dflt}`);

export const alertListQuery = z
  .object({
    brand: brandIdSchema.optional(),
    status: csv(ALERT_STATUSES, { open: ['triggered', 'acknowledged'] }).optional(),
    severity: csv(SEVERITIES).optional(),
    kind: csv(ALERT_KINDS).optional(),
    since: instantParam.optional(),
    limit: limitParam(200, 50),
    cursor: z.string().max(500).optional().describe('nextCursor of the previous page'),
  })
  .strict();

export const stormListQuery = z.object({ brand: brandIdSchema.optional(), status: csv(ALERT_STATUSES, { open: ['triggered', 'acknowledged'] }).optional(), limit: limitParam(200, 50), cursor: z.string().max(500).optional() }).strict();
export const caseListQuery = z.object({ brand: brandIdSchema.optional(), state: csv(CASE_STATES).optional(), limit: limitParam(500, 100) }).strict();
export const silenceListQuery = z.object({ state: z.enum(['active', 'pending', 'expired']).optional() }).strict();
export const reportQuery = z.object({ brand: brandIdSchema.optional(), since: durationParam('since').default(30 * 24 * 3_600_000) }).strict();
export const timelineQuery = z.object({ since: durationParam('since').default(24 * 3_600_000), bucket: durationParam('bucket').default(10 * 60_000) }).strict();
export const eventsQuery = z.object({ after: z.coerce.number().int().min(0).default(0), limit: limitParam(1000, 100) }).strict();
export const streamQuery = z.object({ after: z.coerce.number().int().min(0).optional().describe('resume after this sequence number (Last-Event-ID wins)') }).strict();

export const idParams = z.object({ id: z.string().min(1).max(500) });
/** Optional: a POST without a body (no Content-Type) reaches the validator as null. */
export const commentBody = z.object({ comment: z.string().max(1000).optional() }).strict().nullish();
export const sessionBody = z.object({ key: z.string().min(1).max(500) }).strict();

/** Instants in a silence request: ISO 8601 or ms since epoch. */
const instantBody = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
export const silenceBody = z
  .object({
    match: silenceSchema.shape.match,
    startsAt: instantBody.optional(),
    endsAt: instantBody,
    comment: z.string().max(1000).optional(),
  })
  .strict();

// ---- documents ----

/**
 * A stored document's schema, typed as the domain type it describes: the zod object documents and
 * checks the fields clients rely on, the domain interface stays the type of record.
 */
const documents = <T>(schema: z.ZodType): z.ZodType<T> => schema as z.ZodType<T>;

const postSchema = z.looseObject({
  platform: z.string(),
  postId: z.string(),
  url: z.string(),
  text: z.string(),
  lang: z.string(),
  createdAt: z.string(),
  author: z.looseObject({ handle: z.string(), followers: z.number() }),
});

export const alertSchema = documents<Alert>(
  z.looseObject({
    id: z.string(),
    fingerprint: z.string(),
    brandId: z.string(),
    brandName: z.string(),
    kind: z.enum(ALERT_KINDS),
    severity: severitySchema,
    status: z.enum(ALERT_STATUSES),
    topic: z.string(),
    title: z.string(),
    reason: z.string(),
    count: z.number(),
    version: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
    post: postSchema,
    caseId: z.string().nullish(),
    stormId: z.string().nullish(),
    acknowledgedAt: z.string().nullish(),
    acknowledgedBy: z.string().nullish(),
    resolvedAt: z.string().nullish(),
    resolvedBy: z.string().nullish(),
    escalatedAt: z.string().nullish(),
  }),
);

export const alertEventSchema = documents<AlertEvent>(
  z.looseObject({
    id: z.string(),
    seq: z.number(),
    type: z.enum(ALERT_EVENT_TYPES),
    alertId: z.string(),
    brandId: z.string(),
    severity: severitySchema,
    at: z.string(),
    by: z.string().nullish(),
    comment: z.string().nullish(),
    alert: alertSchema,
  }),
);

export const caseSchema = documents<Case>(
  z.looseObject({
    id: z.string(),
    brandId: z.string(),
    state: z.enum(CASE_STATES),
    handles: z.array(z.string()),
    platforms: z.array(z.string()),
    openedAt: z.number(),
    lastPostAt: z.number(),
    posts: z.number(),
    timeline: z.array(z.looseObject({})).optional(),
    alertIds: z.array(z.string()).nullish(),
  }),
);

export const mentionSchema = documents<StoredMention>(
  z.looseObject({
    _id: z.string(),
    platform: z.string(),
    postId: z.string(),
    url: z.string(),
    brandId: z.string(),
    author: authorSchema.loose(),
    text: z.string(),
    createdAt: z.string(),
    engagement: z.record(z.string(), z.number()).optional(),
    judgement: z.looseObject({ lang: z.string(), sentiment: z.looseObject({ label: z.string(), score: z.number() }), complaint: z.looseObject({ label: z.boolean(), score: z.number() }) }),
  }),
);

export const storedSilenceSchema = documents<StoredSilence & { state?: 'active' | 'pending' | 'expired' }>(
  z.looseObject({
    id: z.string(),
    match: z.record(z.string(), z.unknown()),
    startsAt: z.number(),
    endsAt: z.number(),
    createdBy: z.string(),
    comment: z.string().optional(),
    createdAt: z.number(),
    expiredAt: z.number().optional(),
    expiredBy: z.string().optional(),
    state: z.enum(['active', 'pending', 'expired']).optional(),
  }),
);

const durationStats = z.object({ count: z.number(), medianMs: z.number().optional(), p90Ms: z.number().optional() });
export const brandReportSchema = z
  .object({
    brandId: z.string(),
    brandName: z.string(),
    alerts: z.number(),
    byKind: z.record(z.string(), z.number()),
    bySeverity: z.record(z.string(), z.number()),
    open: z.number(),
    escalated: z.number(),
    timeToAcknowledge: durationStats,
    timeToResolve: durationStats,
    cases: z.number(),
    recovery: z.object({ recovered: z.number(), notRecovered: z.number(), watching: z.number(), rate: z.number().optional() }),
  });

export const pagerDutySchema = z.object({
  state: z.enum(['none', 'triggered', 'acknowledged', 'resolved']),
  deliveries: z.array(z.object({ eventId: z.string(), type: z.string(), receiverId: z.string(), status: z.string(), at: z.string().optional() })),
});

export const alertDetailSchema = z.object({
  alert: alertSchema,
  events: z.array(alertEventSchema),
  posts: z.array(mentionSchema),
  case: caseSchema.optional(),
  storm: alertSchema.optional(),
  grouped: z.array(alertSchema).optional(),
  pagerduty: pagerDutySchema.optional(),
});

export const timelineSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucketMs: z.number(),
  buckets: z.array(z.object({ start: z.string(), posts: z.number(), negative: z.number(), negativeShare: z.number() })),
  storms: z.array(z.object({ id: z.string(), title: z.string(), start: z.string(), end: z.string().optional() })),
});

export const sourceOverviewSchema = z.object({
  brandId: z.string(),
  sourceId: z.string(),
  platform: z.string(),
  state: z.enum(['ok', 'refused', 'failing', 'stale', 'silent', 'disconnected']),
  reason: z.string().optional(),
  health: z.object({
    lastAttemptAt: z.number().optional(),
    lastSuccessAt: z.number().optional(),
    consecutiveFailures: z.number(),
    lastError: z.object({ code: z.string(), message: z.string(), at: z.number() }).optional(),
    postsRecent: z.number(),
    historyHours: z.number(),
    usualPerHour: z.number(),
    stream: z.object({ connected: z.boolean(), since: z.number() }).optional(),
  }),
  coverageAlertId: z.string().optional(),
  quota: z.object({ used: z.number(), limit: z.number(), unit: z.string() }).optional(),
});

export const receiverStateSchema = z.object({
  id: z.string(),
  type: z.string(),
  state: z.enum(['enabled', 'disabled']),
  since: z.number(),
  reason: z.string(),
  code: z.string().optional(),
  by: z.string().optional(),
});
