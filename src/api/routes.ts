import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Alert, AlertEvent } from '../domain/alert';
import { RepwatchError, isRepwatchError } from '../domain/errors';
import { isThreat } from '../domain/policy';
import { buildReport } from '../domain/report';
import { alertsOfStorm, decodeCursor, deliveriesOf, eventsOfAlert, listCases, pageAlerts, postJudgements, postsOfAlert, reportInputs, stormsOfBrand } from '../store/queries';
import { describeSources } from '../services/sources';
import type { ApiDeps } from './deps';
import {
  alertDetailSchema,
  alertListQuery,
  alertSchema,
  brandReportSchema,
  caseListQuery,
  caseSchema,
  commentBody,
  receiverStateSchema,
  sourceOverviewSchema,
  errorSchema,
  idParams,
  reportQuery,
  silenceBody,
  silenceListQuery,
  storedSilenceSchema,
  stormListQuery,
  timelineQuery,
  timelineSchema,
} from './schemas';

const DAY = 24 * 3_600_000;
/** A timeline reads every post of the range: at most a month, at most this many buckets. */
export const MAX_TIMELINE_MS = 31 * DAY;
export const MAX_TIMELINE_BUCKETS = 2000;

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema };

const notFound = (what: string, id: string) => new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no ${what} "${id.slice(0, 200)}"`);

/** Which PagerDuty action each stream event became (PagerDuty hears only these). */
const PAGERDUTY_STATE: Partial<Record<AlertEvent['type'], 'triggered' | 'acknowledged' | 'resolved'>> = {
  'alert.escalated': 'triggered',
  'alert.acknowledged': 'acknowledged',
  'alert.resolved': 'resolved',
};

/** Everything under /api/v1 that needs a key (the caller registers the auth hook). */
export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, config } = deps;

  r.get(
    '/brands',
    { schema: { summary: 'The brands watched', tags: ['brands'], response: { 200: z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), languages: z.array(z.string()), topics: z.array(z.string()) })) }), ...errors } } },
    async () => ({ items: config.brands.map((b) => ({ id: b.id, name: b.name, languages: [...b.languages], topics: Object.keys(b.topics) })) }),
  );

  // ---- alerts ----

  r.get(
    '/alerts',
    {
      schema: {
        summary: 'Alerts, newest first, with filters and cursor paging',
        description: '`status=open` means triggered or acknowledged. Pass `nextCursor` back as `cursor` for the next page; pages are stable while alerts arrive.',
        tags: ['alerts'],
        querystring: alertListQuery,
        response: { 200: z.object({ items: z.array(alertSchema), nextCursor: z.string().optional() }), ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      return pageAlerts(store, { brandIds: q.brand ? [q.brand] : undefined, statuses: q.status, severities: q.severity, kinds: q.kind, since: q.since }, { limit: q.limit, cursor: q.cursor ? decodeCursor(q.cursor) : undefined });
    },
  );

  r.get(
    '/alerts/:id',
    {
      schema: {
        summary: 'One alert with its timeline of events, posts, case, storm, grouped alerts and PagerDuty state',
        tags: ['alerts'],
        params: idParams,
        response: { 200: alertDetailSchema, ...errors },
      },
    },
    async (req) => {
      const alert = await store.getAlert(req.params.id);
      if (!alert) throw notFound('alert', req.params.id);
      const [events, posts, found, storm, grouped] = await Promise.all([
        eventsOfAlert(store, alert.id),
        postsOfAlert(store, alert.id),
        alert.caseId ? store.getCases([alert.caseId]) : undefined,
        alert.stormId ? store.getAlert(alert.stormId) : undefined,
        alert.kind === 'storm' ? alertsOfStorm(store, alert.id) : undefined,
      ]);
      const theCase = alert.caseId ? found?.get(alert.caseId) : undefined;
      const pagerDutyIds = config.receivers.filter((x) => x.type === 'pagerduty').map((x) => x.id);
      let pagerduty: z.infer<typeof alertDetailSchema>['pagerduty'];
      if (pagerDutyIds.length) {
        const heard = events.filter((e) => PAGERDUTY_STATE[e.type]);
        const records = await deliveriesOf(store, heard.map((e) => e.id), pagerDutyIds);
        const byEvent = new Map(heard.map((e) => [e.id, e]));
        const deliveries = records
          .map((d) => ({ eventId: d.eventId, type: byEvent.get(d.eventId)!.type, receiverId: d.receiverId, status: d.status, ...(d.sentAt ? { at: new Date(d.sentAt).toISOString() } : {}) }))
          .sort((a, b) => byEvent.get(a.eventId)!.seq - byEvent.get(b.eventId)!.seq);
        const lastSent = deliveries.filter((d) => d.status === 'sent').pop();
        pagerduty = { state: lastSent ? PAGERDUTY_STATE[lastSent.type as AlertEvent['type']]! : 'none', deliveries };
      }
      return {
        alert,
        events,
        posts,
        ...(theCase ? { case: theCase } : {}),
        ...(storm ? { storm } : {}),
        ...(grouped ? { grouped } : {}),
        ...(pagerduty ? { pagerduty } : {}),
      };
    },
  );

  for (const verb of ['acknowledge', 'resolve'] as const) {
    r.post(
      `/alerts/:id/${verb}`,
      {
        schema: {
          summary: verb === 'acknowledge' ? 'Acknowledge an alert (and its case); stops escalation' : 'Resolve an alert; its case is then watched for recovery',
          description: 'The same lifecycle as `repwatch alerts ack|resolve`: an event on the stream, a webhook, and a PagerDuty follow-up when the alert was escalated. The API key name is who acted.',
          tags: ['alerts'],
          params: idParams,
          body: commentBody,
          response: { 200: z.object({ alert: alertSchema }), ...errors },
        },
      },
      async (req) => {
        const comment = req.body?.comment;
        const alert = await deps.alerts[verb](req.params.id, req.actor, comment);
        return { alert };
      },
    );
  }

  // ---- storms and cases ----

  r.get(
    '/storms',
    { schema: { summary: 'Storm alerts, newest first', tags: ['storms'], querystring: stormListQuery, response: { 200: z.object({ items: z.array(alertSchema), nextCursor: z.string().optional() }), ...errors } } },
    async (req) => {
      const q = req.query;
      return pageAlerts(store, { brandIds: q.brand ? [q.brand] : undefined, statuses: q.status, kinds: ['storm'] }, { limit: q.limit, cursor: q.cursor ? decodeCursor(q.cursor) : undefined });
    },
  );

  r.get(
    '/cases',
    { schema: { summary: 'Cases (one customer across channels), most recent activity first', tags: ['cases'], querystring: caseListQuery, response: { 200: z.object({ items: z.array(caseSchema) }), ...errors } } },
    async (req) => ({ items: await listCases(store, { brandId: req.query.brand, state: req.query.state, limit: req.query.limit }) }),
  );

  const caseWithAlerts = async (id: string) => {
    const c = (await store.getCases([id])).get(id);
    if (!c) throw notFound('case', id);
    const alerts = [...(await store.getAlerts(c.alertIds ?? [])).values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    return { case: c, alerts };
  };

  r.get(
    '/cases/:id',
    { schema: { summary: 'One case with its alerts', tags: ['cases'], params: idParams, response: { 200: z.object({ case: caseSchema, alerts: z.array(alertSchema) }), ...errors } } },
    async (req) => caseWithAlerts(req.params.id),
  );

  for (const verb of ['acknowledge', 'resolve'] as const) {
    r.post(
      `/cases/:id/${verb}`,
      {
        schema: {
          summary: `${verb === 'acknowledge' ? 'Acknowledge' : 'Resolve'} every open alert of a case`,
          tags: ['cases'],
          params: idParams,
          body: commentBody,
          response: { 200: z.object({ case: caseSchema, alerts: z.array(alertSchema) }), ...errors },
        },
      },
      async (req) => {
        const { alerts } = await caseWithAlerts(req.params.id);
        const due = alerts.filter((a) => (verb === 'acknowledge' ? a.status === 'triggered' : a.status !== 'resolved'));
        if (!due.length) throw new RepwatchError('RW_ERR_ALERT_STATE', `case ${req.params.id} has no alert left to ${verb}`);
        for (const a of due) {
          try {
            await deps.alerts[verb](a.id, req.actor, req.body?.comment);
          } catch (err) {
            // Someone else got there first (or a storm took it along): the case's state is what counts.
            if (!(isRepwatchError(err) && err.code === 'RW_ERR_ALERT_STATE')) throw err;
          }
        }
        return caseWithAlerts(req.params.id);
      },
    );
  }

  // ---- silences ----

  r.get(
    '/silences',
    { schema: { summary: 'Silences created through the API or Slack, newest first', tags: ['silences'], querystring: silenceListQuery, response: { 200: z.object({ items: z.array(storedSilenceSchema) }), ...errors } } },
    async (req) => ({ items: await deps.silences.list(deps.now(), req.query.state) }),
  );

  r.post(
    '/silences',
    {
      schema: {
        summary: 'Create a silence: matching alerts are recorded but not sent until it ends',
        description: 'match: the routing matcher (brand, kind, severity, minSeverity, lang, platform, topic, author). endsAt is required (at most 30 days after startsAt). Times: ISO 8601 or ms since epoch.',
        tags: ['silences'],
        body: silenceBody,
        response: { 201: z.object({ silence: storedSilenceSchema }), ...errors },
      },
    },
    async (req, reply) => {
      const { match, startsAt, endsAt, comment } = req.body;
      const silence = await deps.silences.create({ match, startsAt, endsAt, comment, createdBy: req.actor }, deps.now());
      req.log.info({ silence: silence.id, by: req.actor }, 'silence created');
      return reply.code(201).send({ silence });
    },
  );

  r.delete(
    '/silences/:id',
    { schema: { summary: 'Expire a silence now', tags: ['silences'], params: idParams, response: { 200: z.object({ silence: storedSilenceSchema }), ...errors } } },
    async (req) => {
      const silence = await deps.silences.expire(req.params.id, req.actor, deps.now());
      req.log.info({ silence: silence.id, by: req.actor }, 'silence expired');
      return { silence };
    },
  );

  // ---- sources and receivers: is repwatch hearing, and is it being heard ----

  if (deps.sourceHealth) {
    const sourceHealth = deps.sourceHealth;
    r.get(
      '/sources',
      {
        schema: {
          summary: 'Every source with its state: ok or why it is not hearing, last success, failures in a row, recent and usual volume, quota, open coverage alert',
          tags: ['sources'],
          response: { 200: z.object({ items: z.array(sourceOverviewSchema) }), ...errors },
        },
      },
      async () => ({ items: await describeSources({ config, store, sourceHealth, now: deps.now }) }),
    );
  }

  if (deps.receivers) {
    const receivers = deps.receivers;
    const receiverRow = async () => {
      const states = new Map((await receivers.list()).map((s) => [s.receiverId, s]));
      return config.receivers.map((rc) => {
        const s = states.get(rc.id);
        return { id: rc.id, type: rc.type, state: s?.state ?? ('enabled' as const), since: s?.since ?? 0, reason: s?.reason ?? 'never disabled', ...(s?.code ? { code: s.code } : {}), ...(s?.by ? { by: s.by } : {}) };
      });
    };
    r.get(
      '/receivers',
      { schema: { summary: 'Every receiver with its state (a webhook endpoint that answered 410 Gone is disabled)', tags: ['receivers'], response: { 200: z.object({ items: z.array(receiverStateSchema) }), ...errors } } },
      async () => ({ items: await receiverRow() }),
    );
    r.post(
      '/receivers/:id/enable',
      { schema: { summary: 'Send to a disabled receiver again', tags: ['receivers'], params: idParams, response: { 200: z.object({ receiver: receiverStateSchema }), ...errors } } },
      async (req) => {
        if (!config.receivers.some((rc) => rc.id === req.params.id)) throw notFound('receiver', req.params.id);
        await receivers.enable(req.params.id, req.actor, deps.now());
        req.log.info({ receiver: req.params.id, by: req.actor }, 'receiver enabled');
        return { receiver: (await receiverRow()).find((x) => x.id === req.params.id)! };
      },
    );
  }

  // ---- report and timeline ----

  r.get(
    '/report',
    {
      schema: {
        summary: 'Per brand: alerts by kind and severity, time to acknowledge and resolve, escalations, recovery',
        tags: ['report'],
        querystring: reportQuery,
        response: { 200: z.object({ from: z.string(), to: z.string(), brands: z.array(brandReportSchema) }), ...errors },
      },
    },
    async (req) => {
      const now = deps.now();
      const from = now - req.query.since;
      const { alerts, cases } = await reportInputs(store, req.query.brand, from);
      return { from: new Date(from).toISOString(), to: new Date(now).toISOString(), brands: buildReport(alerts, cases, { from }) };
    },
  );

  r.get(
    '/brands/:id/timeline',
    {
      schema: {
        summary: "A brand's posts per bucket: volume, negative posts and negative share, with its storms",
        description: `Negative as storms count it (negative, or a complaint when complaintsAreNegative). At most ${MAX_TIMELINE_MS / DAY} days and ${MAX_TIMELINE_BUCKETS} buckets.`,
        tags: ['brands'],
        params: idParams,
        querystring: timelineQuery,
        response: { 200: timelineSchema, ...errors },
      },
    },
    async (req) => {
      const brand = config.brands.find((b) => b.id === req.params.id);
      if (!brand) throw notFound('brand', req.params.id);
      const { since, bucket } = req.query;
      if (since > MAX_TIMELINE_MS) throw new RepwatchError('RW_ERR_INPUT_INVALID', `since: at most ${MAX_TIMELINE_MS / DAY}d`);
      const to = deps.now();
      // Buckets on whole multiples of their size, so charts line up from one call to the next.
      const start = Math.floor((to - since) / bucket) * bucket;
      const count = Math.ceil((to - start) / bucket);
      if (count > MAX_TIMELINE_BUCKETS) throw new RepwatchError('RW_ERR_INPUT_INVALID', `bucket: ${count} buckets; at most ${MAX_TIMELINE_BUCKETS} (a larger bucket or a shorter range)`);
      const buckets = Array.from({ length: count }, (_, i) => ({ start: new Date(start + i * bucket).toISOString(), posts: 0, negative: 0, negativeShare: 0 }));
      const posts = await postJudgements(store, brand.id, start, to);
      for (const p of posts) {
        const i = Math.floor((Date.parse(p.createdAt) - start) / bucket);
        if (!(i >= 0 && i < count)) continue;
        buckets[i].posts++;
        if (isThreat({ sentiment: { label: p.sentiment }, complaint: { label: p.complaint } } as any, brand.effectivePolicy)) buckets[i].negative++;
      }
      for (const b of buckets) b.negativeShare = b.posts ? b.negative / b.posts : 0;
      const storms = (await stormsOfBrand(store, brand.id, to))
        .map((s: Alert) => ({ id: s.id, title: s.title, start: s.createdAt, end: s.storm?.endedAt ?? s.resolvedAt ?? undefined }))
        .filter((s) => !s.end || Date.parse(s.end) >= start)
        .map(({ end, ...s }) => (end ? { ...s, end } : s))
        .reverse();
      return { from: new Date(start).toISOString(), to: new Date(to).toISOString(), bucketMs: bucket, buckets, storms };
    },
  );
}
