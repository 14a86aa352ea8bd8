import type { Judgement } from '../analysis/judgement';
import type { Config, ResolvedBrand } from '../config/load';
import type { Alert, AlertEvent } from '../domain/alert';
import { caseKeysOfPost, type Case } from '../domain/cases';
import { RepwatchError } from '../domain/errors';
import type { EngagementSample } from '../domain/impact';
import type { Mention } from '../domain/mention';
import {
  AlertBook,
  countStormJoins,
  fileUnderAlerts,
  followRecovery,
  gatherCases,
  joinOpenTopicAlerts,
  judgePosts,
  observeStorms,
  observeTermClusters,
  pageContext,
  pageEvents,
  stormKeyOf,
  stormTopicsOf,
  type AlertHead,
  type CountedPosts,
  type JudgedPost,
  type Membership,
  type PageBrand,
  type PageEvent,
  type StormTopics,
} from '../domain/page-steps';
import type { StormTracker } from '../domain/storms';
import type { TermClusterTracker } from '../domain/term-clusters';
import type { Logger } from '../logger';
import type { CaseIndex } from '../store/case-index';
import type { HandedOnMemory } from '../store/handed-on';
import type { HeldLock, Locks } from '../store/lock';
import { countedPosts, membershipDocs } from '../store/memberships';
import type { PageOverlaps } from '../store/page-overlaps';
import { copyOfHead, withEventId, type Store } from '../store/store';
import { caseIdsReachedBy, caseSettingsOf, indexCases } from './cases';
import { handOnEvents } from './outbox';
import type { Dispatch } from './ports';

export { ALL_TOPICS, stormSettingsOf } from '../domain/page-steps';

/** What the policy services (evaluate, ingest, lifecycle) work with. */
export interface EvaluateDeps {
  config: Config;
  store: Store;
  dispatch: Dispatch;
  locks: Locks;
  caseIndex: CaseIndex;
  now: () => number;
  logger: Logger;
  /** Events this process handed on (see HandedOnMemory): the outbox reads fewer back. */
  handedOn?: HandedOnMemory;
  /** Pages that found posts stored already (see PageOverlaps): without it, a post a page stored first is taken to be counted nowhere yet. */
  pageOverlaps?: PageOverlaps;
}

export interface EvaluateOptions {
  /**
   * Asked under the brand's lock: whether another page may have counted this page's new posts
   * already (it found them stored and took the lock first). Then their memberships and cases are
   * read like those of posts seen before. Absent: they are not.
   */
  newPostsMaybeCounted?: () => Promise<boolean>;
}

export interface EvaluateItem {
  mention: Mention;
  judgement: Judgement;
  /** Stored for the first time by this page (storm counts only count a post once). */
  isNew: boolean;
  ingestedAt: number;
  /** Engagement measured again since the post was first seen. */
  samples?: EngagementSample[];
  /** A recheck of a post seen before: it updates the post's open alert and never starts one. */
  recheck?: boolean;
}

export interface EvaluateOutcome {
  /** Alerts triggered or updated (storms included). */
  alerts: number;
  newEvents: number;
  deliveries: number;
  /** Storms started by this page. */
  stormsStarted: number;
}

/** What a page decided under the brand's lock, to be handed on after it. */
interface Decided {
  events: AlertEvent[];
  /** The latest event of each alert the page changed, as it was before the page (the outbox checks it was handed on). */
  priorEventIds: string[];
  newEvents: number;
  alerts: Alert[];
  toRecheck: JudgedPost[];
  stormsStarted: number;
}

/**
 * The policy step of a page: storms, alerts by fingerprint, cases and recovery, then the alert
 * stream and the deliveries. One brand's pages take turns (a Redis lock) while storm trackers,
 * cases and alerts are read, changed and written back; deliveries and timers are handed on after
 * the lock is released. Safe to repeat: events have deterministic ids, a post is counted in an
 * alert once (alert members), storm counts take only newly stored posts.
 */
