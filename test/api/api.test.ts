import Ajv from 'ajv';
import { parseApiKeys, parseListen } from '../../src/api/deps';
import { startApi } from '../../src/api/server';
import { createLogger } from '../../src/logger';
import { RepwatchError } from '../../src/domain/errors';
import { mentionKey } from '../../src/domain/mention';
import { thrown } from '../helpers';
import { KEYS, MINUTE, T0, judgement, makeAlert, mention, seedAlerts, startTestApi, type TestApi } from './setup';

describe('REPWATCH_API_KEYS and REPWATCH_HTTP', () => {
  it('parses name=secret pairs', () => {
    expect([...parseApiKeys(' anna=0123456789abcdef0123 , ops.bot=zyxwvutsrqponmlk=== ')]).toEqual([
      ['anna', '0123456789abcdef0123'],
      ['ops.bot', 'zyxwvutsrqponmlk==='],
    ]);
    expect(parseApiKeys(undefined).size).toBe(0);
    expect(parseApiKeys('  ').size).toBe(0);
  });

  it.each([
    ['no "="', 'anna'],
    ['a short secret', 'anna=short'],
    ['a name used twice', 'anna=0123456789abcdef,anna=fedcba9876543210'],
    ['one secret for two names', 'anna=0123456789abcdef,ben=0123456789abcdef'],
    ['a stray comma', 'anna=0123456789abcdef,'],
    ['a bad name', 'an na=0123456789abcdef'],
  ])('refuses %s with RW_ERR_CONFIG_INVALID, never quoting the secret', (_what, value) => {
    const err = thrown(() => parseApiKeys(value));
    expect(err.code).toBe('RW_ERR_CONFIG_INVALID');
    expect(err.message).not.toContain('0123456789abcdef');
    expect(err.message).not.toContain('short');
  });

  it('reads host:port', () => {
    expect(parseListen(undefined)).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(thrown(() => parseListen('8080')).code).toBe('RW_ERR_CONFIG_INVALID');
    expect(thrown(() => parseListen('localhost:99999')).code).toBe('RW_ERR_CONFIG_INVALID');
  });
});

