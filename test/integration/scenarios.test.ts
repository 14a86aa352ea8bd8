import { buildReport } from '../../src/domain/report';
import { Scenario } from '../scenario/harness';

/**
 * Each scenario (test/scenarios/NAME.yaml) is a scripted timeline played on a fake clock against
 * real Redis and the MongoDB-compatible server; these tests state what must come out of it.
 */
async function play(name: string): Promise<Scenario> {
  const s = Scenario.load(name);
  await s.setUp();
  try {
    await s.play();
  } catch (err) {
    await s.tearDown();
    throw err;
  }
  return s;
}

const MIN = 60_000;

describe('scenario: the athlete nobody acknowledges', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('athlete-unacknowledged');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('pages on-call through PagerDuty once the 2 min 30 s SLA has run out, then follows the alert', async () => {
    const alert = (await s.alertOfPost('athlete'))!;
    expect(alert).toMatchObject({ severity: 'critical', kind: 'complaint', status: 'resolved', resolvedBy: 'anna@example.com', acknowledgedBy: 'anna@example.com' });
    const posted = s.start + 10_000;
    expect(Date.parse(alert.escalatedAt!)).toBe(posted + 150_000);
    expect(s.pagerduty.map((p) => p.action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(s.pagerduty.every((p) => p.dedupKey === alert.fingerprint)).toBe(true);
    expect(s.pagerduty[0].at).toBe(posted + 150_000);
    expect(s.pagerduty[1].at).toBe(s.start + 8 * MIN);
    expect(s.failures).toEqual([]);
  });

  it('tells the webhook consumer each change once, with the reason attached', () => {
    expect(s.webhookTypes()).toEqual({ 'alert.triggered': 1, 'alert.escalated': 1, 'alert.acknowledged': 1, 'alert.resolved': 1 });
    expect(s.received.duplicates).toEqual([]);
    expect(s.received.received.every((r) => r.verified)).toBe(true);
    const triggered = s.received.received.find((r) => r.type === 'alert.triggered')!;
    expect(triggered.body.data.alert.reason).toMatch(/critical threshold of 100,000 followers/);
    expect(triggered.body.data.alert.reason).toMatch(/negative: '/);
  });
});

describe('scenario: the athlete, with the SLA timer lost', () => {
  it('is still escalated by the sweep, once', async () => {
    const s = Scenario.load('athlete-unacknowledged');
    s.file.steps = s.file.steps.slice(0, 3);
    s.loseSlaTimers = true;
    await s.setUp();
    try {
      await s.play();
      expect(s.pagerduty).toEqual([]);
      const alert = (await s.alertOfPost('athlete'))!;
      expect(await s.sweep()).toEqual([alert.id]);
      await s.advanceTo(s.clock);
      expect(await s.sweep()).toEqual([]);
      expect(s.pagerduty.map((p) => p.action)).toEqual(['trigger']);
    } finally {
      await s.tearDown();
    }
  }, 120_000);
});

describe('scenario: the athlete acknowledged in time', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('athlete-acknowledged');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('does not page anyone', async () => {
    const alert = (await s.alertOfPost('athlete'))!;
    expect(alert).toMatchObject({ severity: 'critical', status: 'acknowledged', acknowledgedBy: 'anna@example.com' });
    expect(alert.escalatedAt).toBeUndefined();
    expect(s.pagerduty).toEqual([]);
    expect(s.webhookTypes()).toEqual({ 'alert.triggered': 1, 'alert.acknowledged': 1 });
  });
});

describe('scenario: a pile-on', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('pile-on');
  }, 300_000);
  afterAll(() => s.tearDown());

  it('becomes one storm with its terms, posts and authors, not hundreds of pages', async () => {
    const storms = await s.store.listAlerts({ kind: 'storm' });
    expect(storms).toHaveLength(1);
    const storm = storms[0];
    expect(storm.storm!.negativePosts).toBeGreaterThanOrEqual(250);
    expect(storm.storm!.topTerms.map((t) => t.term)).toEqual(expect.arrayContaining(['sollicitant']));
    expect(storm.storm!.topPosts.length).toBeGreaterThan(0);
    expect(storm.storm!.topAuthors.length).toBeGreaterThan(0);
    expect(storm.reason).toMatch(/negative posts within 10 min/);
    expect(storm.storm!.endedAt).toBeDefined();
    expect(s.pagerduty).toEqual([]);
  });

  it('groups the single-post alerts into the storm and sends few messages', async () => {
    const storm = (await s.store.listAlerts({ kind: 'storm' }))[0];
    const singles = (await s.store.listAlerts({})).filter((a) => a.kind !== 'storm' && Date.parse(a.post.createdAt) >= s.start + 36 * 3600_000);
    expect(singles.length).toBeGreaterThan(100);
    const grouped = singles.filter((a) => a.stormId === storm.id);
    expect(grouped.length / singles.length).toBeGreaterThan(0.9);
    expect(storm.storm!.joinedAlerts).toBe(grouped.length);
    expect(s.webhookTypes()['storm.started']).toBe(1);
    // A handful of single alerts before the storm was recognised, the storm, and its updates by group interval.
    expect(s.received.received.length).toBeLessThan(40);
    expect(s.received.duplicates).toEqual([]);
  });

  it('is handled as one: acknowledging and resolving the storm does the same to its grouped alerts, telling receivers once', async () => {
    const storm = (await s.store.listAlerts({ kind: 'storm' }))[0];
    expect(storm).toMatchObject({ status: 'resolved', resolvedBy: 'anna@example.com' });
    const grouped = (await s.store.listAlerts({})).filter((a) => a.stormId === storm.id);
    expect(grouped.every((a) => a.status === 'resolved' && a.resolvedBy === 'anna@example.com')).toBe(true);
    expect(s.webhookTypes()).toMatchObject({ 'alert.acknowledged': 1, 'alert.resolved': 1 });
    const events = await s.store.eventsAfter(0, 10_000);
    expect(events.filter((e) => e.type === 'alert.resolved')).toHaveLength(grouped.length + 1);
  });
});

