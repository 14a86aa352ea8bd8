/**
 * The chaos run's verdict, read independently of the workers: the replay file says what should
 * exist; MongoDB (read with the plain driver, not repwatch's Store), the signed-webhook receiver
 * and the PagerDuty stand-in say what does.
 *
 * "Should alert" is computed by running repwatch's own analysis and policy functions
 * (analyze + evaluatePost) on the file in-process, not by the generator's design labels: the
 * suite tests that nothing is lost or doubled between poll and receiver, not how well the model
 * judges. A hand-written expectation would fail on every post the model reads differently from
 * the template's intent, drowning real losses in disagreements; the design labels are still
 * reported beside it (how many designed-negative posts the analysis does not alert on) so a
 * change in the model shows.
 */
import type { Db } from 'mongodb';
import { analyze } from '../../src/analysis';
import type { Config } from '../../src/config/load';
import { evaluatePost, type BrandRef } from '../../src/domain/policy';
import { topicOf } from '../../src/domain/terms';
import { pagerDutyDedupKey } from '../../src/notifiers/pagerduty';
import { MEMBER_KIND, memberDocId } from '../../src/store/store';
import type { PagedEvent } from '../pagerduty-standin';
import type { ReceivedWebhook } from '../webhook-receiver';
import type { ReplayPost } from './generate';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line of counts. */
  counts: string;
  /** A few examples of what failed, for the report. */
  examples?: string[];
}

export interface FaultWindow {
  kind: string;
  start: number;
  end: number;
}

const keyOf = (p: Pick<ReplayPost, 'platform' | 'postId'>) => `${p.platform}-${p.postId}`;

/** Posts whose analysis and policy raise an alert (threat or opportunity), by post key. */
export function expectedAlerting(posts: ReplayPost[], config: Config): Map<string, { severity: string; kind: string }> {
  const judgements = analyze(posts.map((p) => ({ text: p.text, langHint: p.langHint })));
  const out = new Map<string, { severity: string; kind: string }>();
  posts.forEach((post, i) => {
    const brand = config.brands.find((b) => b.id === post.brandId);
    if (!brand) return;
    const ref: BrandRef = { id: brand.id, name: brand.name, policy: brand.effectivePolicy };
    const signal = evaluatePost(ref, post, judgements[i], { topic: topicOf(post.text, brand.topics), ingestedAt: Date.parse(post.createdAt) });
    if (signal) out.set(keyOf(post), { severity: signal.severity, kind: signal.kind });
  });
  return out;
}

const few = (xs: Iterable<string>, n = 5) => [...xs].slice(0, n);

export interface CheckInput {
  db: Db;
  posts: ReplayPost[];
  expected: Map<string, { severity: string; kind: string }>;
  config: Config;
  webhookReceiverId: string;
  pagerDutyReceiverId: string;
  webhooks: readonly ReceivedWebhook[];
  pagerduty: readonly PagedEvent[];
  faults: readonly FaultWindow[];
  now: number;
  slaGraceMs: number;
}

