import type { Alert } from '../domain/alert';
import { resolve } from '../domain/lifecycle';
import type { DeadLetter, DeadLetters } from '../store/dead-letters';
import { withEventId, type EventInput } from '../store/store';
import type { EvaluateDeps } from './evaluate';
import { handOnEvents } from './outbox';

export type CoverageDeps = Pick<EvaluateDeps, 'config' | 'store' | 'dispatch' | 'locks' | 'now' | 'logger'> & { deadLetters: Pick<DeadLetters, 'list'> };

/** One coverage alert per (brand, source) at a time; a later gap after it was resolved is generation ~2. */
export function coverageFingerprintOf(brandId: string, sourceId: string): string {
  return `${brandId}/coverage/${sourceId}`;
}

/** Who resolves a coverage alert when every page of the gap was judged after all. */
export const COVERAGE_RESOLVER = 'repwatch';

/**
 * Brings the source's coverage alert in line with its open ingest dead letters: triggered by the
 * first, updated with the count as more come, resolved by repwatch when the last one is judged
 * after a retry. It goes on the alert stream and out to the receivers like any alert (same append
 * and outbox path as evaluation), under the brand's lock so a person acknowledging it does not race.
 * Returns the alert as it is now (undefined when the source never had one).
 */
export async function refreshCoverage(deps: CoverageDeps, brandId: string, sourceId: string): Promise<Alert | undefined> {
  const brand = deps.config.brands.find((b) => b.id === brandId);
  if (!brand) return undefined;
  const fp = coverageFingerprintOf(brandId, sourceId);
  return deps.locks.withLock(`brand:${brandId}`, async () => {
    const open = await deps.deadLetters.list({ status: 'open', queue: 'ingest', brandId, sourceId });
    const head = (await deps.store.alertHeads([fp])).get(fp);
    const current = head ? await deps.store.getAlert(head.alertId) : undefined;
    const isOpen = !!current && current.status !== 'resolved';
    const now = deps.now();
    const at = new Date(now).toISOString();
    let change: EventInput | undefined;
    let newHead: { fingerprint: string; alertId: string; generation: number } | undefined;

    if (open.length === 0) {
      if (!isOpen) return current;
      change = withEventId({ type: 'alert.resolved', alert: { ...resolve(current!, COVERAGE_RESOLVER, now), reason: `${current!.reason} All pages were judged after a retry.` }, at, by: COVERAGE_RESOLVER });
    } else if (isOpen) {
      if (current!.count === open.length) return current;
      change = withEventId({ type: 'alert.updated', alert: { ...current!, ...describe(brand.name, sourceId, open), updatedAt: at, version: current!.version + 1 }, at });
    } else {
      const generation = head ? head.generation + 1 : 1;
      const id = head ? `${fp}~${generation}` : fp;
      const platform = brand.sources.find((s) => s.id === sourceId)?.platform ?? 'unknown';
      const alert: Alert = {
        id,
        fingerprint: fp,
        brandId,
        brandName: brand.name,
        kind: 'coverage',
        severity: 'high',
        status: 'triggered',
        topic: 'general',
        ...describe(brand.name, sourceId, open),
        impact: { negativity: 0, complaint: 0, reach: 0, engagement: 0, velocity: 0, projectedReach: 0, score: 0 },
        // Not a post: the alert stands for the source's posts that were not judged. Receivers show it as such.
        post: {
          platform,
          postId: `coverage-${sourceId}`,
          url: '',
          text: `Posts from source "${sourceId}" of ${brand.name} could not be judged. See: repwatch dlq list --brand ${brandId}`,
          lang: 'en',
          createdAt: at,
          ingestedAt: at,
          author: { id: 'repwatch', handle: 'repwatch', followers: 0, verified: false },
          sentiment: { label: 'neutral', score: 0 },
          complaint: { label: false, score: 0 },
          evidence: { negative: [], positive: [], complaint: [] },
        },
        createdAt: at,
        updatedAt: at,
        version: 1,
      };
      change = withEventId({ type: 'alert.triggered', alert, at });
      newHead = { fingerprint: fp, alertId: id, generation };
    }

    const { events } = await deps.store.appendEvents([change]);
    await deps.store.saveAlerts([change.alert], current && current.id === change.alert.id ? new Set([current.id]) : undefined);
    if (newHead) await deps.store.setAlertHeads([newHead], head ? new Set([fp]) : undefined);
    await handOnEvents(deps, events);
    deps.logger.warn({ brand: brandId, source: sourceId, alert: change.alert.id, change: change.type, pages: open.length }, 'coverage alert');
    return change.alert;
  });
}

function describe(brandName: string, sourceId: string, open: DeadLetter[]): Pick<Alert, 'title' | 'reason' | 'count'> {
  const pages = open.length;
  const posts = open.reduce((n, d) => n + (d.posts ?? 0), 0);
  const latest = [...open].sort((a, b) => b.lastFailedAt - a.lastFailedAt)[0];
  const since = new Date(Math.min(...open.map((d) => d.firstFailedAt))).toISOString();
  return {
    title: `Coverage: ${pages} page${pages === 1 ? '' : 's'} (${posts} posts) of ${brandName} / ${sourceId} not judged`,
    reason:
      `${pages} page${pages === 1 ? '' : 's'} with ${posts} posts from source "${sourceId}" failed after all attempts since ${since}, ` +
      `so they were stored at most but not judged and could hide a complaint; last failure: ${latest.code}: ${latest.reason.slice(0, 200)}. ` +
      `repwatch retries them with backoff; repwatch dlq list shows them and repwatch dlq retry --all retries them now.`,
    count: pages,
  };
}
