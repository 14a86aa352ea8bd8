import type { Severity } from '../domain/alert';
import { formatPeriod, type Digest, type Trend } from '../domain/digest';
import { formatDuration } from '../domain/report';
import { truncate } from './text';

// Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
const HEADER_MAX = 150;
const SECTION_TEXT_MAX = 3000;

const SEVERITY_EMOJI: Record<Severity, string> = { critical: '🚨', high: '🔴', medium: '🟠', low: '🟡', info: '🔵' };
const TREND_WORDS: Record<Trend, string> = { above: '▲ above usual', usual: 'about usual', below: '▼ below usual', 'no-history': 'no history yet' };

/** Slack's mrkdwn treats &, < and > as control characters: a post saying "<!channel>" must not ping anyone. */
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const count = (n: number) => new Intl.NumberFormat('en-US').format(Math.round(n));
const pct = (share: number | undefined) => (share === undefined ? 'n/a' : `${Math.round(share * 100)}%`);

function link(url: string, label: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return escape(label);
    return `<${u.href.replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C')}|${escape(label)}>`;
  } catch {
    return escape(label);
  }
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) } });

/**
 * A digest as a Slack message a comms team reads in ten seconds: volume and negative share
 * against the usual, what is open, storms, the complaints still waiting, recoveries. Pure.
 */
export function digestMessage(digest: Digest): { text: string; blocks: unknown[] } {
  const v = digest.volume;
  const title = `📊 ${digest.schedule === 'hourly' ? 'Hourly' : 'Daily'} digest: ${digest.brandName}`;
  const usual = v.usualPosts === undefined ? '' : ` (usual ${count(v.usualPosts)}${v.change !== undefined ? `, ${v.change >= 0 ? '+' : ''}${Math.round(v.change * 100)}%` : ''})`;
  const volume = [
    `*Volume* ${count(v.posts)} posts${usual}: ${TREND_WORDS[v.trend]}`,
    `*Negative* ${pct(v.negativeShare)}${v.usualNegativeShare !== undefined ? ` (usual ${pct(v.usualNegativeShare)})` : ''}: ${TREND_WORDS[v.negativeTrend]} · ${count(v.complaints)} complaints`,
  ].join('\n');

  const o = digest.openAlerts;
  const severities = (Object.keys(o.bySeverity) as Severity[]).filter((s) => o.bySeverity[s] > 0).map((s) => `${SEVERITY_EMOJI[s]} ${o.bySeverity[s]} ${s}`);
  const open = o.total === 0 ? '*Open alerts* none ✅' : `*Open alerts* ${o.total} (${o.unacknowledged} not acknowledged${o.escalated ? `, ${o.escalated} escalated` : ''}): ${severities.join(' · ')}\n${digest.newAlerts.total} new in this period`;

  const storms = digest.storms.length
    ? `*Storms*\n${digest.storms
        .map((s) => `${SEVERITY_EMOJI[s.severity]} ${escape(s.title)}: ${s.endedAt ? 'ended' : s.status === 'resolved' ? 'resolved' : 'ongoing'}, ${count(s.negativePosts)} negative posts${s.topTerms.length ? `, about ${s.topTerms.map((t) => `"${escape(t)}"`).join(', ')}` : ''}`)
        .join('\n')}`
    : '*Storms* none';

  const c = digest.unansweredComplaints;
  const complaints = c.top.length
    ? `*Complaints still open* (highest impact first)\n${c.top
        .map((x, i) => `${i + 1}. ${SEVERITY_EMOJI[x.severity]} ${link(x.url, `@${x.handle}`)} (${count(x.followers)} followers, ${escape(x.platform)}), open ${formatDuration(x.openForMs)}${x.status === 'acknowledged' ? ', acknowledged' : ''}: _${escape(truncate(x.text.replace(/\s+/g, ' '), 160))}_`)
        .join('\n')}${c.more ? `\n…and ${c.more} more` : ''}`
    : '*Complaints still open* none';

  const r = digest.recoveries;
  const recoveries = `*Recoveries* ${r.recovered} customer${r.recovered === 1 ? '' : 's'} recovered, ${r.notRecovered} did not, ${r.watching} still followed${r.recoveredCases.length ? `\n${r.recoveredCases.map((x) => `• ${x.handles.map((h) => `@${escape(h)}`).join(', ')}${x.because ? `: ${escape(truncate(x.because, 160))}` : ''}`).join('\n')}` : ''}`;

  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, HEADER_MAX), emoji: true } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: escape(formatPeriod(digest)) }] },
    ...(digest.quiet ? [section('A quiet period: no posts, nothing open, no storms.')] : [section(volume), section(open), section(storms), section(complaints), section(recoveries)]),
    { type: 'context', elements: [{ type: 'mrkdwn', text: escape(digest.id) }] },
  ];
  const text = truncate(`${title}: ${count(v.posts)} posts, ${pct(v.negativeShare)} negative, ${o.total} open alerts, ${c.top.length + c.more} open complaints`, SECTION_TEXT_MAX);
  return { text, blocks };
}
