import type { Queue } from 'bullmq';
import type { Collection } from 'mongodb';
import { z } from 'zod';
import type { Config, ResolvedBrand } from '../config/load';
import type { Alert } from '../domain/alert';
import type { Case } from '../domain/cases';
import { buildDigest, cronOf, digestPeriod, latestRunAt, previousPeriods, type Digest, type DigestInput, type DigestTiming, type PeriodCounts } from '../domain/digest';
import { RepwatchError, isRepwatchError, isRetryable } from '../domain/errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Notifier } from '../notifiers/notifier';
import { caseFilter, type Store } from '../store/store';

/** The queue digest jobs run on (its worker is wired in workers/app.ts). */
export const DIGEST_QUEUE = 'digest';
export const DIGEST_JOB = 'digest';

/** A digest job: the brand, and optionally the period (ms); without it, the period that ended at the latest scheduled time. */
export const digestJobSchema = z
  .object({ brandId: z.string(), period: z.object({ from: z.number().int(), to: z.number().int() }).strict().optional() })
  .strict();
export type DigestJob = z.infer<typeof digestJobSchema>;

export interface DigestDeps {
  config: Config;
  store: Store;
  notifiers: ReadonlyMap<string, Notifier>;
  /** Where a digest's deliveries are counted (repwatch_digests_total): a failure is visible, not only logged. */
  metrics?: Pick<Metrics, 'inc'>;
  now: () => number;
  logger: Logger;
}

export type DigestDeliveryOutcome = 'sent' | 'already-sent' | 'failed' | 'skipped';
export interface DigestOutcome {
  digestId: string;
  quiet: boolean;
  receivers: { receiverId: string; outcome: DigestDeliveryOutcome; code?: string }[];
}

/** One record per digest and receiver (`digest_deliveries`), so a retried job does not send again what went out. */
const DELIVERIES = 'digest_deliveries';
interface DigestDeliveryDoc {
  _id: string;
  digestId: string;
  receiverId: string;
  status: 'sent' | 'failed';
  at: number;
  attempts: number;
  code?: string;
  message?: string;
}

export function digestSchedulerId(brandId: string): string {
  return `digest|${brandId}`;
}

function timingOf(brand: ResolvedBrand): DigestTiming | undefined {
  const d = brand.digest;
  return d ? { schedule: d.schedule, at: d.at, timeZone: d.timeZone } : undefined;
}

/**
 * One job scheduler per brand with a digest (cron `pattern` in the brand's `tz`); schedulers of
 * brands whose digest was removed are removed. Call it from the one process that owns the
 * schedulers (the schedule role), like syncSchedulers. Returns how many are in place.
 */
