import type { ResolvedBrand } from '../config/load';
import { caseReach, type Case, type CaseSettings } from '../domain/cases';
import type { CaseIndex } from '../store/case-index';
import type { Store } from '../store/store';

export interface CaseDeps {
  store: Store;
  caseIndex: CaseIndex;
}

/**
 * The ids of the brand's cases that posts with these keys (caseKeysOfPost) may join or follow up,
 * from the case index in Redis; a brand whose index is missing is indexed from the stored cases
 * first. The page reads the cases themselves with the rest of its page state. Call with the
 * brand's lock held.
 */
export async function caseIdsReachedBy(deps: CaseDeps, brand: ResolvedBrand, keys: string[], now: number): Promise<string[]> {
  const ids = await deps.caseIndex.lookup(brand.id, keys, now);
  if (ids !== undefined) return ids;
  const active = await deps.store.activeCases(brand.id);
  await deps.caseIndex.rebuild(brand.id, active.map((c) => indexEntryOf(c, brand)), now);
  return (await deps.caseIndex.lookup(brand.id, keys, now)) ?? [];
}

/**
 * Keeps the case index in step with cases about to be written: the index first, so an entry for a
 * case not written yet finds nothing, which is harmless. Call with the brand's lock held.
 */
export async function indexCases(deps: CaseDeps, brand: ResolvedBrand, cases: Case[], now: number): Promise<void> {
  if (cases.length) await deps.caseIndex.record(brand.id, cases.map((c) => indexEntryOf(c, brand)), now);
}

/** Writes cases and keeps the index in step. `known`: ids read from the store (replaced, not inserted). Call with the brand's lock held. */
export async function saveCases(deps: CaseDeps, brand: ResolvedBrand, cases: Case[], now: number, known?: ReadonlySet<string>): Promise<void> {
  if (cases.length === 0) return;
  await indexCases(deps, brand, cases, now);
  await deps.store.saveCases(cases, known);
}

export function caseSettingsOf(policy: ResolvedBrand['effectivePolicy']): CaseSettings {
  return { windowMs: policy.caseWindow, recoveryWindowMs: policy.recoveryWindow };
}

function indexEntryOf(c: Case, brand: ResolvedBrand) {
  return { caseId: c.id, ...caseReach(c, caseSettingsOf(brand.effectivePolicy)) };
}
