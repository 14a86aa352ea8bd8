import type { Config } from '../config/load';
import { connectorFor } from '../connectors';
import type { SourceHealthRecord } from '../domain/source-health';
import type { SourceHealth } from '../store/source-health';
import type { Store } from '../store/store';
import { blindnessOfSource, coverageFingerprintOf } from './coverage';

/** One source as operators see it (`repwatch sources`, GET /api/v1/sources). */
export interface SourceOverview {
  brandId: string;
  sourceId: string;
  platform: string;
  /** ok, or why it is not hearing (refused, failing, stale, silent, disconnected). */
  state: 'ok' | 'refused' | 'failing' | 'stale' | 'silent' | 'disconnected';
  reason?: string;
  health: SourceHealthRecord;
  /** The open coverage alert of the source, if any. */
  coverageAlertId?: string;
  /** The platform's daily quota as this source's config spends it (YouTube units), where it has one. */
  quota?: { used: number; limit: number; unit: string };
}

export async function describeSources(deps: { config: Config; store: Store; sourceHealth: Pick<SourceHealth, 'get'>; now: () => number }): Promise<SourceOverview[]> {
  const all = deps.config.brands.flatMap((brand) => brand.sources.map((source) => ({ brand, source })));
  const heads = await deps.store.alertHeads(all.map(({ brand, source }) => coverageFingerprintOf(brand.id, source.id)));
  const alerts = await deps.store.getAlerts([...heads.values()].map((h) => h.alertId));
  const rows: SourceOverview[] = [];
  for (const { brand, source } of all) {
    const { health, blindness } = await blindnessOfSource(deps, brand.id, source.id);
    const head = heads.get(coverageFingerprintOf(brand.id, source.id));
    const alert = head ? alerts.get(head.alertId) : undefined;
    const quota = connectorFor(source).dailyQuota?.(source, brand);
    rows.push({
      brandId: brand.id,
      sourceId: source.id,
      platform: source.platform,
      state: blindness.blind ? blindness.why : 'ok',
      ...(blindness.blind ? { reason: blindness.reason } : {}),
      health: health!,
      ...(alert && alert.status !== 'resolved' ? { coverageAlertId: alert.id } : {}),
      ...(quota ? { quota } : {}),
    });
  }
  return rows;
}