export async function evaluatePage(deps: EvaluateDeps, brandId: string, items: EvaluateItem[], sourceId?: string, options: EvaluateOptions = {}): Promise<EvaluateOutcome> {
  const brand = deps.config.brands.find((b) => b.id === brandId);
  if (!brand) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no brand "${brandId}" (config changed?)`);
  if (items.length === 0) return { alerts: 0, newEvents: 0, deliveries: 0, stormsStarted: 0 };
  const decided = await deps.locks.withLock(`brand:${brand.id}`, (held) => evaluateLocked(deps, brand, items, held, options));
  const { events, newEvents, alerts, toRecheck, stormsStarted, priorEventIds } = decided;
  const policy = brand.effectivePolicy;
  // Deliveries by route, SLA timers for critical alerts: the outbox plans them from the events still marked undelivered.
  const deliveries = await handOnEvents(deps, events, { priorEventIds });
  for (const alert of alerts) {
    if (alert.slaDeadline && alert.status === 'triggered' && !alert.escalatedAt) await deps.dispatch.slaTimer(alert.id, Date.parse(alert.slaDeadline));
  }
  // High-impact posts are measured again, so their projected reach follows the engagement curve.
  if (sourceId && policy.engagementRechecks.length) {
    for (const p of toRecheck) await deps.dispatch.recheck({ brandId: brand.id, sourceId, postKey: p.postKey, round: 0 }, p.ingestedAt + policy.engagementRechecks[0]);
  }
  if (newEvents) deps.logger.info({ brand: brand.id, events: newEvents, storms: stormsStarted }, 'alert stream updated');
  return { alerts: alerts.length, newEvents, deliveries, stormsStarted };
}

/** What the pure page steps need of a configured brand. */
export function pageBrandOf(brand: ResolvedBrand): PageBrand {
  return { id: brand.id, name: brand.name, policy: brand.effectivePolicy, topics: brand.topics, keywords: brand.keywords, handles: brand.handles };
}

/**
 * The page under the brand's lock: one read step, the pure steps (src/domain/page-steps), one
 * write step. Each step's result names what it changed; only the write step writes.
 */
async function evaluateLocked(deps: EvaluateDeps, brand: ResolvedBrand, items: EvaluateItem[], held: HeldLock, options: EvaluateOptions): Promise<Decided> {
  const pageBrand = pageBrandOf(brand);
  const ctx = pageContext(pageBrand, deps.now());
  const judged = judgePosts(pageBrand, items);
  const newMaybeCounted = items.some((i) => i.isNew) && !!(await options.newPostsMaybeCounted?.());
  const read = await readPage(deps, brand, judged, ctx.now, newMaybeCounted);

  const posts = joinOpenTopicAlerts(pageBrand, judged, read.book);
  const storms = observeStorms(ctx, posts, read);
  const clusters = observeTermClusters(ctx, posts, { clusters: read.clusters, stormTopics: read.stormTopics, book: storms.book });
  const filed = fileUnderAlerts(ctx, posts, { counted: read.counted, book: clusters.book, trackers: storms.trackers, clusters: clusters.clusters, stormTopics: clusters.stormTopics });
  const joins = countStormJoins(ctx, filed.joinedStorms, filed);
  const caseSettings = caseSettingsOf(brand.effectivePolicy);
  const cases = gatherCases(ctx, posts, caseSettings, { cases: [...read.cases.values()], book: joins.book, postCases: read.postCases });
  const recovery = followRecovery(ctx, posts, { ...cases, book: cases.book, postCases: read.postCases });
  const events = pageEvents(ctx, cases.book);

  await held.confirm();
  const written = await writePage(deps, brand, ctx.now, {
    events,
    book: cases.book,
    members: filed.members,
    cases: [...recovery.changed.values()],
    postCases: recovery.recorded,
    trackers: storms.changedTrackers,
    clusters: clusters.observed,
    storedState: read.storedState,
  });
  const priorEventIds = [...new Set(events.map((e) => read.book.asRead(e.alert.id)?.lastEventId).filter((id): id is string => !!id))];
  return { ...written, priorEventIds, alerts: events.map((e) => e.alert), toRecheck: filed.toRecheck, stormsStarted: storms.stormsStarted + clusters.stormsStarted };
}

/** Everything a page may touch, read in a few round trips. */
interface PageRead {
  trackers: Map<string, StormTracker>;
  clusters?: TermClusterTracker;
  /** Storm topics: configured ones and the open term clusters. */
  stormTopics: StormTopics;
  /** Heads and alerts of the storm fingerprints and of every fingerprint a post may go to. */
  book: AlertBook;
  cases: Map<string, Case>;
  /** The cases each post stored before this page is in already (by post key). */
  postCases: Map<string, string[]>;
  /** Which of the page's posts were counted already, under which of their fingerprints. */
  counted: CountedPosts;
  /** The page-state documents found (heads, trackers): written back as replacements. */
  storedState: Set<string>;
}

/**
 * The storm fingerprints of each brand's open term clusters as this process last read them: asked
 * for with the rest of the page state, they usually save the read of their heads that follows.
 * Only a hint: a cluster missing from it is read after, one that closed is asked for in vain.
 */
const clusterFingerprintHints = new Map<string, string[]>();

/**
 * Read step, one MongoDB round trip: the brand's page state (storm trackers, term clusters, the
 * heads of every fingerprint the page may touch with a copy of their alerts, the cases its posts
 * reach). One more for the memberships of signalling posts seen before, or for alerts whose head
 * has no copy; another when a term cluster opened since the hint.
 */
async function readPage(deps: EvaluateDeps, brand: ResolvedBrand, posts: JudgedPost[], now: number, newMaybeCounted = false): Promise<PageRead> {
  const { store } = deps;
  const configured = stormTopicsOf(brand, []);
  const fingerprints = new Set([...configured.values(), ...(clusterFingerprintHints.get(brand.id) ?? []), ...posts.flatMap((p) => p.fingerprints)]);
  // A recheck is the same post again: its case has it already.
  const caseKeys = posts.filter((p) => !p.recheck).flatMap((p) => caseKeysOfPost({ ...p.mention, handle: p.mention.author.handle }));
  // The cases the posts reach are named by the case index (Redis), then read with the rest.
  const caseIds = await caseIdsReachedBy(deps, brand, caseKeys, now);
  // A post stored for the first time by this page is in no case yet (unless another page went
  // first, newMaybeCounted); one stored before may be (a retried page).
  const seenBefore = (p: JudgedPost) => !p.isNew || newMaybeCounted;
  const postKeys = caseIds.length ? posts.filter((p) => !p.recheck && seenBefore(p)).map((p) => p.postKey) : [];
  const state = await store.readPageState(brand.id, { fingerprints: [...fingerprints], stormKeys: [...configured.keys()].map((t) => stormKeyOf(brand.id, t)), caseIds, postKeys });
  // Open term clusters are storm topics too (found, not configured): known only once their tracker is read.
  const stormTopics = stormTopicsOf(brand, state.clusters?.clusters ?? []);
  const clusterFps = [...stormTopics.values()].filter((fp) => !fingerprints.has(fp));
  clusterFingerprintHints.set(brand.id, [...stormTopics].filter(([topic]) => !configured.has(topic)).map(([, fp]) => fp));
  const heads: Map<string, AlertHead> = state.heads;
  const storedState = state.stored;
  if (clusterFps.length) {
    for (const [fp, head] of await store.alertHeads(clusterFps)) {
      heads.set(fp, head);
      storedState.add(fp);
    }
  }
  // A post stored for the first time by this page cannot be counted in any alert yet (memberships
  // are written after the post), unless another page went first: only those are looked up.
  const signalled = posts.filter((p) => p.signal && seenBefore(p));
  // The heads carry a copy of their alert: only heads without one send for theirs.
  const alerts = new Map<string, Alert>();
  for (const head of heads.values()) {
    const copy = copyOfHead(head);
    if (copy) alerts.set(copy.id, copy);
  }
  const uncopied = [...heads.values()].filter((h) => !alerts.has(h.alertId)).map((h) => h.alertId);
  const [fetched, counted] = await Promise.all([
    uncopied.length ? store.getAlerts(uncopied) : new Map<string, Alert>(),
    countedPosts(store, signalled.flatMap((p) => p.fingerprints.map((fp) => ({ fingerprint: fp, postKey: p.postKey, headAlertId: heads.get(fp)?.alertId })))),
  ]);
  for (const [id, alert] of fetched) alerts.set(id, alert);
  return { trackers: state.trackers, clusters: state.clusters, stormTopics, book: AlertBook.open(heads, alerts), cases: state.cases, postCases: state.postCases, counted, storedState };
}

/** What a page writes. */
interface PageWrite {
  events: PageEvent[];
  book: AlertBook;
  members: Membership[];
  cases: Case[];
  /** Post key → its cases, for posts added to a case by this page. */
  postCases: Map<string, string[]>;
  trackers: Map<string, StormTracker>;
  clusters?: TermClusterTracker;
  /** Page-state documents read before (heads, trackers, cases): replaced rather than inserted. */
  storedState: ReadonlySet<string>;
}

/** Write step: events first (deterministic ids, the outbox marker), then the alerts and the page state (heads with their alerts' copies, trackers, cases, memberships). */
async function writePage(deps: EvaluateDeps, brand: ResolvedBrand, now: number, w: PageWrite): Promise<{ events: AlertEvent[]; newEvents: number }> {
  const { store } = deps;
  const changes = w.events.map(withEventId);
  const { events, newEvents } = await store.appendEvents(changes);
  await indexCases(deps, brand, w.cases, now);
  // Each write is one round trip or a few, and the server may be busy with another page's
  // mentions: they go out together rather than one after the other.
  await Promise.all([
    store.saveAlerts(changes.map((c) => c.alert), w.book.storedAlertIds(), { headsWritten: true }),
    store.writePageState(brand.id, { heads: w.book.headWrites(), trackers: w.trackers, clusters: w.clusters, cases: w.cases, postCases: w.postCases, members: membershipDocs(w.members) }, w.storedState),
  ]);
  return { events, newEvents };
}
