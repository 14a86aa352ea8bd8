import type { Judgement } from '../analysis/judgement';
import type { PolicyConfig, Severity } from '../config/schema';
import { SEVERITIES } from '../config/schema';
import type { Alert } from './alert';
import { impactOf } from './impact';
import type { Mention } from './mention';

export interface BrandRef {
  id: string;
  name: string;
  policy: PolicyConfig;
}

/** Severity for a negative post by an account of this size, or null when it is too small to alert on. */
export function severityFor(followers: number, policy: PolicyConfig): Severity | null {
  if (followers >= policy.criticalFollowers) return 'critical';
  const tiers = [...policy.tiers].sort((a, b) => b.minFollowers - a.minFollowers);
  return tiers.find((t) => followers >= t.minFollowers)?.severity ?? null;
}

/** true when `severity` is at least as serious as `min`. */
export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(min);
}

/** The same post for the same brand always has the same fingerprint, so retries and replays update one alert. */
export function fingerprintOf(brandId: string, m: Pick<Mention, 'platform' | 'postId'>): string {
  return `${brandId}/${m.platform}/${m.postId}`;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const quoted = (words: string[]) => words.slice(0, 4).map((w) => `'${w}'`).join(', ');

/**
 * The first policy: a negative post (or a complaint) from an account above the configured
 * follower threshold is a critical alert; smaller accounts give the tiers' lower severities.
 * Pure: the clock comes in as `now`.
 */
export function evaluatePost(
  brand: BrandRef,
  mention: Mention,
  judgement: Judgement,
  now: number,
  ingestedAt: number,
): Alert | null {
  const policy = brand.policy;
  const negative = judgement.sentiment.label === 'negative' || (policy.complaintsAreNegative && judgement.complaint.label);
  if (!negative) return null;
  const severity = severityFor(mention.author.followers, policy);
  if (!severity) return null;

  const impact = impactOf(judgement, mention.author, policy.complaintsAreNegative);
  const what = judgement.complaint.label ? 'complaint' : 'negative post';
  const who = `@${mention.author.handle} (${fmt(mention.author.followers)} followers${mention.author.verified ? ', verified' : ''})`;
  const because = [
    severity === 'critical'
      ? `account at or above the critical threshold of ${fmt(policy.criticalFollowers)} followers`
      : `account in the ${severity} tier`,
    `impact ${impact.score} = negativity ${impact.negativity} × reach ${impact.reach}`,
  ];
  if (judgement.evidence.negative.length) because.push(`negative: ${quoted(judgement.evidence.negative)}`);
  if (judgement.complaint.label && judgement.evidence.complaint.length) because.push(`complaint: ${quoted(judgement.evidence.complaint)}`);

  const at = new Date(now).toISOString();
  return {
    id: fingerprintOf(brand.id, mention),
    brandId: brand.id,
    brandName: brand.name,
    kind: 'negative-post',
    severity,
    status: 'triggered',
    title: `${severity[0].toUpperCase()}${severity.slice(1)}: ${what} about ${brand.name} by ${who}`,
    reason: `${what[0].toUpperCase()}${what.slice(1)} by ${who}: ${because.join('; ')}.`,
    impact,
    post: {
      platform: mention.platform,
      postId: mention.postId,
      url: mention.url,
      text: mention.text,
      lang: judgement.lang,
      createdAt: mention.createdAt,
      ingestedAt: new Date(ingestedAt).toISOString(),
      author: {
        id: mention.author.id,
        handle: mention.author.handle,
        name: mention.author.name,
        followers: mention.author.followers,
        verified: mention.author.verified,
      },
      sentiment: { label: judgement.sentiment.label, score: judgement.sentiment.score },
      complaint: { label: judgement.complaint.label, score: judgement.complaint.score },
      evidence: judgement.evidence,
    },
    createdAt: at,
  };
}