describe('scenario: a silence', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('silence');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('holds back what it matches while active and nothing after it expires', async () => {
    const during = (await s.alertOfPost('during'))!;
    const after = (await s.alertOfPost('after'))!;
    expect(during).toBeDefined();
    expect(after).toBeDefined();
    const ids = s.received.received.map((r) => r.body.data.alert.id);
    expect(ids).not.toContain(during.id);
    expect(ids).toContain(after.id);
    expect(s.logLines.some((l) => l.includes('snelpost-strike'))).toBe(true);
  });
});

describe('scenario: retries, duplicates and a thread', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('never-twice');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('counts each post once and never delivers the same event twice to a receiver', async () => {
    const alerts = (await s.store.listAlerts({})).filter((a) => a.kind !== 'opportunity');
    const first = alerts.find((a) => a.post.author.handle === 'jan_jansen')!;
    expect(first.count).toBe(1);
    const thread = alerts.find((a) => a.fingerprint.includes('/thread/'))!;
    expect(thread.count).toBe(2);
    expect(s.received.duplicates).toEqual([]);
    const deliveries = await s.store.models.Delivery.find({}).lean();
    const keys = deliveries.map((d: any) => `${d.eventId}|${d.receiverId}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(deliveries.every((d: any) => d.status === 'sent')).toBe(true);
  });

  it('joins the replies to the thread starter into one case', async () => {
    const cases = await s.store.listCases('snelpost');
    expect(cases).toHaveLength(1);
    expect(cases[0].posts).toBe(3);
  });
});

describe('scenario: recovery after resolution, and one customer across platforms', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('recovery');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('records who recovered and who did not', async () => {
    const cases = await s.store.listCases('snelpost');
    const jan = cases.find((c) => c.handles.includes('jan_jansen') && c.state === 'resolved')!;
    const piet = cases.find((c) => c.handles.includes('piet_p') && c.state === 'resolved')!;
    expect(jan.recovery).toMatchObject({ state: 'recovered' });
    expect(jan.acknowledgedBy).toBe('anna@example.com');
    expect(piet.recovery).toMatchObject({ state: 'not-recovered' });
    const report = buildReport(await s.store.listAlerts({}), cases);
    expect(report[0].recovery).toMatchObject({ recovered: 1, notRecovered: 1, rate: 0.5 });
    expect(report[0].timeToResolve.count).toBe(2);
  });

  it('keeps one customer on two platforms in one case', async () => {
    const cases = await s.store.listCases('snelpost');
    const sanne = cases.filter((c) => c.handles.some((h) => h.toLowerCase().startsWith('sanne')));
    expect(sanne).toHaveLength(1);
    expect([...sanne[0].platforms].sort()).toEqual(['instagram', 'x']);
  });
});

describe('scenario: a small account goes viral', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('viral');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('rechecks the engagement at 5, 15 and 60 minutes and raises the same alert by projected reach', async () => {
    const alerts = (await s.store.listAlerts({})).filter((a) => a.kind !== 'storm');
    expect(alerts).toHaveLength(1);
    const alert = alerts[0];
    expect(alert.severity).toBe('critical');
    expect(alert.count).toBe(1);
    expect(alert.impact.projectedReach).toBeGreaterThan(100_000);
    expect(alert.impact.velocity).toBeGreaterThan(0);
    expect(alert.reason).toMatch(/projected reach [\d,]+ at or above the critical threshold/);
    const stored = await s.store.getMention(`x-${alert.post.postId}`);
    expect(stored?.samples?.map((x) => (x.at - s.start) / 60_000)).toEqual([5, 15, 60]);
    const types = s.received.received.map((r) => r.type);
    expect(types[0]).toBe('alert.triggered');
    expect(s.received.received[0].body.data.alert.severity).toBe('low');
    expect(types).toContain('alert.updated');
    expect(s.received.received[s.received.received.length - 1].body.data.alert.severity).toBe('critical');
    // Critical and nobody acknowledged it: on-call is paged.
    expect(s.pagerduty.map((p) => p.action)).toEqual(['trigger']);
  });
});

describe('scenario: a slow climb', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('slow-climb');
  }, 300_000);
  afterAll(() => s.tearDown());

  it('is caught as a climb although no ten minutes is a spike', async () => {
    const storms = await s.store.listAlerts({ kind: 'storm' });
    expect(storms).toHaveLength(1);
    expect(storms[0].storm!.trigger).toBe('climb');
    const started = Date.parse(storms[0].createdAt);
    expect(started).toBeGreaterThan(s.start + 24 * 3600_000);
    expect(storms[0].storm!.topTerms.map((t) => t.term)).toEqual(expect.arrayContaining(['album']));
    expect(s.webhookTypes()['storm.started']).toBe(1);
  });
});

describe('scenario: a high complaint nobody acknowledges for hours', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('reminder');
  }, 120_000);
  afterAll(() => s.tearDown());

  it('reminds the receiver every repeatInterval until someone acknowledges, each reminder a message of its own', async () => {
    const loud = (await s.alertOfPost('loud'))!;
    expect(loud).toMatchObject({ severity: 'high', status: 'acknowledged' });
    const ofLoud = s.received.received.filter((r) => r.body.data.alert.id === loud.id);
    expect(ofLoud.map((r) => [r.type, r.body.data.reminder ?? 0])).toEqual([
      ['alert.triggered', 0],
      ['alert.triggered', 1],
      ['alert.triggered', 2],
      ['alert.triggered', 3],
      ['alert.acknowledged', 0],
    ]);
    expect(ofLoud.slice(1, 4).map((r) => r.body.data.eventId)).toEqual([1, 2, 3].map((n) => `${ofLoud[0].body.data.eventId}/reminder-${n}`));
    // Sent on the scenario's clock an hour apart (the delivery records keep when).
    const sentAt = async (eventId: string) => ((await s.store.models.Delivery.collection.findOne({ _id: `${eventId}|hook` } as any)) as any).sentAt.getTime();
    const first = await sentAt(ofLoud[0].body.data.eventId);
    expect(await Promise.all(ofLoud.slice(1, 4).map(async (r) => (await sentAt(r.body.data.eventId)) - first))).toEqual([60 * MIN, 120 * MIN, 180 * MIN]);
    expect(s.received.duplicates).toEqual([]);
    expect(s.failures).toEqual([]);
  });

  it('never repeats a low alert, and never sends reminders to on-call', async () => {
    const quiet = (await s.alertOfPost('quiet'))!;
    expect(quiet.severity).toBe('low');
    expect(s.received.received.filter((r) => r.body.data.alert.id === quiet.id).map((r) => r.type)).toEqual(['alert.triggered']);
    expect(s.pagerduty).toEqual([]);
  });
});

describe('scenario: a pile-on about something no topic names', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await play('term-cluster');
  }, 180_000);
  afterAll(() => s.tearDown());

  it("finds the cluster of terms ('storing', 'inloggen') and raises it as a storm, where the brand-wide count stays within its usual noise", async () => {
    const storms = (await s.store.listAlerts({ brandId: 'voltabank', kind: 'storm' })).filter((a) => a.kind === 'storm');
    expect(storms).toHaveLength(1);
    const [storm] = storms;
    expect(storm.topic).toMatch(/^terms:/);
    expect(storm.topic!.split(':')[1].split('+')).toEqual(expect.arrayContaining(['storing']));
    expect(storm.storm!.topTerms.map((t) => t.term)).toEqual(expect.arrayContaining(['storing', 'inloggen']));
    expect(storm.reason).toMatch(/'(app|storing|inloggen)' in \d+ negative posts in 10 min against a usual 0\.0/);
    expect(s.failures).toEqual([]);
  });

  it("groups the app users' single-post alerts into that storm, and none of the background", async () => {
    const [storm] = await s.store.listAlerts({ brandId: 'voltabank', kind: 'storm' });
    const singles = (await s.store.listAlerts({ brandId: 'voltabank' })).filter((a) => a.kind !== 'storm');
    const grouped = singles.filter((a) => a.stormId === storm.id);
    expect(grouped.length).toBeGreaterThanOrEqual(6);
    expect(grouped.every((a) => a.post.author.handle.startsWith('appgebruiker'))).toBe(true);
    // The background complaints are alerts of their own (low), never part of the app storm.
    expect(singles.filter((a) => a.post.author.handle.startsWith('klant')).length).toBeGreaterThanOrEqual(80);
  });
});
