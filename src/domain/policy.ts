import type { Judgement } from '../analysis/judgement';
import type { PolicyConfig, Severity } from '../config/schema';
import { SEVERITIES } from '../config/schema';
import type { Alert, AlertKind, AlertPost, ImpactBreakdown } from './alert';
import { fingerprintOf, type FingerprintScope } from './fingerprint';
import { impactOf, type EngagementSample } from './impact';
import type { Mention } from './mention';

export interface BrandRef {
  id: string;
  name: string;
  policy: PolicyConfig;
}

/** Severity for an audience of this size (followers, or projected reach), or null when too small to alert on. */
export function severityFor(audience: number, policy: Pick<PolicyConfig, 'criticalFollowers' | 'tiers'>): Severity | null {
  if (audience >= policy.criticalFollowers) return 'critical';
  const tiers = [...policy.tiers].sort((a, b) => b.minFollowers - a.minFollowers);
  return tiers.find((t) => audience >= t.minFollowers)?.severity ?? null;
}

/** true when `severity` is at least as serious as `min`. */
export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(min);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return atLeast(a, b) ? a : b;
}

/**
 * A negative post, or a complaint whose wording is not positive: polite complaints count, but a
 * story that ends well ("lost my card, sorted within the hour, brilliant service") is praise.
 */
export function isThreat(j: Judgement, policy: Pick<PolicyConfig, 'complaintsAreNegative'>): boolean {
  return j.sentiment.label === 'negative' || (policy.complaintsAreNegative && j.complaint.label && j.sentiment.label !== 'positive');
}

const fmt = (n: number) => n.toLocaleString('en-US');
const quoted = (words: readonly string[]) => words.slice(0, 4).map((w) => `'${w}'`).join(', ');

/** What one post says should be raised: the alert it belongs to and everything that explains it. */
export interface PostSignal {
  fingerprint: string;
  scope: FingerprintScope;
  kind: Exclude<AlertKind, 'storm'>;
  severity: Severity;
  topic: string;
  impact: ImpactBreakdown;
  /** Why, one clause per term, without the author (the alert's reason adds who and how many). */
  because: string[];
  post: AlertPost;
}

export interface PostContext {
  topic: string;
  ingestedAt: number;
  /** Engagement measured again after the post was first seen (rechecks). */
  samples?: readonly EngagementSample[];
}

function snapshot(mention: Mention, judgement: Judgement, ingestedAt: number, samples: readonly EngagementSample[]): AlertPost {
  const latest = samples.length ? [...samples].sort((a, b) => a.at - b.at)[samples.length - 1].engagement : mention.engagement;
  return {
    platform: mention.platform,
    postId: mention.postId,
    url: mention.url,
    text: mention.text,
    lang: judgement.lang,
    createdAt: mention.createdAt,
    ingestedAt: new Date(ingestedAt).toISOString(),
    author: { id: mention.author.id, handle: mention.author.handle, name: mention.author.name, followers: mention.author.followers, verified: mention.author.verified },
    sentiment: { label: judgement.sentiment.label, score: judgement.sentiment.score },
    complaint: { label: judgement.complaint.label, score: judgement.complaint.score },
    evidence: judgement.evidence,
    engagement: { ...latest },
  };
}

/**
 * Judges one post against the brand's policy. A negative post or complaint is a threat whose
 * severity comes from the larger of the author's followers and the post's projected reach, so a
 * small account's post that goes viral climbs the tiers as rechecks come in. A positive post from
 * a large account is an opportunity. Pure: no clock is needed.
 */
export function evaluatePost(brand: BrandRef, mention: Mention, judgement: Judgement, ctx: PostContext): PostSignal | null {
  const policy = brand.policy;
  const samples = ctx.samples ?? [];
  const createdAt = Date.parse(mention.createdAt);
  const platformWeight = policy.platformWeights[mention.platform] ?? 1;
  const base = {
    judgement,
    author: mention.author,
    engagement: mention.engagement,
    createdAt: Number.isFinite(createdAt) ? createdAt : ctx.ingestedAt,
    samples,
    platformWeight,
    complaintsAreNegative: policy.complaintsAreNegative,
  };
  const threat = isThreat(judgement, policy);
  if (threat) {
    const impact = impactOf(base);
    // Projected reach counts once engagement was measured again (rechecks): a single reading
    // says little about where a post is going.
    const followers = Math.round(Math.max(mention.author.followers, policy.platformAudience?.[mention.platform] ?? 0) * platformWeight);
    const audience = samples.length ? Math.max(followers, impact.projectedReach) : followers;
    const severity = severityFor(audience, policy);
    if (!severity) return null;
    const kind = judgement.complaint.label ? 'complaint' : 'negative-post';
    const because = [
      severity === 'critical'
        ? audience > followers
          ? `projected reach ${fmt(impact.projectedReach)} at or above the critical threshold of ${fmt(policy.criticalFollowers)}`
          : `account at or above the critical threshold of ${fmt(policy.criticalFollowers)} followers`
        : `${severity} tier (audience ${fmt(audience)})`,
      `impact ${impact.score} from negativity ${impact.negativity}${impact.complaint ? `, complaint ${impact.complaint}` : ''}, reach ${impact.reach}, engagement ${impact.engagement}, velocity ${impact.velocity}`,
    ];
    if (judgement.evidence.negative.length) because.push(`negative: ${quoted(judgement.evidence.negative)}`);
    if (judgement.complaint.label && judgement.evidence.complaint.length) because.push(`complaint: ${quoted(judgement.evidence.complaint)}`);
    const fp = fingerprintOf(brand.id, mention, ctx.topic, 'threat');
    return { fingerprint: fp.value, scope: fp.scope, kind, severity, topic: ctx.topic, impact, because, post: snapshot(mention, judgement, ctx.ingestedAt, samples) };
  }
  if (judgement.sentiment.label === 'positive' && mention.author.followers * platformWeight >= policy.opportunityFollowers) {
    const impact = impactOf({ ...base, polarity: 'positive' });
    const severity: Severity = mention.author.followers * platformWeight >= policy.criticalFollowers ? 'medium' : 'low';
    const because = [`positive post from an account with ${fmt(mention.author.followers)} followers (opportunity threshold ${fmt(policy.opportunityFollowers)})`];
    if (judgement.evidence.positive.length) because.push(`positive: ${quoted(judgement.evidence.positive)}`);
    const fp = fingerprintOf(brand.id, mention, ctx.topic, 'opportunity');
    return { fingerprint: fp.value, scope: fp.scope, kind: 'opportunity', severity, topic: ctx.topic, impact, because, post: snapshot(mention, judgement, ctx.ingestedAt, samples) };
  }
  return null;
}

