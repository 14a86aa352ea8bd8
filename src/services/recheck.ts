import type { Secrets } from '../config/load';
import { connectorFor } from '../connectors';
import { RepwatchError } from '../domain/errors';
import type { SourceState } from '../store/source-state';
import { evaluatePage, type EvaluateDeps } from './evaluate';
import type { Dispatch, RecheckRequest } from './ports';

export interface RecheckDeps extends EvaluateDeps {
  secrets: Secrets;
  sourceState: SourceState;
}

export type RecheckOutcome = { status: 'measured'; alerts: number } | { status: 'skipped'; why: string };

/**
 * One engagement recheck of a high-impact post: asks the platform for its engagement now, keeps
 * the measurement, and evaluates the post again, so its alert's projected reach, velocity and
 * severity follow the curve. Schedules the next recheck of the configured series (5, 15, 60 min).
 */
export async function recheckEngagement(deps: RecheckDeps, request: RecheckRequest): Promise<RecheckOutcome> {
  const brand = deps.config.brands.find((b) => b.id === request.brandId);
  const source = brand?.sources.find((s) => s.id === request.sourceId);
  if (!brand || !source) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no source "${request.sourceId}" in brand "${request.brandId}" (config changed?)`);
  const stored = await deps.store.getMention(request.postKey);
  if (!stored) return { status: 'skipped', why: 'post not stored' };
  const connector = connectorFor(source);
  if (!connector.engagement) return { status: 'skipped', why: `${source.platform} has no engagement lookup` };
  const now = deps.now();
  const state = await deps.sourceState.get(brand.id, source.id);
  const logger = deps.logger.child({ brand: brand.id, source: source.id, post: request.postKey, round: request.round });
  const found = await connector.engagement(
    { brand, source, cursor: state.cursor, now, secrets: deps.secrets, configDir: deps.config.dir, logger },
    [stored.postId],
  );
  const engagement = found.get(stored.postId);
  if (!engagement) return { status: 'skipped', why: 'the platform no longer has the post' };
  const samples = await deps.store.addEngagementSample(request.postKey, { at: now, engagement });
  const { _id, judgement, ingestedAt, samples: _old, ...mention } = stored;
  const outcome = await evaluatePage(deps, brand.id, [{ mention: { ...mention, engagement }, judgement, isNew: false, ingestedAt: new Date(ingestedAt).getTime(), samples, recheck: true }]);
  const rechecks = brand.effectivePolicy.engagementRechecks;
  const next = request.round + 1;
  if (next < rechecks.length) await deps.dispatch.recheck({ ...request, round: next }, new Date(ingestedAt).getTime() + rechecks[next]);
  logger.debug({ engagement, alerts: outcome.alerts }, 'engagement rechecked');
  return { status: 'measured', alerts: outcome.alerts };
}
