import { analyze } from '../analysis';
import type { Judgement } from '../analysis/judgement';
import type { Config, ResolvedBrand } from '../config/load';
import { RepwatchError } from '../domain/errors';
import type { Mention } from '../domain/mention';
import { judgePosts } from '../domain/page-steps';
import { evaluatePage, pageBrandOf, type EvaluateDeps } from './evaluate';
import type { IngestPage } from './ports';

export type IngestDeps = EvaluateDeps;

export interface IngestOutcome {
  posts: number;
  stored: number;
  duplicates: number;
  /** Alerts triggered or updated by this page (storms included). */
  alerts: number;
  newEvents: number;
  deliveries: number;
  stormsStarted: number;
}

/** A page's judgements: the brand's languages are the prior for untagged posts; a review's stars are part of it. */
function judgePage(brand: ResolvedBrand, mentions: readonly Mention[]): Judgement[] {
  return analyze(mentions.map((m) => ({ text: m.text, langHint: m.langHint, languages: brand.languages, rating: m.rating })));
}

/**
 * Whether a page may raise or change an alert: one of its posts signals under its brand's policy.
 * Such a page is queued ahead of bulk pages (a backfill, a flood of chatter), so an influencer's
 * complaint does not wait behind them. It costs one more judgement of the page where it is handed
 * on (about 25 ms for 500 posts); an unknown brand counts as alert-bearing (ingest reports it).
 */
export function pageBearsAlerts(config: Config, page: IngestPage): boolean {
  const brand = config.brands.find((b) => b.id === page.brandId);
  if (!brand) return true;
  const judgements = judgePage(brand, page.mentions);
  const items = page.mentions.map((mention, i) => ({ mention, judgement: judgements[i], isNew: true, ingestedAt: page.polledAt }));
  return judgePosts(pageBrandOf(brand), items).some((p) => p.signal);
}

/**
 * A page of posts: judged in one batch, stored with one idempotent bulk write, then evaluated
 * against the brand's policy (storms, alerts, cases; see evaluate.ts). Every step is safe to
 * repeat, so a retried or duplicated job stores, alerts and delivers once. Posts stored before
 * are evaluated again: a retry after a crash between storing and alerting must still alert.
 */
export async function ingestPage(deps: IngestDeps, page: IngestPage): Promise<IngestOutcome> {
  const brand = deps.config.brands.find((b) => b.id === page.brandId);
  if (!brand) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no brand "${page.brandId}" (config changed?)`);
  const judgements = judgePage(brand, page.mentions);
  const overlaps = deps.pageOverlaps;
  const before = await overlaps?.mark(brand.id);
  const { inserted, duplicates, existing } = await deps.store.storeMentions(
    page.mentions.map((mention, i) => ({ mention, judgement: judgements[i], ingestedAt: page.polledAt })),
  );
  if (existing.size) await overlaps?.noteStoredBefore(brand.id);
  const outcome = await evaluatePage(
    deps,
    brand.id,
    page.mentions.map((mention, i) => ({ mention, judgement: judgements[i], isNew: !existing.has(i), ingestedAt: page.polledAt })),
    page.sourceId,
    // Asked under the lock: did another page find posts stored (maybe ours) and go first?
    overlaps && before !== undefined ? { newPostsMaybeCounted: () => overlaps.changedSince(brand.id, before) } : {},
  );
  return { posts: page.mentions.length, stored: inserted, duplicates, ...outcome };
}
