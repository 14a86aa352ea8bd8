import type { ResolvedBrand } from '../config/load';
import { caseReach, type Case, type CaseSettings } from '../domain/cases';
import type { CaseIndex } from '../store/case-index';
import type { Store } from '../store/store';

export interface CaseDeps {
  store: Store;
  caseIndex: CaseIndex;
}

/**
 * The brand's cases that posts with these keys (caseKeysOfPost) may join or follow up. Reads
 * only those cases; a brand whose index is missing is indexed from the cases collection first.
 * Call with the brand's lock held.
 */
export async function casesReachedBy(deps: CaseDeps, brand: ResolvedBrand, keys: string[], now: number): Promise<Map<string, Case>> {
  let ids = await deps.caseIndex.lookup(brand.id, keys, now);
  if (ids === undefined) {
    const active = await deps.store.activeCases(brand.id);
    await deps.caseIndex.rebuild(brand.id, active.map((c) => indexEntryOf(c, brand)), now);
    ids = (await deps.caseIndex.lookup(brand.id, keys, now)) ?? [];
  }
  return deps.store.getCases(ids);
}

/** Writes cases and keeps the index in step. `known`: ids read from the store (replaced, not inserted). Call with the brand's lock held. */
export async function saveCases(deps: CaseDeps, brand: ResolvedBrand, cases: Case[], now: number, known?: ReadonlySet<string>): Promise<void> {
  if (cases.length === 0) return;
  // The index first: an entry for a case not written yet finds nothing, which is harmless.
  await deps.caseIndex.record(brand.id, cases.map((c) => indexEntryOf(c, brand)), now);
  await deps.store.saveCases(cases, known);
}

export function caseSettingsOf(policy: ResolvedBrand['effectivePolicy']): CaseSettings {
  return { windowMs: policy.caseWindow, recoveryWindowMs: policy.recoveryWindow };
}

function indexEntryOf(c: Case, brand: ResolvedBrand) {
  return { caseId: c.id, ...caseReach(c, caseSettingsOf(brand.effectivePolicy)) };
}
