import type { Alert } from '../domain/alert';
import { resolve } from '../domain/lifecycle';
import type { DeadLetter, DeadLetters } from '../store/dead-letters';
import { DEFAULT_HEALTH_LIMITS, blindnessOf, type Blindness, type SourceHealthRecord } from '../domain/source-health';
import type { SourceHealth } from '../store/source-health';
import { withEventId, type EventInput } from '../store/store';
import type { EvaluateDeps } from './evaluate';
import { handOnEvents } from './outbox';

export type CoverageDeps = Pick<EvaluateDeps, 'config' | 'store' | 'dispatch' | 'locks' | 'now' | 'logger'> & {
  deadLetters: Pick<DeadLetters, 'list'>;
  /** What the workers saw of each source; without it only dead letters count. */
  sourceHealth?: Pick<SourceHealth, 'get'>;
};

/** Whether a source hears, by the rules of src/domain/source-health.ts with its own poll interval. */
export async function blindnessOfSource(deps: Pick<CoverageDeps, 'config' | 'sourceHealth' | 'now'>, brandId: string, sourceId: string): Promise<{ health?: SourceHealthRecord; blindness: Blindness }> {
  const source = deps.config.brands.find((b) => b.id === brandId)?.sources.find((s) => s.id === sourceId);
  if (!source || !deps.sourceHealth) return { blindness: { blind: false } };
  const now = deps.now();
  const health = await deps.sourceHealth.get(brandId, sourceId, now);
  const blindness = blindnessOf(health, { ...DEFAULT_HEALTH_LIMITS, pollEvery: source.pollEvery }, now);
  // A replay ends by design: its silence afterwards is not blindness.
  if (blindness.blind && blindness.why === 'silent' && source.platform === 'replay') return { health, blindness: { blind: false } };
  return { health, blindness };
}

/** One coverage alert per (brand, source) at a time; a later gap after it was resolved is generation ~2. */
export function coverageFingerprintOf(brandId: string, sourceId: string): string {
  return `${brandId}/coverage/${sourceId}`;
}

/** Who resolves a coverage alert when every page of the gap was judged after all. */
export const COVERAGE_RESOLVER = 'repwatch';

/**
 * Brings the source's coverage alert in line with what is wrong with it: open ingest dead letters
 * (pages that failed for good) and blindness (refused, failing, stale, silent or disconnected;
 * src/domain/source-health.ts). Triggered by the first problem, updated when the problems change,
 * resolved by repwatch when none is left (the last page judged after a retry, the source hearing again). It goes on the alert stream and out to the receivers like any alert (same append
 * and outbox path as evaluation), under the brand's lock so a person acknowledging it does not race.
 * Returns the alert as it is now (undefined when the source never had one).
 */
export async function refreshCoverage(deps: CoverageDeps, brandId: string, sourceId: string): Promise<Alert | undefined> {
  const brand = deps.config.brands.find((b) => b.id === brandId);
  if (!brand) return undefined;
  const fp = coverageFingerprintOf(brandId, sourceId);
  return deps.locks.withLock(`brand:${brandId}`, async (held) => {
    const open = await deps.deadLetters.list({ status: 'open', queue: 'ingest', brandId, sourceId });
    const { blindness } = await blindnessOfSource(deps, brandId, sourceId);
    const problems: Problems = { pages: open, blindness };
    const head = (await deps.store.alertHeads([fp])).get(fp);
    const current = head ? await deps.store.getAlert(head.alertId) : undefined;
    const isOpen = !!current && current.status !== 'resolved';
    const now = deps.now();
    const at = new Date(now).toISOString();
    let change: EventInput | undefined;
    let newHead: { fingerprint: string; alertId: string; generation: number } | undefined;

    if (open.length === 0 && !blindness.blind) {
      if (!isOpen) return current;
      change = withEventId({ type: 'alert.resolved', alert: { ...resolve(current!, COVERAGE_RESOLVER, now), reason: `${current!.reason} Resolved: the source hears again and every page was judged.` }, at, by: COVERAGE_RESOLVER });
    } else if (isOpen) {
      const described = describe(brand.name, sourceId, problems);
      if (current!.title === described.title) return current;
      change = withEventId({ type: 'alert.updated', alert: { ...current!, ...described, updatedAt: at, version: current!.version + 1 }, at });
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
        ...describe(brand.name, sourceId, problems),
        impact: { negativity: 0, complaint: 0, reach: 0, engagement: 0, velocity: 0, projectedReach: 0, score: 0 },
        // Not a post: the alert stands for the source's posts that were not judged. Receivers show it as such.
        post: {
          platform,
          postId: `coverage-${sourceId}`,
          url: '',
          text: blindness.blind
            ? `Source "${sourceId}" of ${brand.name} is not hearing (${blindness.why}). See: repwatch sources`
            : `Posts from source "${sourceId}" of ${brand.name} could not be judged. See: repwatch dlq list --brand ${brandId}`,
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

    await held.confirm();
    const { events } = await deps.store.appendEvents([change]);
    await deps.store.saveAlerts([change.alert], current && current.id === change.alert.id ? new Set([current.id]) : undefined);
    if (newHead) await deps.store.setAlertHeads([newHead], head ? new Set([fp]) : undefined);
    await handOnEvents(deps, events);
    deps.logger.warn({ brand: brandId, source: sourceId, alert: change.alert.id, change: change.type, pages: open.length, blind: blindness.blind ? blindness.why : false }, 'coverage alert');
    return change.alert;
  });
}

interface Problems {
  pages: DeadLetter[];
  blindness: Blindness;
}

function describe(brandName: string, sourceId: string, { pages: open, blindness }: Problems): Pick<Alert, 'title' | 'reason' | 'count'> {
  const parts: string[] = [];
  const titles: string[] = [];
  if (blindness.blind) {
    titles.push(`${brandName} / ${sourceId} is not hearing (${blindness.why})`);
    parts.push(`Source "${sourceId}" is not hearing: ${blindness.reason}. Posts about the brand there are not seen until it recovers; repwatch sources shows its state.`);
  }
  if (open.length) {
    const d = describePages(brandName, sourceId, open);
    titles.push(d.title);
    parts.push(d.reason);
  }
  return { title: `Coverage: ${titles.join('; ')}`, reason: parts.join(' '), count: open.length + (blindness.blind ? 1 : 0) };
}

function describePages(brandName: string, sourceId: string, open: DeadLetter[]): { title: string; reason: string } {
  const pages = open.length;
  const posts = open.reduce((n, d) => n + (d.posts ?? 0), 0);
  const latest = [...open].sort((a, b) => b.lastFailedAt - a.lastFailedAt)[0];
  const since = new Date(Math.min(...open.map((d) => d.firstFailedAt))).toISOString();
  return {
    title: `${pages} page${pages === 1 ? '' : 's'} (${posts} posts) of ${brandName} / ${sourceId} not judged`,
    reason:
      `${pages} page${pages === 1 ? '' : 's'} with ${posts} posts from source "${sourceId}" failed after all attempts since ${since}, ` +
      `so they were stored at most but not judged and could hide a complaint; last failure: ${latest.code}: ${latest.reason.slice(0, 200)}. ` +
      `repwatch retries them with backoff; repwatch dlq list shows them and repwatch dlq retry --all retries them now.`,
  };
}