const KIND_WORDS: Record<AlertKind, string> = { complaint: 'complaint', 'negative-post': 'negative post', storm: 'storm', opportunity: 'opportunity', coverage: 'coverage' };
const cap = (s: string) => `${s[0].toUpperCase()}${s.slice(1)}`;

function titleOf(brandName: string, kind: AlertKind, severity: Severity, post: AlertPost, count: number, signal: PostSignal): string {
  const who = `@${post.author.handle} (${fmt(post.author.followers)} followers${post.author.verified ? ', verified' : ''})`;
  if (kind === 'opportunity') return `Opportunity: ${who} is positive about ${brandName}${count > 1 ? ` (${count} posts)` : ''}`;
  const what = count > 1 ? `${KIND_WORDS[kind]} (${count} posts${signal.scope === 'thread' ? ' in one thread' : ` on ${signal.topic}`})` : KIND_WORDS[kind];
  return `${cap(severity)}: ${what} about ${brandName} by ${who}`;
}

function reasonOf(kind: AlertKind, post: AlertPost, signal: PostSignal): string {
  const who = `@${post.author.handle} (${fmt(post.author.followers)} followers${post.author.verified ? ', verified' : ''})`;
  return `${cap(KIND_WORDS[kind])} by ${who}: ${signal.because.join('; ')}.`;
}

export interface SignalOutcome {
  alert: Alert;
  /** 'triggered': a new alert; 'updated': more posts, a higher severity or a larger impact; 'none': nothing new. */
  change: 'triggered' | 'updated' | 'none';
}

/**
 * Folds a post's signal into the alert with its fingerprint. `existing` is the current alert for
 * the fingerprint (not resolved: the caller starts a new one after a resolution), `newMember`
 * says whether this post was not counted before (retries must not count twice).
 * Severity only rises; the leading post is the one with the highest impact.
 */
export function applySignal(
  brand: BrandRef,
  existing: Alert | undefined,
  alertId: string,
  signal: PostSignal,
  newMember: boolean,
  now: number,
): SignalOutcome {
  const at = new Date(now).toISOString();
  if (!existing) {
    const title = titleOf(brand.name, signal.kind, signal.severity, signal.post, 1, signal);
    const reason = reasonOf(signal.kind, signal.post, signal);
    const alert: Alert = {
      id: alertId,
      fingerprint: signal.fingerprint,
      brandId: brand.id,
      brandName: brand.name,
      kind: signal.kind,
      severity: signal.severity,
      status: 'triggered',
      topic: signal.topic,
      title,
      reason,
      impact: signal.impact,
      post: signal.post,
      count: 1,
      createdAt: at,
      updatedAt: at,
      version: 1,
    };
    if (signal.severity === 'critical' && signal.kind !== 'opportunity') alert.slaDeadline = new Date(now + brand.policy.criticalAckSla).toISOString();
    return { alert, change: 'triggered' };
  }
  const samePost = existing.post.platform === signal.post.platform && existing.post.postId === signal.post.postId;
  const severity = maxSeverity(existing.severity, signal.severity);
  const leads = samePost || signal.impact.score > existing.impact.score;
  const count = existing.count + (newMember ? 1 : 0);
  const grew = newMember || severity !== existing.severity || (samePost && signal.impact.projectedReach > existing.impact.projectedReach);
  if (!grew) return { alert: existing, change: 'none' };
  // A complaint anywhere in the group makes the whole group a complaint.
  const kind = existing.kind === 'complaint' || signal.kind === 'complaint' ? (existing.kind === 'opportunity' ? 'opportunity' : 'complaint') : existing.kind;
  const post = leads ? signal.post : existing.post;
  const alert: Alert = {
    ...existing,
    kind,
    severity,
    title: titleOf(brand.name, kind, severity, post, count, signal),
    reason: leads ? reasonOf(kind, post, signal) : existing.reason,
    impact: leads ? signal.impact : existing.impact,
    post,
    count,
    updatedAt: at,
    version: existing.version + 1,
  };
  if (severity === 'critical' && !existing.slaDeadline && existing.status === 'triggered' && kind !== 'opportunity')
    alert.slaDeadline = new Date(now + brand.policy.criticalAckSla).toISOString();
  return { alert, change: 'updated' };
}