export async function runChecks(input: CheckInput): Promise<CheckResult[]> {
  const { db, posts } = input;
  const results: CheckResult[] = [];

  // 1. Every post stored once.
  const mentionIds = new Set((await db.collection('mentions').find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
  const mentionDocs = await db.collection('mentions').countDocuments({});
  const fileKeys = new Set(posts.map(keyOf));
  const missingPosts = [...fileKeys].filter((k) => !mentionIds.has(k));
  const extraPosts = [...mentionIds].filter((k) => !fileKeys.has(k));
  results.push({
    name: 'stored-once',
    ok: missingPosts.length === 0 && extraPosts.length === 0 && mentionDocs === fileKeys.size,
    counts: `posts in file ${fileKeys.size}, mention documents ${mentionDocs}, distinct ${mentionIds.size}, missing ${missingPosts.length}, unexpected ${extraPosts.length}`,
    examples: few(missingPosts),
  });

  // 2. Every post that should alert is counted in an alert, and in one alert only (across generations too).
  const memberIds = (await db.collection('page_state').find({ kind: MEMBER_KIND }, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id).slice(memberDocId('').length));
  const alertsOfPost = new Map<string, string[]>();
  for (const id of memberIds) {
    const bar = id.lastIndexOf('|');
    const postKey = id.slice(bar + 1);
    alertsOfPost.set(postKey, [...(alertsOfPost.get(postKey) ?? []), id.slice(0, bar)]);
  }
  const notAlerted = [...input.expected.keys()].filter((k) => !alertsOfPost.has(k));
  const notAlertedCritical = notAlerted.filter((k) => input.expected.get(k)!.severity === 'critical');
  const countedTwice = [...alertsOfPost].filter(([, alerts]) => alerts.length > 1);
  const unexpected = [...alertsOfPost.keys()].filter((k) => !input.expected.has(k));
  const designedNegative = posts.filter((p) => p.design !== 'neutral' && p.design !== 'positive');
  const designedNotAlerting = designedNegative.filter((p) => !input.expected.has(keyOf(p))).length;
  results.push({
    name: 'should-alert',
    ok: notAlerted.length === 0,
    counts: `should alert ${input.expected.size} (critical ${[...input.expected.values()].filter((e) => e.severity === 'critical').length}), in an alert ${input.expected.size - notAlerted.length}, missing ${notAlerted.length} (critical ${notAlertedCritical.length}); in an alert without a signal ${unexpected.length}; designed negative ${designedNegative.length} of which the analysis does not alert on ${designedNotAlerting}`,
    examples: few(notAlerted),
  });
  results.push({
    name: 'counted-once',
    ok: countedTwice.length === 0,
    counts: `posts counted in an alert ${alertsOfPost.size}, counted in more than one alert ${countedTwice.length}`,
    examples: few(countedTwice.map(([k, a]) => `${k} in ${a.join(', ')}`)),
  });

  // 3. The stream holds every alert's latest version.
  const alerts = await db.collection('alerts').find({}).toArray();
  const events = (await db.collection('alert_events').find({}).toArray()).sort((a, b) => a.seq - b.seq);
  const eventIds = new Set(events.map((e) => String(e._id)));
  const withoutEvent = alerts.filter((a) => !a.lastEventId || !eventIds.has(a.lastEventId));
  const seqs = events.map((e) => e.seq as number);
  const dupSeq = seqs.length - new Set(seqs).size;
  results.push({
    name: 'alert-stream',
    ok: withoutEvent.length === 0 && dupSeq === 0,
    counts: `alerts ${alerts.length} (storms ${alerts.filter((a) => a.kind === 'storm').length}, critical ${alerts.filter((a) => a.severity === 'critical').length}), events ${events.length}, alerts whose latest version is not on the stream ${withoutEvent.length}, repeated seq ${dupSeq}`,
    examples: few(withoutEvent.map((a) => `${a._id} v${a.version}`)),
  });

  // 4. The webhook receiver got what its delivery mode promises. An alert grouped into a storm
  // is told through the storm (README, Escalation), so its own events are not expected.
  const webhookConfig = input.config.receivers.find((r) => r.id === input.webhookReceiverId) as { deliveryMode?: string } | undefined;
  const mode = webhookConfig?.deliveryMode ?? 'every';
  const routed = events.filter((e) => !e.alert?.stormId);
  const verified = input.webhooks.filter((w) => w.verified);
  const receivedIds = new Set(verified.map((w) => w.id));
  const unverified = input.webhooks.length - verified.length;
  const deliveries = await db.collection('deliveries').find({}).toArray();
  const deliveryOf = new Map(deliveries.map((d) => [`${d.eventId}|${d.receiverId}`, d]));
  if (mode === 'latest') {
    const lastOfAlert = new Map<string, (typeof routed)[number]>();
    for (const e of routed) lastOfAlert.set(e.alertId, e);
    const lostLatest = [...lastOfAlert.values()].filter((e) => !receivedIds.has(String(e._id)));
    const unsettled = routed.filter((e) => !['sent', 'superseded'].includes(deliveryOf.get(`${e._id}|${input.webhookReceiverId}`)?.status));
    results.push({
      name: 'webhook-latest',
      ok: lostLatest.length === 0 && unsettled.length === 0 && unverified === 0,
      counts: `mode latest: routed alerts ${lastOfAlert.size}, latest event not received ${lostLatest.length}, events neither sent nor superseded ${unsettled.length}, bad signatures ${unverified}`,
      examples: few(lostLatest.map((e) => String(e._id))),
    });
  } else {
    const lost = routed.filter((e) => !receivedIds.has(String(e._id)));
    const lostByType = new Map<string, number>();
    for (const e of lost) lostByType.set(e.type, (lostByType.get(e.type) ?? 0) + 1);
    const lostAlerts = new Set(lost.map((e) => e.alertId));
    results.push({
      name: 'webhook-every',
      ok: lost.length === 0 && unverified === 0,
      counts: `mode every: routed events ${routed.length} (of ${events.length}; storm-grouped ${events.length - routed.length}), received ${routed.length - lost.length}, lost ${lost.length}${lostByType.size ? ` (${[...lostByType].map(([t, n]) => `${t} ${n}`).join(', ')})` : ''} in ${lostAlerts.size} alerts; bad signatures ${unverified}`,
      examples: few(lost.map((e) => `${e._id} (seq ${e.seq}, delivery ${deliveryOf.get(`${e._id}|${input.webhookReceiverId}`)?.status ?? 'no record'})`)),
    });
    // In order per alert: the first arrival of each event, by seq.
    const firstSeqs = new Map<string, number[]>();
    const firstSeen = new Set<string>();
    for (const w of verified) {
      if (firstSeen.has(w.id) || w.body?.data?.reminder) continue;
      firstSeen.add(w.id);
      const alertId = w.body?.data?.alert?.id;
      if (typeof alertId === 'string') firstSeqs.set(alertId, [...(firstSeqs.get(alertId) ?? []), Number(w.body.data.seq)]);
    }
    const outOfOrder = [...firstSeqs].filter(([, s]) => s.some((v, i) => i > 0 && v < s[i - 1]));
    results.push({
      name: 'webhook-order',
      ok: outOfOrder.length === 0,
      counts: `alerts received ${firstSeqs.size}, received out of order ${outOfOrder.length}`,
      examples: few(outOfOrder.map(([a, s]) => `${a}: seq ${s.join(',')}`)),
    });
  }

  // 5. No webhook-id accepted twice. At-least-once allows a resend when a process died (or Redis
  // was lost) between sending and recording; a duplicate with no such fault near it is a failure.
  const arrivals = new Map<string, number[]>();
  for (const w of verified) arrivals.set(w.id, [...(arrivals.get(w.id) ?? []), w.receivedAt]);
  const duplicates = [...arrivals].filter(([, at]) => at.length > 1);
  const nearFault = (t: number) => input.faults.some((f) => f.kind !== 'kill-ingest' && t >= f.start - 35_000 && t <= f.end + 5_000);
  const unexplained = duplicates.filter(([, at]) => !nearFault(at[0]));
  results.push({
    name: 'webhook-once',
    ok: unexplained.length === 0,
    counts: `webhook-ids received ${arrivals.size}, received more than once ${duplicates.length} (after a kill -9 of deliver, a Redis restart or a store pause: ${duplicates.length - unexplained.length}; with no fault near: ${unexplained.length})`,
    examples: few(unexplained.map(([id, at]) => `${id} ×${at.length}`)),
  });

  // 6. No delivery record left pending, none failed (both receivers always answer 2xx).
  const byStatus = new Map<string, number>();
  for (const d of deliveries) byStatus.set(d.status, (byStatus.get(d.status) ?? 0) + 1);
  const pending = deliveries.filter((d) => d.status === 'pending');
  const failed = deliveries.filter((d) => d.status === 'failed');
  results.push({
    name: 'deliveries-settled',
    ok: pending.length === 0 && failed.length === 0,
    counts: `delivery records ${deliveries.length} (${[...byStatus].map(([s, n]) => `${s} ${n}`).join(', ') || 'none'})`,
    examples: few([...pending, ...failed].map((d) => `${d._id}: ${d.status}${d.lastError ? ` (${d.lastError.code})` : ''}`)),
  });

  // 7. Every critical alert nobody acknowledged in time was escalated.
  const missedEscalations = alerts.filter((a) => a.status === 'triggered' && a.slaDeadline && !a.escalatedAt && Date.parse(a.slaDeadline) + input.slaGraceMs < input.now);
  const criticalWithSla = alerts.filter((a) => a.slaDeadline);
  results.push({
    name: 'sla-escalation',
    ok: missedEscalations.length === 0,
    counts: `critical alerts with an SLA ${criticalWithSla.length}, escalated ${criticalWithSla.filter((a) => a.escalatedAt).length}, acknowledged ${criticalWithSla.filter((a) => a.acknowledgedAt).length}, overdue and not escalated ${missedEscalations.length}`,
    examples: few(missedEscalations.map((a) => String(a._id))),
  });

  // 8. PagerDuty: per dedup_key, trigger before acknowledge, no trigger after acknowledge (until resolved).
  const byKey = new Map<string, string[]>();
  for (const e of input.pagerduty) byKey.set(e.dedupKey, [...(byKey.get(e.dedupKey) ?? []), e.action]);
  const orderViolations: string[] = [];
  let repeatedTriggers = 0;
  for (const [key, actions] of byKey) {
    let state: 'none' | 'triggered' | 'acknowledged' = 'none';
    for (const action of actions) {
      if (action === 'trigger') {
        if (state === 'acknowledged') orderViolations.push(`${key}: trigger after acknowledge (${actions.join('→')})`);
        else if (state === 'triggered') repeatedTriggers++;
        else state = 'triggered';
      } else if (action === 'acknowledge') {
        if (state === 'none') orderViolations.push(`${key}: acknowledge before trigger (${actions.join('→')})`);
        else state = 'acknowledged';
      } else if (action === 'resolve') {
        if (state === 'none') orderViolations.push(`${key}: resolve before trigger (${actions.join('→')})`);
        state = 'none';
      }
    }
  }
  results.push({
    name: 'pagerduty-order',
    ok: orderViolations.length === 0,
    counts: `dedup keys ${byKey.size}, events ${input.pagerduty.length} (trigger ${input.pagerduty.filter((e) => e.action === 'trigger').length}, acknowledge ${input.pagerduty.filter((e) => e.action === 'acknowledge').length}, resolve ${input.pagerduty.filter((e) => e.action === 'resolve').length}), out of order ${orderViolations.length}, repeated triggers ${repeatedTriggers}`,
    examples: few(orderViolations),
  });

  // 9. PagerDuty heard every escalation and what followed it (alerts outside storms).
  const expectedPd = new Map<string, number>();
  for (const e of routed) {
    const action = e.type === 'alert.escalated' ? 'trigger' : e.alert?.escalatedAt && e.type === 'alert.acknowledged' ? 'acknowledge' : e.alert?.escalatedAt && e.type === 'alert.resolved' ? 'resolve' : undefined;
    if (!action) continue;
    const k = `${pagerDutyDedupKey(e.alert.fingerprint)} ${action}`;
    expectedPd.set(k, (expectedPd.get(k) ?? 0) + 1);
  }
  const receivedPd = new Map<string, number>();
  for (const [key, actions] of byKey) {
    // Consecutive repeats are one event to PagerDuty (at-least-once with the same dedup_key).
    actions.forEach((a, i) => {
      if (i > 0 && actions[i - 1] === a) return;
      receivedPd.set(`${key} ${a}`, (receivedPd.get(`${key} ${a}`) ?? 0) + 1);
    });
  }
  const pdMissing = [...expectedPd].filter(([k, n]) => (receivedPd.get(k) ?? 0) < n);
  const totalExpected = [...expectedPd.values()].reduce((a, b) => a + b, 0);
  results.push({
    name: 'pagerduty-complete',
    ok: pdMissing.length === 0,
    counts: `expected PagerDuty events ${totalExpected}, missing ${pdMissing.reduce((n, [k, e]) => n + e - (receivedPd.get(k) ?? 0), 0)}`,
    examples: few(pdMissing.map(([k]) => k)),
  });

  // Not a check of its own (the losses above show any effect): work that failed for good.
  const deadLetters = await db.collection('dead_letters').find({}).toArray();
  const openDl = deadLetters.filter((d) => d.status === 'open');
  results.push({
    name: 'dead-letters',
    ok: true,
    counts: `(information) dead letters ${deadLetters.length}, open ${openDl.length} (ingest ${openDl.filter((d) => d.queue === 'ingest').length}, deliver ${openDl.filter((d) => d.queue === 'deliver').length})`,
    examples: few(openDl.map((d) => `${d._id}: ${d.code} ${String(d.reason).slice(0, 80)}`)),
  });
  return results;
}
