import { analyze } from '../analysis';
import type { Config } from '../config/load';
import { atLeast, evaluatePost } from '../domain/policy';
import type { Alert } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import type { Logger } from '../logger';
import type { Store } from '../store/store';
import type { Dispatch, IngestPage } from './ports';

export interface IngestDeps {
  config: Config;
  store: Store;
  dispatch: Dispatch;
  now: () => number;
  logger: Logger;
}

export interface IngestOutcome {
  posts: number;
  stored: number;
  duplicates: number;
  alerts: number;
  newEvents: number;
  deliveries: number;
}

/**
 * A page of posts: judged in one batch, stored with one idempotent bulk write, evaluated against
 * the brand's policy, and any alerts appended to the stream with their deliveries queued.
 * Every step is safe to repeat, so a retried or duplicated job stores, alerts and delivers once.
 * Alerts are evaluated for every post in the page, stored before or not: a retry after a crash
 * between storing and alerting must still raise the alert.
 */
export async function ingestPage(deps: IngestDeps, page: IngestPage): Promise<IngestOutcome> {
  const brand = deps.config.brands.find((b) => b.id === page.brandId);
  if (!brand) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no brand "${page.brandId}" (config changed?)`);
  const judgements = analyze(page.mentions.map((m) => ({ text: m.text, langHint: m.langHint })));
  const { inserted, duplicates } = await deps.store.storeMentions(
    page.mentions.map((mention, i) => ({ mention, judgement: judgements[i], ingestedAt: page.polledAt })),
  );

  const now = deps.now();
  const brandRef = { id: brand.id, name: brand.name, policy: brand.effectivePolicy };
  const alerts: Alert[] = [];
  page.mentions.forEach((m, i) => {
    const alert = evaluatePost(brandRef, m, judgements[i], now, page.polledAt);
    if (alert) alerts.push(alert);
  });
  const { events, newEvents } = await deps.store.raiseAlerts(alerts);

  const requests = events.flatMap((e) =>
    deps.config.receivers.filter((r) => atLeast(e.severity, r.minSeverity)).map((r) => ({ eventId: e.id, receiverId: r.id })),
  );
  if (requests.length) await deps.dispatch.deliver(requests);
  if (newEvents) deps.logger.info({ brand: brand.id, alerts: newEvents }, 'alerts raised');
  return { posts: page.mentions.length, stored: inserted, duplicates, alerts: alerts.length, newEvents, deliveries: requests.length };
}
