import { countedKey, type Membership } from '../domain/page-steps/alerts';
import { docsById, memberDocId, MEMBER_KIND, type Store } from './store';

/**
 * Which posts alerts have counted, per fingerprint: records in `page_state` (`member|<key>`, with
 * `kind: 'member'`), written with the rest of a page's state in its one write.
 *
 * Two kinds of record:
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
  const counted = new Map<string, string>();
  if (queries.length === 0) return counted;
  const ids = new Set<string>();
  for (const q of queries) {
    ids.add(countedKey(q.fingerprint, q.postKey));
    if (q.headAlertId && q.headAlertId !== q.fingerprint) ids.add(countedKey(q.headAlertId, q.postKey));
  }
  const found = await docsById<{ countedIn?: string; alertId?: string }>(store.models.PageState.collection, [...ids].map(memberDocId));
  for (const q of queries) {
    const key = countedKey(q.fingerprint, q.postKey);
    const own = found.get(memberDocId(key));
    if (own) counted.set(key, own.countedIn ?? own.alertId ?? q.fingerprint);
    else if (q.headAlertId && q.headAlertId !== q.fingerprint && found.has(memberDocId(countedKey(q.headAlertId, q.postKey)))) counted.set(key, q.headAlertId);
  }
  return counted;
}

/** The records that note posts as counted: the alert's, and for a later generation the fingerprint's. Idempotent (replaced by `_id`). */
export function membershipDocs(members: Membership[]): { _id: string }[] {
  return [
    ...members.map((m) => ({ _id: memberDocId(`${m.alertId}|${m.postKey}`), kind: MEMBER_KIND, alertId: m.alertId })),
    ...members.filter((m) => m.alertId !== m.fingerprint).map((m) => ({ _id: memberDocId(countedKey(m.fingerprint, m.postKey)), kind: MEMBER_KIND, countedIn: m.alertId })),
  ];
}
