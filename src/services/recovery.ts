import type { Alert } from '../domain/alert';
import { mentionKey } from '../domain/mention';
import type { DeadLetter, DeadLetters } from '../store/dead-letters';
import { refreshCoverage, type CoverageDeps } from './coverage';

/** What the queues did with a dead letter put back (see workers/queues.ts `requeue`). */
export type RequeueOutcome = 'retried' | 'requeued' | 'in-progress' | 'completed';

export type RecoveryDeps = CoverageDeps & {
  deadLetters: DeadLetters;
  /** Puts a dead letter's job back on its queue, idempotently (the worker layer knows how). */
  requeue(deadLetter: DeadLetter): Promise<RequeueOutcome>;
};

/**
 * Puts one dead letter's job back and counts the retry. A job that turns out to have completed
 * meanwhile resolves the dead letter (and, for an ingest page, refreshes the coverage alert).
 */
export async function retryDeadLetter(deps: RecoveryDeps, deadLetter: DeadLetter): Promise<RequeueOutcome> {
  const outcome = await deps.requeue(deadLetter);
  const now = deps.now();
  if (outcome === 'completed') {
    const resolved = await deps.deadLetters.resolve(deadLetter.queue, deadLetter.jobId, now);
    if (resolved?.queue === 'ingest' && resolved.brandId && resolved.sourceId) await refreshCoverage(deps, resolved.brandId, resolved.sourceId);
  } else {
    await deps.deadLetters.markRetried(deadLetter._id, now);
  }
  deps.logger.info({ deadLetter: deadLetter._id, outcome, retries: deadLetter.retries + 1 }, 'dead letter retried');
  return outcome;
}

/** The sweep's part: ingest pages whose own backoff (1, 2, 4 … 60 minutes) is up are put back. */
export async function retryDueDeadLetters(deps: RecoveryDeps): Promise<number> {
  const due = await deps.deadLetters.dueForRetry(deps.now());
  for (const d of due) await retryDeadLetter(deps, d);
  return due.length;
}

/**
 * The sweep's part after a Redis loss: every critical alert still triggered, not escalated and
 * with its acknowledgement deadline ahead gets its SLA timer again. Timer job ids are
 * deterministic (alert and deadline), so a timer that still exists is not doubled.
 * (Deadlines already past are the overdue sweep's.)
 */
export async function rearmSlaTimers(deps: Pick<RecoveryDeps, 'store' | 'dispatch' | 'now'>): Promise<number> {
  const now = deps.now();
  const docs = await deps.store.models.Alert.collection.find({ status: 'triggered', slaDeadline: { $gt: new Date(now).toISOString() } }).toArray();
  let armed = 0;
  for (const doc of docs as unknown as Alert[]) {
    if (doc.escalatedAt || !doc.slaDeadline) continue;
    await deps.dispatch.slaTimer(doc.id, Date.parse(doc.slaDeadline));
    armed++;
  }
  return armed;
}

/**
 * The sweep's part after a Redis loss: engagement rechecks of the lead posts of alerts still open
 * whose recheck series is not over. Each post gets its next round not yet measured (its stored
 * samples count the rounds done), at the time that round was due (at once if it is past). Recheck
 * job ids are deterministic (post and round): a recheck still waiting is not doubled.
 */
export async function rearmRechecks(deps: Pick<RecoveryDeps, 'config' | 'store' | 'dispatch' | 'now'>): Promise<number> {
  const now = deps.now();
  let armed = 0;
  for (const brand of deps.config.brands) {
    const series = brand.effectivePolicy.engagementRechecks;
    if (series.length === 0) continue;
    const since = new Date(now - series[series.length - 1]).toISOString();
    const docs = await deps.store.models.Alert.collection.find({ brandId: brand.id, status: { $ne: 'resolved' }, updatedAt: { $gte: since } }).toArray();
    for (const alert of docs as unknown as Alert[]) {
      if (alert.kind === 'coverage' || !alert.post?.ingestedAt) continue;
      const ingestedAt = Date.parse(alert.post.ingestedAt);
      const source = brand.sources.find((s) => s.platform === alert.post.platform);
      if (!source || ingestedAt + series[series.length - 1] < now) continue;
      const postKey = mentionKey(alert.post);
      const stored = await deps.store.getMention(postKey);
      if (!stored) continue;
      const round = stored.samples?.length ?? 0;
      if (round >= series.length) continue;
      await deps.dispatch.recheck({ brandId: brand.id, sourceId: source.id, postKey, round }, ingestedAt + series[round]);
      armed++;
    }
  }
  return armed;
}
