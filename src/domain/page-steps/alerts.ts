import type { Alert } from '../alert';
import { applySignal } from '../policy';
import type { StormTracker } from '../storms';
import type { TermClusterTracker } from '../term-clusters';
import type { AlertBook } from './book';
import type { JudgedPost, PageContext, StormTopics } from './posts';
import { openStormFor } from './storms';

/**
 * A post counted in an alert. Memberships are kept per fingerprint and post, whatever the
 * generation: a post counted in `fp` is never counted again in `fp~2` (a re-fetch or a recheck
 * after the alert was resolved opens nothing).
 */
export interface Membership {
  fingerprint: string;
  postKey: string;
  /** The alert (generation) that counted it. */
  alertId: string;
}

/** `fingerprint|postKey` → the alert that counted the post under that fingerprint. */
export type CountedPosts = ReadonlyMap<string, string>;

export const countedKey = (fingerprint: string, postKey: string) => `${fingerprint}|${postKey}`;

export interface PostAlertsResult {
  book: AlertBook;
  /** Posts counted for the first time: to write. */
  members: Membership[];
  /** Newly counted high-impact posts, to measure again. */
  toRecheck: JudgedPost[];
  /** Single-post alerts that joined each open storm on this page (storm id → how many). */
  joinedStorms: Map<string, number>;
}

/**
 * Step: posts to their alerts by fingerprint. A post counted before (in this alert, or in an
 * earlier generation of its fingerprint) is not counted again: in the open alert it may still
 * raise the severity or the lead post's reach; otherwise it changes nothing and opens no alert.
 * While a storm is open, single-post threats join it instead of paging on their own; a critical
 * one still pages (an influencer inside a storm is the first thing to answer).
 * Changes: alerts triggered or updated, memberships.
 */
export function fileUnderAlerts(
  ctx: PageContext,
  posts: readonly JudgedPost[],
  read: { counted: CountedPosts; book: AlertBook; trackers: ReadonlyMap<string, StormTracker>; clusters?: TermClusterTracker; stormTopics: StormTopics },
): PostAlertsResult {
  const book = read.book.fork();
  const { policy } = ctx.brand;
  const members: Membership[] = [];
  const countedNow = new Map<string, string>();
  const countedIn = (fp: string, postKey: string) => countedNow.get(countedKey(fp, postKey)) ?? read.counted.get(countedKey(fp, postKey));
  const joinedStorms = new Map<string, number>();
  const toRecheck: JudgedPost[] = [];
  const storms = { ...read, book };
  for (const p of posts) {
    const signal = p.signal;
    if (!signal) continue;
    const { alert: existing, id, generation } = book.target(signal.fingerprint);
    if (p.recheck && !existing) continue;
    // Counted already: under this fingerprint (any generation), or under another one the post could go to.
    const counted = [signal.fingerprint, ...p.fingerprints.filter((fp) => fp !== signal.fingerprint)].map((fp) => countedIn(fp, p.postKey)).find((a) => a !== undefined);
    if (counted !== undefined && counted !== id) continue;
    const newMember = counted === undefined;
    const outcome = applySignal(ctx.brand, existing, id, signal, newMember, ctx.now);
    if (newMember) {
      members.push({ fingerprint: signal.fingerprint, postKey: p.postKey, alertId: id });
      countedNow.set(countedKey(signal.fingerprint, p.postKey), id);
      if (!p.recheck && signal.impact.score >= policy.recheckMinImpact) toRecheck.push(p);
    }
    if (outcome.change === 'none') continue;
    let alert = outcome.alert;
    const storm = signal.kind !== 'opportunity' && !alert.stormId && alert.severity !== 'critical' ? openStormFor(ctx, p, signal.topic, storms) : undefined;
    if (storm) {
      alert = { ...alert, stormId: storm.id };
      joinedStorms.set(storm.id, (joinedStorms.get(storm.id) ?? 0) + 1);
    }
    book.change(alert, outcome.change === 'triggered' ? 'triggered' : 'updated', signal.fingerprint, generation);
  }
  return { book, members, toRecheck, joinedStorms };
}

/** Step: each storm counts the single-post alerts that joined it on this page. Changes: those storm alerts. */
export function countStormJoins(ctx: PageContext, joinedStorms: ReadonlyMap<string, number>, read: { book: AlertBook }): { book: AlertBook } {
  const book = read.book.fork();
  for (const [stormId, n] of joinedStorms) {
    const storm: Alert | undefined = book.get(stormId);
    if (!storm?.storm) continue;
    const fp = storm.fingerprint;
    const next = { ...storm, storm: { ...storm.storm, joinedAlerts: storm.storm.joinedAlerts + n }, updatedAt: ctx.at, version: storm.version + (book.changed(stormId) ? 0 : 1) };
    book.change(next, 'updated', fp, book.target(fp).generation);
  }
  return { book };
}
