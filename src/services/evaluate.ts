import type { Judgement } from '../analysis/judgement';
import type { Config, ResolvedBrand } from '../config/load';
import type { Alert, AlertEvent, AlertPost, StormSummary } from '../domain/alert';
import { addPost, caseKeysOfPost, findCase, followUp, recoveryCandidates, settleRecovery, type Case, type CasePost } from '../domain/cases';
import { RepwatchError } from '../domain/errors';
import { authorKeyOf, fingerprintOf, stormFingerprintOf } from '../domain/fingerprint';
import { impactOf, type EngagementSample } from '../domain/impact';
import { mentionKey, type Mention } from '../domain/mention';
import { applySignal, evaluatePost, isThreat, type BrandRef, type PostSignal } from '../domain/policy';
import { DEFAULT_STORM_SETTINGS, observe, topTerms, type StormSettings, type StormTracker, type StormTransition, type TermCount } from '../domain/storms';
import { DEFAULT_TERM_CLUSTER_SETTINGS, clusterOf, clusterTopic, observeTerms, type TermCluster } from '../domain/term-clusters';
import { brandWords, contentTerms, topicOf } from '../domain/terms';
import type { Logger } from '../logger';
import type { CaseIndex } from '../store/case-index';
import type { Locks } from '../store/lock';
import { withEventId, type EventInput, type Store } from '../store/store';
import { caseSettingsOf, casesReachedBy, saveCases } from './cases';
import { planDeliveries } from './notify';
import type { Dispatch } from './ports';