export async function syncDigestSchedulers(queue: Queue, config: Pick<Config, 'brands'>): Promise<number> {
  const wanted = new Map<string, { brandId: string; timing: DigestTiming }>();
  for (const brand of config.brands) {
    const timing = timingOf(brand);
    if (timing) wanted.set(digestSchedulerId(brand.id), { brandId: brand.id, timing });
  }
  for (const existing of await queue.getJobSchedulers()) {
    const id = existing.id ?? existing.key;
    if (id && id.startsWith('digest|') && !wanted.has(id)) await queue.removeJobScheduler(id);
  }
  for (const [id, { brandId, timing }] of wanted) {
    await queue.upsertJobScheduler(
      id,
      { pattern: cronOf(timing), tz: timing.timeZone },
      {
        name: DIGEST_JOB,
        data: { brandId } satisfies DigestJob,
        // A digest that cannot go out is retried for about half an hour, then kept in the failed set.
        opts: { attempts: 5, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: { age: 7 * 24 * 3600, count: 1000 }, removeOnFail: { age: 30 * 24 * 3600 } },
      },
    );
  }
  return wanted.size;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A brand's posts in [from, to) by judgement: one $group by sentiment and one count of complaints. */
async function countPosts(store: Store, brandId: string, period: { from: number; to: number }): Promise<PeriodCounts> {
  const match = { brandId, createdAt: { $gte: iso(period.from), $lt: iso(period.to) } };
  const [bySentiment, complaints] = await Promise.all([
    store.models.Mention.collection.aggregate([{ $match: match }, { $group: { _id: '$judgement.sentiment.label', n: { $sum: 1 } } }]).toArray(),
    store.models.Mention.collection.countDocuments({ ...match, 'judgement.complaint.label': true }),
  ]);
  let posts = 0;
  let negative = 0;
  for (const row of bySentiment) {
    posts += Number(row.n) || 0;
    if (row._id === 'negative') negative += Number(row.n) || 0;
  }
  return { posts, negative, complaints };
}

/** A case without its timeline and post keys (and its mark in page_state). */
const CASE_SUMMARY = { _id: 0, kind: 0, timeline: 0, postKeys: 0 };

/** What a digest is built from, read with the brand's indexed fields (brandId, createdAt) and `_id`-free filters. */
export async function digestInputs(store: Store, brand: Pick<ResolvedBrand, 'id' | 'name'>, timing: DigestTiming, period: { from: number; to: number }): Promise<DigestInput> {
  const alerts = store.models.Alert.collection;
  const pageState = store.models.PageState.collection;
  const noId = { projection: { _id: 0 } };
  const [current, previous, open, created, storms, decided, watching] = await Promise.all([
    countPosts(store, brand.id, period),
    Promise.all(previousPeriods(timing, period).map((p) => countPosts(store, brand.id, p))),
    alerts.find({ brandId: brand.id, status: { $in: ['triggered', 'acknowledged'] } }, noId).toArray(),
    alerts.find({ brandId: brand.id, createdAt: { $gte: iso(period.from), $lt: iso(period.to) } }, noId).toArray(),
    alerts.find({ brandId: brand.id, kind: 'storm', createdAt: { $lt: iso(period.to) } }, noId).sort({ createdAt: -1 }).limit(50).toArray(),
    pageState.find(caseFilter({ brandId: brand.id, 'recovery.decidedAt': { $gte: period.from, $lt: period.to } }), { projection: CASE_SUMMARY }).toArray(),
    pageState.find(caseFilter({ brandId: brand.id, 'recovery.state': 'watching' }), { projection: CASE_SUMMARY }).toArray(),
  ]);
  return {
    brand: { id: brand.id, name: brand.name },
    timing,
    period,
    current,
    // Periods before the brand had any posts are not "usual": a new brand compares with what it has.
    previous: trimLeadingEmpty(previous),
    alerts: [...open, ...created, ...storms] as unknown as Alert[],
    cases: [...decided, ...watching] as unknown as Case[],
  };
}

/** previousPeriods are newest first; the oldest empty ones (before the brand was watched) are dropped. */
function trimLeadingEmpty(previous: PeriodCounts[]): PeriodCounts[] {
  let end = previous.length;
  while (end > 0 && previous[end - 1].posts === 0) end--;
  return previous.slice(0, end);
}

/**
 * Builds a brand's digest for a period and sends it to the brand's digest receivers. Each
 * receiver is recorded (`digest_deliveries`) and counted (repwatch_digests_total by outcome);
 * one already sent is not sent again when the job is retried, and webhooks carry the digest's id
 * (brand + period) as webhook-id. When a receiver fails, the job fails with its code after the
 * others were tried, so the queue retries what is retryable.
 */
export async function runDigest(deps: DigestDeps, job: DigestJob): Promise<DigestOutcome> {
  const brand = deps.config.brands.find((b) => b.id === job.brandId);
  if (!brand) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no brand "${job.brandId}" (config changed?)`);
  const timing = timingOf(brand);
  if (!timing) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `brand "${brand.id}" has no digest configured (config changed?)`);
  const period = job.period ?? digestPeriod(timing, latestRunAt(timing, deps.now()));
  const digest = buildDigest(await digestInputs(deps.store, brand, timing, period));
  const logger = deps.logger.child({ brand: brand.id, digest: digest.id });
  const records = deps.store.conn.collection<DigestDeliveryDoc>(DELIVERIES);

  const results: DigestOutcome['receivers'] = [];
  const failures: RepwatchError[] = [];
  for (const receiverId of brand.digest!.receivers) {
    const count = (outcome: DigestDeliveryOutcome) =>
      deps.metrics?.inc('repwatch_digests_total', { brand: brand.id, receiver: receiverId, outcome }).catch((err: Error) => logger.warn({ err: err.message }, 'could not count a digest delivery'));
    const notifier = deps.notifiers.get(receiverId);
    if (!notifier?.sendDigest) {
      // An optional receiver whose credential is unset (disabled), or a channel without digests.
      logger.warn({ receiver: receiverId }, notifier ? 'receiver takes no digests: skipped' : 'receiver is not enabled: digest skipped');
      results.push({ receiverId, outcome: 'skipped' });
      await count('skipped');
      continue;
    }
    const _id = `${digest.id}|${receiverId}`;
    const before = await records.findOne({ _id });
    if (before?.status === 'sent') {
      results.push({ receiverId, outcome: 'already-sent' });
      await count('already-sent');
      continue;
    }
    try {
      await notifier.sendDigest(digest, logger);
      await putRecord(records, { _id, digestId: digest.id, receiverId, status: 'sent', at: deps.now(), attempts: (before?.attempts ?? 0) + 1 }, !!before);
      results.push({ receiverId, outcome: 'sent' });
      await count('sent');
      logger.info({ receiver: receiverId }, 'digest sent');
    } catch (caught) {
      const err = isRepwatchError(caught) ? caught : new RepwatchError('RW_ERR_RECEIVER_UNAVAILABLE', `digest to "${receiverId}" failed unexpectedly`);
      failures.push(err);
      await putRecord(records, { _id, digestId: digest.id, receiverId, status: 'failed', at: deps.now(), attempts: (before?.attempts ?? 0) + 1, code: err.code, message: err.message.slice(0, 500) }, !!before);
      results.push({ receiverId, outcome: 'failed', code: err.code });
      await count('failed');
      logger.warn({ receiver: receiverId, code: err.code }, `digest delivery failed: ${err.message}`);
    }
  }
  if (failures.length) {
    // Retryable if any failure is: the receivers that took it are not sent it again.
    const first = failures.find((f) => isRetryable(f)) ?? failures[0];
    const failed = results.filter((r) => r.outcome === 'failed').map((r) => r.receiverId);
    throw new RepwatchError(first.code, `digest ${digest.id}: ${failed.length} of ${results.length} receivers failed (${failed.join(', ')}): ${first.message}`, { retryAfterMs: first.retryAfterMs });
  }
  return { digestId: digest.id, quiet: digest.quiet, receivers: results };
}

/** Insert the first time, replace later (FerretDB: no upserts needed for a single known `_id`). */
async function putRecord(records: Collection<DigestDeliveryDoc>, doc: DigestDeliveryDoc, exists: boolean): Promise<void> {
  if (exists) {
    await records.replaceOne({ _id: doc._id }, doc);
    return;
  }
  try {
    await records.insertOne(doc);
  } catch (err) {
    // Another run inserted it meanwhile: replace it with this outcome.
    if ((err as { code?: number }).code !== 11000) throw err;
    await records.replaceOne({ _id: doc._id }, doc);
  }
}

export type { Digest };
