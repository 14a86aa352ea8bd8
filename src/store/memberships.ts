import { countedKey, type Membership } from '../domain/page-steps/alerts';
import { docsById, insertNew, type Store } from './store';

/**
 * Which posts alerts have counted, per fingerprint (alert_members).
 *
 * Two kinds of record share the collection:
 * - `<alert id>|<post key>` with `alertId`: the alert's posts (the API lists them by `alertId`);
 * - `<fingerprint>|<post key>` with `countedIn`: the post is counted under that fingerprint, in
 *   whichever generation. A first generation's alert id is its fingerprint, so its alert record is
 *   that record too; later generations (`fp~2`, …) write both.
 * One `_id` lookup per post then tells whether any generation counted it.
 */

export interface CountedQuery {
  fingerprint: string;
  postKey: string;
  /**
   * The fingerprint's current alert when it is a later generation: records written before the
   * fingerprint records existed are read under it (only the latest generation's, a bounded read).
   */
  headAlertId?: string;
}

/** `fingerprint|postKey` → the alert that counted the post. */
export async function countedPosts(store: Store, queries: CountedQuery[]): Promise<Map<string, string>> {
  const coll = store.models.AlertMember.collection;
  const counted = new Map<string, string>();
  const ids = new Set<string>();
  for (const q of queries) {
    ids.add(countedKey(q.fingerprint, q.postKey));
    if (q.headAlertId && q.headAlertId !== q.fingerprint) ids.add(countedKey(q.headAlertId, q.postKey));
  }
  const found = await docsById<{ countedIn?: string; alertId?: string }>(coll, ids);
  for (const q of queries) {
    const key = countedKey(q.fingerprint, q.postKey);
    const own = found.get(key);
    if (own) counted.set(key, own.countedIn ?? own.alertId ?? q.fingerprint);
    else if (q.headAlertId && q.headAlertId !== q.fingerprint && found.has(countedKey(q.headAlertId, q.postKey))) counted.set(key, q.headAlertId);
  }
  return counted;
}

/** Records posts as counted: the alert's record, and for a later generation the fingerprint's. Idempotent. */
export async function recordMemberships(store: Store, members: Membership[]): Promise<void> {
  if (members.length === 0) return;
  const later = members.filter((m) => m.alertId !== m.fingerprint);
  // Both kinds of record in one insert: one round trip.
  await insertNew(store.models.AlertMember.collection, [
    ...members.map((m) => ({ _id: `${m.alertId}|${m.postKey}`, alertId: m.alertId })),
    ...later.map((m) => ({ _id: countedKey(m.fingerprint, m.postKey), countedIn: m.alertId })),
  ]);
}