/** What the policy services (evaluate, ingest, lifecycle) work with. */
export interface EvaluateDeps {
  config: Config;
  store: Store;
  dispatch: Dispatch;
  locks: Locks;
  caseIndex: CaseIndex;
  now: () => number;
  logger: Logger;
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

/** The brand-wide storm tracker's topic; configured topics have their own trackers. */
export const ALL_TOPICS = 'all';

/** A term cluster's storm topic key: one per cluster, so a later cluster of the same terms is a new storm. */
const clusterKey = (c: TermCluster) => `cluster/${c.id}`;

export function stormSettingsOf(policy: ResolvedBrand['effectivePolicy']): StormSettings {
  const s = policy.storms;
  return {
    ...DEFAULT_STORM_SETTINGS,
    ...(s.bucket !== undefined ? { bucketMs: s.bucket } : {}),
    ...(s.k !== undefined ? { k: s.k } : {}),
    ...(s.minCount !== undefined ? { minCount: s.minCount } : {}),
    ...(s.minShare !== undefined ? { minShare: s.minShare } : {}),
    ...(s.cooldown !== undefined ? { cooldownMs: s.cooldown } : {}),
    ...(s.climbBuckets !== undefined ? { climbBuckets: s.climbBuckets } : {}),
  };
}

interface JudgedPost extends EvaluateItem {
  postKey: string;
  topic: string;
  threat: boolean;
  signal: PostSignal | null;
  /** Post time (ms): storms are counted on the posts' own timeline. */
  at: number;
}

/** What a page decided under the brand's lock, to be handed on after it. */
interface Decided {
  events: AlertEvent[];
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
export async function evaluatePage(deps: EvaluateDeps, brandId: string, items: EvaluateItem[], sourceId?: string): Promise<EvaluateOutcome> {
  const brand = deps.config.brands.find((b) => b.id === brandId);
  if (!brand) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no brand "${brandId}" (config changed?)`);
  if (items.length === 0) return { alerts: 0, newEvents: 0, deliveries: 0, stormsStarted: 0 };
  const decided = await deps.locks.withLock(`brand:${brand.id}`, () => evaluateLocked(deps, brand, items));
  const { events, newEvents, alerts, toRecheck, stormsStarted } = decided;
  const policy = brand.effectivePolicy;
  // Deliveries by route, SLA timers for critical alerts.
  const requests = await planDeliveries(deps, events);
  if (requests.length) await deps.dispatch.deliver(requests);
  for (const alert of alerts) {
    if (alert.slaDeadline && alert.status === 'triggered' && !alert.escalatedAt) await deps.dispatch.slaTimer(alert.id, Date.parse(alert.slaDeadline));
  }
  // High-impact posts are measured again, so their projected reach follows the engagement curve.
  if (sourceId && policy.engagementRechecks.length) {
    for (const p of toRecheck) await deps.dispatch.recheck({ brandId: brand.id, sourceId, postKey: p.postKey, round: 0 }, p.ingestedAt + policy.engagementRechecks[0]);
  }
  if (newEvents) deps.logger.info({ brand: brand.id, events: newEvents, storms: stormsStarted }, 'alert stream updated');
  return { alerts: alerts.length, newEvents, deliveries: requests.length, stormsStarted };
}

async function evaluateLocked(deps: EvaluateDeps, brand: ResolvedBrand, items: EvaluateItem[]): Promise<Decided> {
  const { store } = deps;
  const now = deps.now();
  const at = new Date(now).toISOString();
  const policy = brand.effectivePolicy;
  const brandRef: BrandRef = { id: brand.id, name: brand.name, policy };
  const excluded = brandWords(brand.keywords, brand.handles);

  const posts: JudgedPost[] = items.map((item) => {
    const topic = topicOf(item.mention.text, brand.topics);
    const created = Date.parse(item.mention.createdAt);
    return {
      ...item,
      postKey: mentionKey(item.mention),
      topic,
      threat: isThreat(item.judgement, policy),
      signal: evaluatePost(brandRef, item.mention, item.judgement, { topic, ingestedAt: item.ingestedAt, samples: item.samples }),
      // A post dated in the future (a skewed clock) would hold a storm tracker's clock back: clamp it.
      at: Number.isFinite(created) ? Math.min(created, item.ingestedAt + 60_000) : item.ingestedAt,
    };
  });

  // Everything this page may touch, read in a few round trips.
  const topics = [ALL_TOPICS, ...Object.keys(brand.topics)];
  const stormKey = (topic: string) => `${brand.id}/${topic}`;
  const stormFps = new Map(topics.map((t) => [t, stormFingerprintOf(brand.id, t)]));
  // A post on no particular topic by an author with an open alert on a topic joins that alert
  // ("Update: still no answer" belongs with the complaint it follows).
  const topicFingerprints = (p: JudgedPost) =>
    p.signal && p.signal.scope === 'author' && p.topic === 'general'
      ? Object.keys(brand.topics).map((t) => ({ topic: t, fp: fingerprintOf(brand.id, p.mention, t, p.signal!.kind === 'opportunity' ? 'opportunity' : 'threat').value }))
      : [];
  // A recheck is the same post again: its case has it already (and a resolved case must not restart).
  const casePosts = posts.filter((p) => !p.recheck);
  const [trackers, heads, storedCases, storedClusters] = await Promise.all([
    store.getStormTrackers(topics.map(stormKey)),
    store.alertHeads([...stormFps.values(), ...posts.flatMap((p) => (p.signal ? [p.signal.fingerprint, ...topicFingerprints(p).map((c) => c.fp)] : []))]),
    casesReachedBy(deps, brand, casePosts.flatMap((p) => caseKeysOfPost({ ...p.mention, handle: p.mention.author.handle })), now),
    store.getTermClusters(brand.id),
  ]);
  const knownTrackers = new Set(trackers.keys());
  // Open term clusters are storm topics too (found, not configured); their alerts' heads are read
  // only while some are open.
  const stormTopics = [...topics];
  const addClusterTopic = (c: TermCluster) => {
    const key = clusterKey(c);
    if (!stormFps.has(key)) {
      stormFps.set(key, stormFingerprintOf(brand.id, key));
      stormTopics.push(key);
    }
    return key;
  };
  const openClusterFps = (storedClusters?.clusters ?? []).map((c) => stormFps.get(addClusterTopic(c))!);
  if (openClusterFps.length) for (const [fp, head] of await store.alertHeads(openClusterFps)) heads.set(fp, head);
  const stored = await store.getAlerts([...heads.values()].map((h) => h.alertId));
  const isOpen = (fp: string) => {
    const head = heads.get(fp);
    const alert = head ? stored.get(head.alertId) : undefined;
    return !!alert && alert.status !== 'resolved';
  };
  for (const p of posts) {
    if (!p.signal || isOpen(p.signal.fingerprint)) continue;
    const joined = topicFingerprints(p).find((c) => isOpen(c.fp));
    if (joined) p.signal = { ...p.signal, fingerprint: joined.fp, topic: joined.topic };
  }
  const working = new Map<string, Alert>();
  const firstChange = new Map<string, 'triggered' | 'updated' | 'storm'>();
  const newHeads = new Map<string, { fingerprint: string; alertId: string; generation: number }>();

  /** The alert a fingerprint's posts go to now: the open one, or the id of the next one. */
  const target = (fp: string): { alert?: Alert; id: string; generation: number } => {
    const head = newHeads.get(fp) ?? heads.get(fp);
    if (!head) return { id: fp, generation: 1 };
    const alert = working.get(head.alertId) ?? stored.get(head.alertId);
    if (alert && alert.status !== 'resolved') return { alert, id: alert.id, generation: head.generation };
    if (!alert && newHeads.has(fp)) return { id: head.alertId, generation: head.generation };
    return { id: `${fp}~${head.generation + 1}`, generation: head.generation + 1 };
  };
  const change = (alert: Alert, kind: 'triggered' | 'updated' | 'storm', fp: string, generation: number) => {
    working.set(alert.id, alert);
    if (!firstChange.has(alert.id)) firstChange.set(alert.id, kind);
    if (!heads.has(fp) || heads.get(fp)!.alertId !== alert.id) newHeads.set(fp, { fingerprint: fp, alertId: alert.id, generation });
  };

  // 1. Storms, on the posts' own timeline; only posts stored for the first time are counted.
  const fresh = posts.filter((p) => p.isNew);
  const settings = stormSettingsOf(policy);
  const changedTrackers = new Map<string, StormTracker>();
  let stormsStarted = 0;
  // The storm alert already open for this brand under another topic, if any: one pile-on is one
  // storm, whether the brand-wide tracker or a topic's tracker noticed it first.
  const otherOpenStorm = (topic: string): { alert: Alert; topic: string } | undefined => {
    for (const t of stormTopics) {
      if (t === topic) continue;
      const found = target(stormFps.get(t)!).alert;
      if (found?.kind === 'storm' && !found.storm?.endedAt) return { alert: found, topic: found.topic ?? t };
    }
    return undefined;
  };
  /** A tracker's transition to the storm alert of its topic, or folded into the brand's open storm. */
  const applyStorm = (topicKey: string, label: string, t: StormTransition, liveTerms: TermCount[], negatives: JudgedPost[], foldedCountsNothing = false) => {
    let fp = stormFps.get(topicKey)!;
    let { alert, id, generation } = target(fp);
    let transition = t;
    let alertTopic = label;
    let terms = liveTerms;
    if (!alert || alert.storm?.endedAt) {
      const other = otherOpenStorm(topicKey);
      if (other) {
        // Fold into the open storm: a start becomes more posts for it; an end of this tracker is not its end.
        if (t.type === 'ended') return;
        // (A term cluster's posts are negatives the brand's own tracker has counted already.)
        transition = { type: 'continued', at: t.at, negative: foldedCountsNothing ? 0 : t.type === 'started' ? t.figures.negative : t.negative };
        alert = other.alert;
        fp = other.alert.fingerprint;
        id = other.alert.id;
        generation = target(fp).generation;
        alertTopic = other.topic;
        // The open storm keeps its terms and takes in this tracker's.
        terms = mergeTerms(other.alert.storm?.topTerms ?? [], liveTerms);
      }
    }
    const next = stormAlert(brandRef, alertTopic, alert, id, fp, transition, terms, negatives, now);
    if (!next) return;
    if (transition.type === 'started' && (!alert || alert.storm?.endedAt)) stormsStarted++;
    change(next, transition.type === 'started' && !alert ? 'storm' : 'updated', fp, generation);
  };
  const termsCache = new Map<string, string[]>();
  const termsOf = (p: JudgedPost) => {
    let terms = termsCache.get(p.postKey);
    if (!terms) termsCache.set(p.postKey, (terms = contentTerms(p.mention.text, excluded)));
    return terms;
  };
  for (const topic of topics) {
    if (fresh.length === 0) break;
    // Every tracker sees every post, so its clock and baseline move on even when its topic is
    // quiet; only its topic's negative posts count as negative for it.
    const inTopic = (p: JudgedPost) => topic === ALL_TOPICS || p.topic === topic;
    const { tracker, transitions } = observe(
      trackers.get(stormKey(topic)),
      fresh.map((p) => ({ at: p.at, negative: p.threat && inTopic(p), terms: p.threat && inTopic(p) ? termsOf(p) : [] })),
      settings,
    );
    trackers.set(stormKey(topic), tracker);
    changedTrackers.set(stormKey(topic), tracker);
    const negatives = fresh.filter((p) => p.threat && inTopic(p));
    for (const t of transitions) applyStorm(topic, topic, t, tracker.storm ? topTerms(tracker, 8) : [], negatives);
  }
  // Term clusters: a pile-on about something no configured topic names ('app', 'storing').
  const threats = fresh.filter((p) => p.threat);
  const observed = threats.length
    ? observeTerms(storedClusters, threats.map((p) => ({ at: p.at, terms: termsOf(p) })), { ...DEFAULT_TERM_CLUSTER_SETTINGS, bucketMs: settings.bucketMs, cooldownMs: settings.cooldownMs })
    : undefined;
  const clusters = observed?.tracker ?? storedClusters;
  for (const t of observed?.transitions ?? []) {
    const cluster = t.type === 'started' ? t.cluster : [...clusters!.clusters, ...(storedClusters?.clusters ?? [])].find((c) => c.id === t.clusterId);
    if (!cluster) continue;
    const key = addClusterTopic(cluster);
    const inCluster = threats.filter((p) => clusterOf(clusters, termsOf(p))?.id === cluster.id);
    const live = t.type === 'ended' ? [] : cluster.terms.map((term) => ({ term, count: clusters!.terms.find((x) => x.term === term)?.count ?? 0 }));
    const transition: StormTransition =
      t.type === 'started'
        ? { type: 'started', at: t.at, trigger: 'spike', because: cluster.because, figures: { negative: cluster.posts, total: fresh.length, share: threats.length / fresh.length, baselineMean: 0, baselineShare: 0, threshold: 0 } }
        : t.type === 'grew'
          ? { type: 'continued', at: t.at, negative: inCluster.length }
          : { type: 'ended', at: t.at, because: t.because };
    applyStorm(key, clusterTopic(cluster), transition, live, inCluster, true);
  }
  /** The storm a post joins: its term cluster's, its topic's, else the brand's, else any open one of the brand. */
  const openStorm = (topic: string, p: JudgedPost): Alert | undefined => {
    const cluster = clusters?.clusters.length ? clusterOf(clusters, termsOf(p)) : undefined;
    const candidates = [...(cluster ? [clusterKey(cluster)] : []), ...(topic === 'general' ? [ALL_TOPICS] : [topic, ALL_TOPICS])];
    if (!cluster && !candidates.some((t) => trackers.get(stormKey(t))?.storm)) return undefined;
    for (const t of [...candidates, ...stormTopics]) {
      const fp = stormFps.get(t);
      const found = fp ? target(fp).alert : undefined;
      if (found?.kind === 'storm' && !found.storm?.endedAt) return found;
    }
    return undefined;
  };

  // 2. Posts to their alerts. Membership is checked before anything is written, so a retried
  //    page counts no post twice.
  const signalled = posts.filter((p) => p.signal);
  const memberKey = (p: JudgedPost) => `${target(p.signal!.fingerprint).id}|${p.postKey}`;
  const known = await store.knownMembers(signalled.map(memberKey));
  const members: { alertId: string; postKey: string }[] = [];
  const joined = new Map<string, number>();
  const toRecheck: JudgedPost[] = [];
  for (const p of signalled) {
    const signal = p.signal!;
    const { alert: existing, id, generation } = target(signal.fingerprint);
    if (p.recheck && !existing) continue;
    const key = `${id}|${p.postKey}`;
    const newMember = !known.has(key) && !members.some((m) => `${m.alertId}|${m.postKey}` === key);
    const outcome = applySignal(brandRef, existing, id, signal, newMember, now);
    if (newMember) members.push({ alertId: id, postKey: p.postKey });
    if (newMember && !p.recheck && signal.impact.score >= policy.recheckMinImpact) toRecheck.push(p);
    if (outcome.change === 'none') continue;
    let alert = outcome.alert;
    // While a storm is open, single-post threats join it instead of paging on their own;
    // a critical one still pages (an influencer inside a storm is the first thing to answer).
    const storm = signal.kind !== 'opportunity' && !alert.stormId && alert.severity !== 'critical' ? openStorm(signal.topic, p) : undefined;
    if (storm) {
      alert = { ...alert, stormId: storm.id };
      joined.set(storm.id, (joined.get(storm.id) ?? 0) + 1);
    }
    change(alert, outcome.change === 'triggered' ? 'triggered' : 'updated', signal.fingerprint, generation);
  }
  for (const [stormId, n] of joined) {
    const storm = working.get(stormId) ?? stored.get(stormId);
    if (!storm?.storm) continue;
    const fp = storm.fingerprint;
    change({ ...storm, storm: { ...storm.storm, joinedAlerts: storm.storm.joinedAlerts + n }, updatedAt: at, version: storm.version + (working.has(stormId) ? 0 : 1) }, 'updated', fp, target(fp).generation);
  }

  // 3. Cases: an author's posts across platforms and a conversation's replies, and recovery after resolution.
  const caseSettings = caseSettingsOf(policy);
  const cases = [...storedCases.values()];
  const changedCases = new Map<string, Case>();
  const put = (c: Case) => {
    changedCases.set(c.id, c);
    const i = cases.findIndex((x) => x.id === c.id);
    if (i >= 0) cases[i] = c;
    else cases.push(c);
  };
  for (const c of cases) {
    const settled = settleRecovery(c, now);
    if (settled !== c && JSON.stringify(settled) !== JSON.stringify(c)) put(settled);
  }
  for (const p of casePosts) {
    const alertId = p.signal && p.signal.kind !== 'opportunity' ? target(p.signal.fingerprint).id : undefined;
    const post: CasePost = {
      platform: p.mention.platform,
      postId: p.mention.postId,
      authorId: p.mention.author.id,
      handle: p.mention.author.handle,
      conversationId: p.mention.conversationId,
      at: now,
      sentiment: p.judgement.sentiment.label,
      score: p.judgement.sentiment.score,
      alertId,
    };
    const open = findCase(cases, brand.id, post, caseSettings);
    if (alertId || open) {
      const c = addPost(open, brand.id, post, caseSettings);
      put(c);
      const alert = alertId ? working.get(alertId) : undefined;
      if (alert && !alert.caseId) working.set(alert.id, { ...alert, caseId: c.id });
    }
    const watched = recoveryCandidates(cases, brand.id, post);
    if (watched && watched.id !== open?.id) put(followUp(watched, post));
  }

  // 4. Write: events first (deterministic ids), then the alerts, heads, members, cases, trackers.
  const changes: EventInput[] = [...working.values()].map((alert) => {
    const kind = firstChange.get(alert.id);
    return withEventId({ type: kind === 'storm' ? 'storm.started' : kind === 'triggered' ? 'alert.triggered' : 'alert.updated', alert, at });
  });
  const { events, newEvents } = await store.appendEvents(changes);
  // Each write is one round trip or a few, and the server may be busy with another page's
  // mentions: they go out together rather than one after the other.
  await Promise.all([
    store.saveAlerts(changes.map((c) => c.alert), new Set(stored.keys())),
    store.setAlertHeads([...newHeads.values()], new Set(heads.keys())),
    store.addMembers(members),
    saveCases(deps, brand, [...changedCases.values()], now, new Set(storedCases.keys())),
    store.saveStormTrackers(changedTrackers, knownTrackers),
    observed ? store.saveTermClusters(brand.id, observed.tracker, !!storedClusters) : undefined,
  ]);
  return { events, newEvents, alerts: [...working.values()], toRecheck, stormsStarted };
}

/** Two term lists as one: counts added per term, the 8 largest kept. */
function mergeTerms(a: TermCount[], b: TermCount[]): TermCount[] {
  const sum = new Map<string, number>();
  for (const { term, count } of [...a, ...b]) sum.set(term, (sum.get(term) ?? 0) + count);
  return [...sum].map(([term, count]) => ({ term, count })).sort((x, y) => y.count - x.count || (x.term < y.term ? -1 : 1)).slice(0, 8);
}

const STORM_TOP_POSTS = 5;
const STORM_TOP_AUTHORS = 5;

function impactFor(p: JudgedPost, policy: BrandRef['policy']): number {
  if (p.signal) return p.signal.impact.score;
  return impactOf({
    judgement: p.judgement,
    author: p.mention.author,
    engagement: p.mention.engagement,
    createdAt: p.at,
    platformWeight: policy.platformWeights[p.mention.platform] ?? 1,
    complaintsAreNegative: policy.complaintsAreNegative,
  }).score;
}

function leadPost(p: JudgedPost): AlertPost {
  const { mention: m, judgement: j } = p;
  return {
    platform: m.platform,
    postId: m.postId,
    url: m.url,
    text: m.text,
    lang: j.lang,
    createdAt: m.createdAt,
    ingestedAt: new Date(p.ingestedAt).toISOString(),
    author: { id: m.author.id, handle: m.author.handle, name: m.author.name, followers: m.author.followers, verified: m.author.verified },
    sentiment: { label: j.sentiment.label, score: j.sentiment.score },
    complaint: { label: j.complaint.label, score: j.complaint.score },
    evidence: j.evidence,
    engagement: { ...m.engagement },
  };
}

/** The storm alert after a transition: its summary (top terms, posts, authors) grows with each page. */
function stormAlert(
  brand: BrandRef,
  topic: string,
  existing: Alert | undefined,
  id: string,
  fingerprint: string,
  t: StormTransition,
  /** The storm's terms while it is open (empty once it ended: the alert keeps its last ones). */
  liveTerms: TermCount[],
  negatives: JudgedPost[],
  now: number,
): Alert | null {
  const at = new Date(now).toISOString();
  if (!existing && t.type !== 'started') return null;
  const prior: StormSummary = existing?.storm ?? { trigger: 'spike', because: '', topTerms: [], topPosts: [], topAuthors: [], negativePosts: 0, joinedAlerts: 0 };
  const scored = negatives.map((p) => ({ p, impact: impactFor(p, brand.policy) }));
  const topPosts = [
    ...prior.topPosts.filter((tp) => !negatives.some((n) => n.mention.platform === tp.platform && n.mention.postId === tp.postId)),
    ...scored.map(({ p, impact }) => ({ platform: p.mention.platform, postId: p.mention.postId, url: p.mention.url, text: p.mention.text.slice(0, 280), handle: p.mention.author.handle, followers: p.mention.author.followers, impact })),
  ]
    .sort((a, b) => b.impact - a.impact)
    .slice(0, STORM_TOP_POSTS);
  const authors = new Map(prior.topAuthors.map((a) => [authorKeyOf(a.handle), { ...a }]));
  for (const { mention } of negatives) {
    const key = authorKeyOf(mention.author.handle);
    const a = authors.get(key) ?? { handle: mention.author.handle, followers: mention.author.followers, posts: 0 };
    a.posts++;
    authors.set(key, a);
  }
  const topAuthors = [...authors.values()].sort((a, b) => b.posts - a.posts || b.followers - a.followers).slice(0, STORM_TOP_AUTHORS);
  const terms8 = liveTerms;
  const summary: StormSummary = {
    ...prior,
    topTerms: terms8.length ? terms8 : prior.topTerms,
    topPosts,
    topAuthors,
    negativePosts: prior.negativePosts + (t.type === 'continued' ? t.negative : 0),
  };
  if (t.type === 'started') {
    summary.trigger = t.trigger;
    summary.because = t.because;
    summary.negativePosts = prior.negativePosts + t.figures.negative;
    delete summary.endedAt;
  }
  if (t.type === 'ended') summary.endedAt = at;

  const best = scored.sort((a, b) => b.impact - a.impact)[0]?.p;
  const post = best && (!existing || (topPosts[0] && topPosts[0].postId === best.mention.postId)) ? leadPost(best) : existing?.post;
  if (!post) return null;
  const where = topic === ALL_TOPICS ? brand.name : `${brand.name} (${topic})`;
  const terms = summary.topTerms.slice(0, 5).map((x) => `'${x.term}'`).join(', ');
  const title = `Storm: ${summary.negativePosts} negative posts about ${where}${summary.endedAt ? ' (calmed down)' : ''}`;
  const reason =
    `Storm (${summary.trigger === 'climb' ? 'slow climb' : 'sudden spike'}) about ${where}: ${summary.because}` +
    (terms ? `; top terms ${terms}` : '') +
    (topAuthors.length ? `; most active ${topAuthors.slice(0, 3).map((a) => `@${a.handle} (${a.posts})`).join(', ')}` : '') +
    (summary.joinedAlerts ? `; ${summary.joinedAlerts} single-post alerts grouped into it` : '') +
    '.';
  const leadImpact = topPosts[0]?.impact ?? 0;
  const base = existing ?? {
    id,
    fingerprint,
    brandId: brand.id,
    brandName: brand.name,
    kind: 'storm' as const,
    severity: 'high' as const,
    status: 'triggered' as const,
    topic,
    count: 0,
    createdAt: at,
    version: 0,
  };
  return {
    ...base,
    title,
    reason,
    post,
    impact: { negativity: 1, complaint: 0, reach: 0, engagement: 0, velocity: 0, projectedReach: topPosts.reduce((n, tp) => n + tp.followers, 0), score: leadImpact },
    count: summary.negativePosts,
    storm: summary,
    updatedAt: at,
    version: base.version + 1,
  };
}
