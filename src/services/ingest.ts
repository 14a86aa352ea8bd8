import { analyze } from '../analysis';
import { RepwatchError } from '../domain/errors';
import { evaluatePage, type EvaluateDeps } from './evaluate';
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

/**
 * A page of posts: judged in one batch, stored with one idempotent bulk write, then evaluated
 * against the brand's policy (storms, alerts, cases; see evaluate.ts). Every step is safe to
 * repeat, so a retried or duplicated job stores, alerts and delivers once. Posts stored before
 * are evaluated again: a retry after a crash between storing and alerting must still alert.
 */
export async function ingestPage(deps: IngestDeps, page: IngestPage): Promise<IngestOutcome> {
  const brand = deps.config.brands.find((b) => b.id === page.brandId);
  if (!brand) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no brand "${page.brandId}" (config changed?)`);
  // The brand's languages are the prior for untagged posts; a review's stars are part of its judgement.
  const judgements = analyze(page.mentions.map((m) => ({ text: m.text, langHint: m.langHint, languages: brand.languages, rating: m.rating })));
  const { inserted, duplicates, existing } = await deps.store.storeMentions(
    page.mentions.map((mention, i) => ({ mention, judgement: judgements[i], ingestedAt: page.polledAt })),
  );
  const outcome = await evaluatePage(
    deps,
    brand.id,
    page.mentions.map((mention, i) => ({ mention, judgement: judgements[i], isNew: !existing.has(i), ingestedAt: page.polledAt })),
    page.sourceId,
  );
  return { posts: page.mentions.length, stored: inserted, duplicates, ...outcome };
}