describe('HTTP API', () => {
  let api: TestApi;
  const triggered = makeAlert(1, { severity: 'critical' });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  describe('authentication', () => {
    beforeAll(async () => {
      await seedAlerts(api.app, [triggered]);
    });

    it('refuses requests without a key or with a wrong one, with 401 and a code', async () => {
      for (const key of [null, 'not-a-key-at-all-0000', `${KEYS.anna}x`]) {
        const res = await api.call('GET', '/api/v1/alerts', { key });
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('RW_ERR_UNAUTHORIZED');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      const basic = await api.call('GET', '/api/v1/alerts', { key: null, headers: { Authorization: `Basic ${Buffer.from(`anna:${KEYS.anna}`).toString('base64')}` } });
      expect(basic.status).toBe(401);
    });

    it('changes nothing on a refused acknowledge', async () => {
      const before = await api.app.store.lastSequence();
      for (const key of [null, 'wrong-key-0123456789']) {
        const res = await api.call('POST', `/api/v1/alerts/${encodeURIComponent(triggered.id)}/acknowledge`, { key, body: { comment: 'mine' } });
        expect(res.status).toBe(401);
      }
      expect((await api.app.store.getAlert(triggered.id))?.status).toBe('triggered');
      expect(await api.app.store.lastSequence()).toBe(before);
      expect(await api.app.queues.deliver.count()).toBe(0);
    });

    it('signs the console in with an HttpOnly cookie and needs the console header for changes', async () => {
      const wrong = await api.call('POST', '/api/v1/session', { key: null, body: { key: 'nope-nope-nope-nope' } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();

      const signIn = await api.call('POST', '/api/v1/session', { key: null, body: { key: KEYS.ben } });
      expect(signIn.status).toBe(204);
      const setCookie = signIn.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^rw_key=/);
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Strict/i);
      expect(setCookie).toMatch(/Path=\//);
      const cookie = setCookie.split(';')[0];

      expect((await api.call('GET', '/api/v1/session', { key: null, headers: { Cookie: cookie } })).body).toEqual({ name: 'ben' });
      expect((await api.call('GET', '/api/v1/alerts', { key: null, headers: { Cookie: cookie } })).status).toBe(200);
      expect((await api.call('GET', '/api/v1/session', { key: null, headers: { Cookie: 'rw_key=forged-forged-forged' } })).status).toBe(401);

      // Another site's form could post with the cookie, but cannot add the header: refused, nothing changed.
      const before = await api.app.store.lastSequence();
      const csrf = await api.call('POST', `/api/v1/alerts/${encodeURIComponent(triggered.id)}/acknowledge`, { key: null, headers: { Cookie: cookie }, body: {} });
      expect(csrf.status).toBe(403);
      expect(csrf.body.error.code).toBe('RW_ERR_UNAUTHORIZED');
      expect((await api.app.store.getAlert(triggered.id))?.status).toBe('triggered');
      expect(await api.app.store.lastSequence()).toBe(before);

      const ok = await api.call('POST', `/api/v1/alerts/${encodeURIComponent(triggered.id)}/acknowledge`, { key: null, headers: { Cookie: cookie, 'X-Repwatch-Console': '1' }, body: {} });
      expect(ok.status).toBe(200);
      expect(ok.body.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'ben' });

      const signOut = await api.call('DELETE', '/api/v1/session', { key: null, headers: { Cookie: cookie } });
      expect(signOut.status).toBe(204);
      expect(signOut.headers.get('set-cookie')).toMatch(/rw_key=;/);
    });

    it('needs no key for health, readiness and the OpenAPI document', async () => {
      expect((await api.call('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
      expect((await api.call('GET', '/readyz', { key: null })).body).toEqual({ status: 'ready', checks: { redis: 'ok', mongodb: 'ok' } });
      const metrics = await api.call('GET', '/metrics', { key: null });
      // startRepwatch gives the api its Redis-kept metrics: Prometheus text, no key needed.
      expect(metrics.status).toBe(200);
      expect(String(metrics.body)).toMatch(/^# HELP repwatch_/m);
    });
  });

  describe('alerts', () => {
    // 25 alerts of two brands, one a minute, newest first: n = 10..34 minutes before T0.
    const seeded = Array.from({ length: 25 }, (_, i) =>
      makeAlert(10 + i, {
        brandId: i % 3 === 0 ? 'volta-bank' : 'snelpost',
        severity: (['critical', 'high', 'medium', 'low'] as const)[i % 4],
        status: (['triggered', 'acknowledged', 'resolved'] as const)[i % 3],
        kind: i % 5 === 0 ? 'opportunity' : 'complaint',
      }),
    );
    const ids = (items: { id: string }[]) => items.map((a) => a.id);

    beforeAll(async () => {
      await seedAlerts(api.app, seeded);
    });

    async function allPages(query: string, limit: number, between?: (page: number) => Promise<void>) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const res = await api.call('GET', `/api/v1/alerts?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...ids(res.body.items));
        cursor = res.body.nextCursor;
        if (!cursor) return seen;
        await between?.(page);
      }
      throw new Error('paging did not end');
    }

    it('pages newest first without duplicates or gaps, also while alerts arrive', async () => {
      const expected = [...seeded].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).map((a) => a.id);
      const since = new Date(T0 - 40 * MINUTE).toISOString();
      // New alerts (newer than every page) arrive between pages: the pages after the cursor do not shift.
      const pages = await allPages(`since=${since}&kind=complaint,opportunity`, 4, async (page) => {
        if (page < 3) await seedAlerts(api.app, [makeAlert(100 + page, { minutesAgo: 5 - page, kind: 'negative-post' })]);
      });
      expect(pages).toEqual(expected);
      expect(new Set(pages).size).toBe(pages.length);
    });

    it('filters by brand, status (open = triggered or acknowledged), severity, kind and since', async () => {
      const since = new Date(T0 - 40 * MINUTE).toISOString();
      const expectIds = (pred: (a: (typeof seeded)[number]) => boolean) =>
        seeded.filter(pred).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).map((a) => a.id);
      expect(await allPages(`since=${since}&brand=volta-bank`, 3)).toEqual(expectIds((a) => a.brandId === 'volta-bank'));
      expect(await allPages(`since=${since}&kind=complaint,opportunity&status=open`, 5)).toEqual(expectIds((a) => a.status !== 'resolved'));
      expect(await allPages(`since=${since}&kind=complaint&severity=critical,low&brand=snelpost`, 50)).toEqual(
        expectIds((a) => a.kind === 'complaint' && (a.severity === 'critical' || a.severity === 'low') && a.brandId === 'snelpost'),
      );
      const recent = new Date(T0 - 15 * MINUTE).toISOString();
      expect(await allPages(`since=${encodeURIComponent(recent)}&kind=complaint,opportunity`, 50)).toEqual(expectIds((a) => a.createdAt >= recent));
    });

    it('refuses bad filters and cursors with 400 RW_ERR_INPUT_INVALID', async () => {
      for (const q of ['status=asleep', 'severity=', 'limit=0', 'limit=5000', 'since=yesterday', 'cursor=bm9wZQ', 'colour=red', 'brand=Not%20A%20Brand']) {
        const res = await api.call('GET', `/api/v1/alerts?${q}`);
        expect([q, res.status, res.body.error?.code]).toEqual([q, 400, 'RW_ERR_INPUT_INVALID']);
      }
    });

    it('shows one alert with its events, posts, case, storm and PagerDuty state', async () => {
      const storm = makeAlert(200, { kind: 'storm', minutesAgo: 3, severity: 'high', title: 'Storm: SnelPost delivery' });
      const member = makeAlert(201, { minutesAgo: 2, stormId: storm.id, caseId: 'case-zeezicht-1', severity: 'critical', status: 'triggered' });
      await seedAlerts(api.app, [storm, member]);
      const posts = [mention('snelpost', '201', T0 - 2 * MINUTE, 'pakket kwijt'), mention('snelpost', '202', T0 - MINUTE, 'nog steeds geen pakket')];
      await api.app.store.storeMentions(posts.map((m) => ({ mention: m, judgement: judgement('negative', true), ingestedAt: T0 })));
      await api.app.store.addMembers(posts.map((m) => ({ alertId: member.id, postKey: mentionKey(m) })));
      await api.app.store.saveCases([{ id: 'case-zeezicht-1', brandId: 'snelpost', authorKeys: [], conversationKeys: [], handles: ['someone201'], platforms: ['x'], state: 'open', openedAt: T0 - 2 * MINUTE, lastPostAt: T0 - MINUTE, posts: 2, timeline: [], alertIds: [member.id] }]);
      // Escalated to on-call, and PagerDuty took it.
      const escalated = { ...member, escalatedAt: new Date(T0).toISOString(), version: 2 };
      const { events } = await api.app.store.appendEvents([{ type: 'alert.escalated', alert: escalated, at: escalated.escalatedAt, by: 'sla' }]);
      await api.app.store.saveAlerts([escalated]);
      await api.app.store.markDelivered(events[0].id, 'oncall', T0, 202);

      const res = await api.call('GET', `/api/v1/alerts/${encodeURIComponent(member.id)}`);
      expect(res.status).toBe(200);
      expect(res.body.alert).toMatchObject({ id: member.id, version: 2, escalatedAt: escalated.escalatedAt });
      expect(res.body.events.map((e: any) => e.type)).toEqual(['alert.triggered', 'alert.escalated']);
      expect(res.body.posts.map((p: any) => p.postId)).toEqual(['202', '201']);
      expect(res.body.case).toMatchObject({ id: 'case-zeezicht-1', state: 'open' });
      expect(res.body.storm).toMatchObject({ id: storm.id, kind: 'storm' });
      expect(res.body.pagerduty).toEqual({ state: 'triggered', deliveries: [{ eventId: events[0].id, type: 'alert.escalated', receiverId: 'oncall', status: 'sent', at: new Date(T0).toISOString() }] });

      const stormView = await api.call('GET', `/api/v1/alerts/${encodeURIComponent(storm.id)}`);
      expect(stormView.body.grouped.map((a: any) => a.id)).toEqual([member.id]);
      expect(stormView.body.pagerduty).toEqual({ state: 'none', deliveries: [] });
      const storms = await api.call('GET', '/api/v1/storms?brand=snelpost');
      expect(ids(storms.body.items)).toEqual([storm.id]);

      const missing = await api.call('GET', '/api/v1/alerts/no-such-alert');
      expect([missing.status, missing.body.error.code]).toEqual([404, 'RW_ERR_UNKNOWN_REFERENCE']);
    });

    it('acknowledges and resolves as the key name, with the comment on the stream event and a webhook job', async () => {
      const alert = makeAlert(300, { minutesAgo: 1, status: 'triggered' });
      await seedAlerts(api.app, [alert]);
      const path = `/api/v1/alerts/${encodeURIComponent(alert.id)}`;

      const ack = await api.call('POST', `${path}/acknowledge`, { body: { comment: 'looking into it\nwith the courier' } });
      expect(ack.status).toBe(200);
      expect(ack.body.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'anna' });
      api.clock.now += 5 * MINUTE;
      const resolved = await api.call('POST', `${path}/resolve`, { key: KEYS.ben });
      expect([resolved.status, resolved.body.error]).toEqual([200, undefined]);
      expect(resolved.body.alert).toMatchObject({ status: 'resolved', resolvedBy: 'ben' });

      const detail = await api.call('GET', path);
      const changes = detail.body.events.filter((e: any) => e.type !== 'alert.triggered');
      expect(changes.map((e: any) => [e.type, e.by, e.comment])).toEqual([
        ['alert.acknowledged', 'anna', 'looking into it\nwith the courier'],
        ['alert.resolved', 'ben', undefined],
      ]);
      // Each change goes to the webhook receiver (PagerDuty hears only escalated alerts).
      const jobs = await api.app.queues.deliver.getJobs(['waiting', 'delayed', 'prioritized']);
      const delivered = jobs.map((j) => JSON.stringify(j.data));
      for (const e of changes) expect(delivered.some((d) => d.includes(e.id) && d.includes('"hook"'))).toBe(true);

      const again = await api.call('POST', `${path}/resolve`);
      expect([again.status, again.body.error.code]).toEqual([409, 'RW_ERR_ALERT_STATE']);
      const unknown = await api.call('POST', '/api/v1/alerts/nope/acknowledge', { body: {} });
      expect([unknown.status, unknown.body.error.code]).toEqual([404, 'RW_ERR_UNKNOWN_REFERENCE']);
      const badBody = await api.call('POST', `${path}/acknowledge`, { body: { comment: 42 } });
      expect([badBody.status, badBody.body.error.code]).toEqual([400, 'RW_ERR_INPUT_INVALID']);
    });

    it('lists cases and acts on all of a case\u2019s open alerts', async () => {
      const a = makeAlert(400, { minutesAgo: 1, caseId: 'case-400', status: 'triggered', brandId: 'volta-bank' });
      const b = makeAlert(401, { minutesAgo: 1, caseId: 'case-400', status: 'triggered', brandId: 'volta-bank' });
      await seedAlerts(api.app, [a, b]);
      await api.app.store.saveCases([{ id: 'case-400', brandId: 'volta-bank', authorKeys: [], conversationKeys: [], handles: ['klant'], platforms: ['x'], state: 'open', openedAt: T0 - MINUTE, lastPostAt: T0, posts: 2, timeline: [], alertIds: [a.id, b.id] }]);
      const list = await api.call('GET', '/api/v1/cases?brand=volta-bank&state=open');
      expect(ids(list.body.items)).toEqual(['case-400']);

      const acked = await api.call('POST', '/api/v1/cases/case-400/acknowledge', { body: { comment: 'calling the customer' } });
      expect(acked.status).toBe(200);
      expect(acked.body.alerts.map((x: any) => [x.id, x.status, x.acknowledgedBy]).sort()).toEqual([[a.id, 'acknowledged', 'anna'], [b.id, 'acknowledged', 'anna']].sort());
      expect(acked.body.case).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'anna' });
      const twice = await api.call('POST', '/api/v1/cases/case-400/acknowledge', { body: {} });
      expect([twice.status, twice.body.error.code]).toEqual([409, 'RW_ERR_ALERT_STATE']);
      expect((await api.call('GET', '/api/v1/cases/none')).status).toBe(404);
    });
  });

  describe('silences', () => {
    it('creates, lists and expires silences, the key name as creator', async () => {
      const created = await api.call('POST', '/api/v1/silences', { body: { match: { brand: ['snelpost'], topic: ['delivery'] }, endsAt: new Date(api.clock.now + 3_600_000).toISOString(), comment: 'courier strike' } });
      expect(created.status).toBe(201);
      expect(created.body.silence).toMatchObject({ id: expect.stringMatching(/^sil-/), createdBy: 'anna', startsAt: api.clock.now, endsAt: api.clock.now + 3_600_000, comment: 'courier strike' });
      const id = created.body.silence.id;
      expect(await api.app.silences.active(api.clock.now)).toEqual([expect.objectContaining({ id })]);

      const active = await api.call('GET', '/api/v1/silences?state=active');
      expect(active.body.items.map((s: any) => [s.id, s.state])).toEqual([[id, 'active']]);

      const expired = await api.call('DELETE', `/api/v1/silences/${id}`, { key: KEYS.ben });
      expect(expired.body.silence).toMatchObject({ id, expiredBy: 'ben', expiredAt: api.clock.now });
      expect((await api.call('GET', '/api/v1/silences?state=active')).body.items).toEqual([]);
      expect((await api.call('GET', '/api/v1/silences')).body.items.map((s: any) => s.state)).toEqual(['expired']);
      expect(await api.app.silences.active(api.clock.now)).toEqual([]);
    });

    it.each([
      ['no end', { match: { brand: ['snelpost'] } }],
      ['an empty matcher', { match: {}, endsAt: T0 + 3_600_000 }],
      ['an unknown field', { match: { brand: ['snelpost'] }, endsAt: T0 + 3_600_000, createdBy: 'mallory' }],
      ['an end before the start', { match: { brand: ['snelpost'] }, startsAt: T0 + 7_200_000, endsAt: T0 + 3_600_000 }],
      ['a year-long silence', { match: { brand: ['snelpost'] }, endsAt: T0 + 365 * 86_400_000 }],
      ['a bad time', { match: { brand: ['snelpost'] }, endsAt: 'next tuesday' }],
    ])('refuses %s with 400 RW_ERR_INPUT_INVALID, storing nothing', async (_what, body) => {
      const before = (await api.app.silences.list(api.clock.now)).length;
      const res = await api.call('POST', '/api/v1/silences', { body });
      expect([res.status, res.body.error.code]).toEqual([400, 'RW_ERR_INPUT_INVALID']);
      expect((await api.app.silences.list(api.clock.now)).length).toBe(before);
    });

    it('refuses to expire an unknown silence', async () => {
      const res = await api.call('DELETE', '/api/v1/silences/sil-nope');
      expect([res.status, res.body.error.code]).toEqual([404, 'RW_ERR_UNKNOWN_REFERENCE']);
    });
  });

  describe('brands, timeline and report', () => {
    it('lists the brands', async () => {
      const res = await api.call('GET', '/api/v1/brands');
      expect(res.body.items).toEqual([
        { id: 'snelpost', name: 'SnelPost', languages: ['nl', 'en'], topics: ['delivery'] },
        { id: 'volta-bank', name: 'Volta Bank', languages: ['nl', 'en'], topics: [] },
      ]);
    });

    it('counts posts, negative posts and the negative share per bucket, with storms marked', async () => {
      const at = api.clock.now;
      const hourStart = Math.floor((at - 3_600_000) / 600_000) * 600_000;
      const posts = [
        // First bucket: 3 posts, 1 negative.
        [hourStart + 1000, 'negative', false],
        [hourStart + 2000, 'neutral', false],
        [hourStart + 3000, 'positive', false],
        // Third bucket: 4 posts, 3 negative (a neutral complaint counts: complaintsAreNegative).
        [hourStart + 20 * MINUTE + 1, 'negative', false],
        [hourStart + 20 * MINUTE + 2, 'negative', true],
        [hourStart + 20 * MINUTE + 3, 'neutral', true],
        [hourStart + 20 * MINUTE + 4, 'positive', false],
        // Before the range, and another brand's: not counted.
        [hourStart - 1, 'negative', false],
      ] as const;
      await api.app.store.storeMentions([
        ...posts.map(([t, label, complaint], i) => ({ mention: mention('volta-bank', `tl${i}`, t), judgement: judgement(label, complaint), ingestedAt: t })),
        { mention: mention('snelpost', 'tl-snelpost', hourStart + 1000), judgement: judgement('negative'), ingestedAt: at },
      ]);
      const inRange = makeAlert(500, { brandId: 'volta-bank', kind: 'storm', minutesAgo: 30, title: 'Storm in range' });
      const endedBefore = makeAlert(501, { brandId: 'volta-bank', kind: 'storm', minutesAgo: 600, title: 'Old storm', storm: { ...({} as any), endedAt: new Date(at - 500 * MINUTE).toISOString() } });
      await seedAlerts(api.app, [inRange, endedBefore]);

      const res = await api.call('GET', '/api/v1/brands/volta-bank/timeline?since=1h&bucket=10m');
      expect(res.status).toBe(200);
      expect(res.body.buckets[0]).toEqual({ start: new Date(hourStart).toISOString(), posts: 3, negative: 1, negativeShare: 1 / 3 });
      expect(res.body.buckets[2]).toEqual({ start: new Date(hourStart + 20 * MINUTE).toISOString(), posts: 4, negative: 3, negativeShare: 0.75 });
      expect(res.body.buckets.reduce((n: number, b: any) => n + b.posts, 0)).toBe(7);
      expect(res.body.storms.map((s: any) => s.title)).toContain('Storm in range');
      expect(res.body.storms.map((s: any) => s.title)).not.toContain('Old storm');

      for (const q of ['since=90d', 'bucket=1s&since=7d', 'bucket=soon']) {
        const bad = await api.call('GET', `/api/v1/brands/volta-bank/timeline?${q}`);
        expect([q, bad.status, bad.body.error.code]).toEqual([q, 400, 'RW_ERR_INPUT_INVALID']);
      }
      expect((await api.call('GET', '/api/v1/brands/nobody/timeline')).status).toBe(404);
    });

    it('reports per brand', async () => {
      const res = await api.call('GET', '/api/v1/report?since=7d');
      expect(res.status).toBe(200);
      const alerts = await api.app.store.listAlerts({ since: api.clock.now - 7 * 86_400_000 });
      for (const brandId of ['snelpost', 'volta-bank']) {
        const mine = alerts.filter((a) => a.brandId === brandId);
        const report = res.body.brands.find((b: any) => b.brandId === brandId);
        expect(report).toMatchObject({ alerts: mine.length, open: mine.filter((a) => a.status !== 'resolved').length });
      }
      expect((await api.call('GET', '/api/v1/report?since=forever')).status).toBe(400);
    });
  });

  describe('OpenAPI and logs', () => {
    it('publishes a valid OpenAPI 3 document with every route', async () => {
      const res = await api.call('GET', '/openapi.json', { key: null });
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      const routes = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
      for (const route of [
        'GET /api/v1/alerts',
        'GET /api/v1/alerts/{id}',
        'POST /api/v1/alerts/{id}/acknowledge',
        'POST /api/v1/alerts/{id}/resolve',
        'GET /api/v1/storms',
        'GET /api/v1/cases',
        'GET /api/v1/cases/{id}',
        'POST /api/v1/cases/{id}/resolve',
        'GET /api/v1/silences',
        'POST /api/v1/silences',
        'DELETE /api/v1/silences/{id}',
        'GET /api/v1/report',
        'GET /api/v1/brands',
        'GET /api/v1/brands/{id}/timeline',
        'GET /api/v1/events',
        'GET /api/v1/events/stream',
        'POST /api/v1/session',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ]) expect(routes).toContain(route);
      // Every operation answers something, and every schema in it compiles as a JSON Schema.
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
        for (const [method, op] of Object.entries(ops)) {
          expect([p, method, Object.keys(op.responses ?? {}).length > 0]).toEqual([p, method, true]);
          for (const param of op.parameters ?? []) expect(['query', 'path', 'header', 'cookie']).toContain(param.in);
          const schemas = [
            ...Object.values(op.responses ?? {}).flatMap((r: any) => Object.values(r.content ?? {}).map((c: any) => c.schema)),
            ...Object.values(op.requestBody?.content ?? {}).map((c: any) => c.schema),
          ].filter(Boolean);
          for (const schema of schemas) expect(() => ajv.compile(schema)).not.toThrow();
        }
      }
      expect(doc.paths['/api/v1/alerts'].get.parameters.map((x: any) => x.name).sort()).toEqual(['brand', 'cursor', 'kind', 'limit', 'severity', 'since', 'status']);
    });

    it('never writes an API key (or the Authorization header or cookie) to the log', async () => {
      // A request with a wrong key and one with a cookie, so each path has run.
      await api.call('GET', '/api/v1/alerts', { key: 'a-wrong-key-that-is-long-enough' });
      await api.call('GET', '/api/v1/alerts', { key: null, headers: { Cookie: `rw_key=${KEYS.ben}` } });
      expect(api.logLines.length).toBeGreaterThan(0);
      const all = api.logLines.join('\n');
      for (const secret of [...Object.values(KEYS), 'a-wrong-key-that-is-long-enough']) expect(all).not.toContain(secret);
      expect(all.toLowerCase()).not.toContain('authorization');
      expect(all).not.toContain('rw_key=');
    });
  });
});

describe('readiness when a store is down', () => {
  it('answers 503 naming Redis', async () => {
    const api = await startTestApi();
    try {
      // The connection the API checks goes away (as when Redis stops).
      api.app.redis.disconnect();
      const res = await api.call('GET', '/readyz', { key: null });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', checks: { redis: 'down', mongodb: 'ok' }, error: { code: 'RW_ERR_STORE_UNAVAILABLE' } });
      expect(res.body.error.message).toContain('Redis');
    } finally {
      await api.app.store.conn.dropDatabase().catch(() => undefined);
      await api.app.close();
    }
  });

  it('refuses a REPWATCH_HTTP address it cannot use with a coded error', async () => {
    const first = await startTestApi();
    try {
      const port = Number(new URL(first.url).port);
      const deps = { config: { brands: [], receivers: [] } as any, logger: createLogger({ level: 'silent' }), apiKeys: new Map(), store: first.app.store, redis: first.app.redis, prefix: first.app.prefix, alerts: first.app.alerts, silences: first.app.silences, now: Date.now };
      const err = await startApi(deps, { host: '127.0.0.1', port }).then(() => undefined, (e: unknown) => e as RepwatchError);
      expect(err).toBeInstanceOf(RepwatchError);
      expect(err?.code).toBe('RW_ERR_CONFIG_INVALID');
    } finally {
      await first.close();
    }
  });
});

describe('HTTP API: sources and receivers', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('lists every source with its state; a refused one says why', async () => {
    await api.app.sourceHealth.succeeded('snelpost', 's', 12, api.clock.now - 30_000);
    await api.app.sourceHealth.failed('volta-bank', 's', { code: 'RW_ERR_PLATFORM_REJECTED', message: '401 Unauthorized' }, api.clock.now - 10_000);
    const res = await api.call('GET', '/api/v1/sources');
    expect(res.status).toBe(200);
    const byId = new Map(res.body.items.map((s: any) => [`${s.brandId}/${s.sourceId}`, s]));
    expect(byId.get('snelpost/s')).toMatchObject({ platform: 'replay', state: 'ok', health: { consecutiveFailures: 0, postsRecent: 12 } });
    expect(byId.get('volta-bank/s')).toMatchObject({ state: 'refused', health: { consecutiveFailures: 1, lastError: { code: 'RW_ERR_PLATFORM_REJECTED' } } });
    expect((byId.get('volta-bank/s') as any).reason).toContain('credentials');
    expect((await api.call('GET', '/api/v1/sources', { key: null })).status).toBe(401);
  });

  it('shows a receiver disabled by 410 Gone and enables it again as the caller', async () => {
    await api.app.receivers.disable('hook', 'https://example.test/hook answered 410 Gone', 'RW_ERR_RECEIVER_GONE', api.clock.now);
    const list = await api.call('GET', '/api/v1/receivers');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: 'hook', type: 'webhook', state: 'disabled', code: 'RW_ERR_RECEIVER_GONE' }),
      expect.objectContaining({ id: 'oncall', type: 'pagerduty', state: 'enabled' }),
    ]);
    const enabled = await api.call('POST', '/api/v1/receivers/hook/enable');
    expect(enabled.status).toBe(200);
    expect(enabled.body.receiver).toMatchObject({ id: 'hook', state: 'enabled', by: 'anna' });
    expect((await api.app.receivers.get('hook')).state).toBe('enabled');
    const unknown = await api.call('POST', '/api/v1/receivers/nope/enable');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('RW_ERR_UNKNOWN_REFERENCE');
  });
});
