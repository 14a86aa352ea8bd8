import { createHash } from 'node:crypto';
import type { Config, Secrets } from '../config/load';
import { connectorFor } from '../connectors';
import { RepwatchError } from '../domain/errors';
import type { Mention } from '../domain/mention';
import type { Logger } from '../logger';
import type { DeadLetters } from '../store/dead-letters';
import type { SourceState } from '../store/source-state';
import type { Dispatch } from './ports';

export interface PollDeps {
  config: Config;
  /** Polls wait while more pages than this are queued for ingest, so posts are not fetched faster than they are judged. */
  maxIngestBacklog: number;
  secrets: Secrets;
  sourceState: SourceState;
  dispatch: Dispatch;
  now: () => number;
  logger: Logger;
  /** Where posts a platform answered only in part are kept (with their reason); without it they are only logged. */
  deadLetters?: Pick<DeadLetters, 'recordSkipped'>;
}

export type PollOutcome =
  | { status: 'polled'; mentions: number; hasMore: boolean; resumeAt?: number; skipped?: number }
  | { status: 'waiting'; resumeAt: number }
  | { status: 'backlogged'; backlog: number }
  | { status: 'busy' };

const LOCK_TTL_MS = 5 * 60_000;
const BACKLOG_RECHECK_MS = 100;

export function keyOf(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value ?? null)).digest('hex').slice(0, 16);
}

/**
 * The key of a page handed on to ingest: where it was fetched from *and* the posts it carries. The
 * key names the page's ingest job, which BullMQ keeps for an hour after it finishes and treats a
 * second add under the same id as done. A page fetched again from the same place (the poll died
 * before moving the cursor, Redis lost it, a webhook job ran again) that now carries more posts is
 * then a job of its own rather than swallowed by the first fetch's finished one.
 */
export function pageKeyOf(origin: unknown, mentions: readonly Pick<Mention, 'platform' | 'postId'>[]): string {
  return keyOf({ from: origin ?? null, posts: mentions.map((m) => `${m.platform}-${m.postId}`) });
}

/**
 * One poll of one (brand, source): one connector call, its page handed on as one ingest job, and
 * only then the cursor moved. A crash in between re-polls the same page (or a longer one, under a
 * key of its own), which ingest absorbs.
 */
export async function pollSource(deps: PollDeps, brandId: string, sourceId: string): Promise<PollOutcome> {
  const brand = deps.config.brands.find((b) => b.id === brandId);
  const source = brand?.sources.find((s) => s.id === sourceId);
  if (!brand || !source) {
    throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no source "${sourceId}" in brand "${brandId}" (config changed?)`);
  }
  const state = await deps.sourceState.get(brandId, sourceId);
  if (state.resumeAt > deps.now()) return { status: 'waiting', resumeAt: state.resumeAt };
  // Back-pressure: a page fetched now would only wait in the queue (and age before it can alert).
  // A source with more ready (a backfill, a replay) is looked at again shortly rather than at the next tick.
  const backlog = await deps.dispatch.ingestBacklog();
  if (backlog >= deps.maxIngestBacklog) {
    if (state.hasMore) await deps.dispatch.pollAgain(brandId, sourceId, `wait-${Math.floor(deps.now() / BACKLOG_RECHECK_MS)}`, BACKLOG_RECHECK_MS);
    return { status: 'backlogged', backlog };
  }
  const release = await deps.sourceState.lock(brandId, sourceId, LOCK_TTL_MS);
  if (!release) return { status: 'busy' };
  try {
    const logger = deps.logger.child({ brand: brandId, source: sourceId, platform: source.platform });
    const now = deps.now();
    const result = await connectorFor(source).poll({
      brand,
      source,
      cursor: state.cursor,
      now,
      secrets: deps.secrets,
      configDir: deps.config.dir,
      logger,
    });
    const pageKey = pageKeyOf(state.cursor, result.mentions);
    const next = { cursor: result.cursor, resumeAt: result.resumeAt ?? 0, hasMore: result.hasMore && !result.resumeAt };
    if (result.mentions.length) {
      // The key names the page's job and its entry in the source's checkpoint (pending until judged,
      // recorded before the job exists so a job that finishes at once clears it), written with the
      // cursor after the page.
      await deps.sourceState.pageInFlight(brandId, sourceId, { key: pageKey, cursor: state.cursor, at: now }, next);
      await deps.dispatch.ingest({ brandId, sourceId, polledAt: now, mentions: result.mentions }, pageKey);
    }
    const skipped = result.skipped ?? [];
    if (skipped.length) {
      // Kept before the cursor moves past them: a crash here re-polls the page and records them again (idempotent).
      await deps.deadLetters?.recordSkipped(skipped.map((s) => ({ brandId, sourceId, key: `${source.platform}-${s.postId}`, reason: s.reason, at: now })));
      await deps.sourceState.countSkipped(brandId, sourceId, skipped.length);
      logger.warn({ skipped: skipped.length, reasons: [...new Set(skipped.map((s) => s.reason))].slice(0, 3) }, 'platform answered part of the page with errors: those posts are skipped and kept');
    }
    await deps.sourceState.save(brandId, sourceId, next, now, { unchangedFrom: state, checkpointed: result.mentions.length > 0 });
    if (result.resumeAt) logger.info({ resumeAt: new Date(result.resumeAt).toISOString() }, 'platform rate limit: polls wait until reset');
    if (result.hasMore && !result.resumeAt) await deps.dispatch.pollAgain(brandId, sourceId, keyOf(result.cursor));
    return { status: 'polled', mentions: result.mentions.length, hasMore: result.hasMore, resumeAt: result.resumeAt, ...(skipped.length ? { skipped: skipped.length } : {}) };
  } finally {
    await release();
  }
}
