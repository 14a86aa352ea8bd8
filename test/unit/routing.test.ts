import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkRouting, defaultRouting, routingFileSchema, type QuietHours, type RoutingConfig } from '../../src/config/routing-schema';
import {
  activeSilence,
  matches,
  nextNotificationAt,
  quietUntil,
  MAX_REMINDERS,
  receiversFor,
  reminderDue,
  repeatDueAt,
  routeAlert,
  type Matcher,
  type RoutableAlert,
  type Silence,
} from '../../src/domain/routing';

const RECEIVERS = ['demo-webhook', 'slack-bot', 'pagerduty-oncall'];
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const at = (iso: string): number => Date.parse(iso);

function parse(yamlText: string): RoutingConfig {
  return routingFileSchema.parse(parseYaml(yamlText));
}

function issuesOf(value: unknown): { path: string; message: string }[] {
  const r = routingFileSchema.safeParse(value);
  if (r.success) throw new Error('expected the routing file to be rejected');
  return r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

const alert = (over: Partial<RoutableAlert> = {}): RoutableAlert => ({
  brandId: 'snelpost',
  kind: 'complaint',
  severity: 'medium',
  lang: 'nl',
  platform: 'x',
  topic: 'general',
  authorHandle: '@klant123',
  ...over,
});

const tree = parse(`
route:
  receivers: [demo-webhook]
  groupWait: 30s
  groupInterval: 5m
  repeatInterval: 4h
  quietHours: night
  routes:
    - match: { kind: [storm], brand: [snelpost] }
      receivers: [slack-bot, pagerduty-oncall]
      groupWait: 0s
      quietHours: null
      continue: true
    - match: { minSeverity: high, lang: [nl], platform: [x] }
      receivers: [slack-bot]
      groupInterval: 2m
      routes:
        - match: { brand: [voltabank] }
          receivers: [pagerduty-oncall]
          groupInterval: 1m
        - match: { topic: [fraude] }
          groupWait: 10s
    - match: { brand: [snelpost] }
      receivers: [demo-webhook]
      repeatInterval: 1h
quietHours:
  night: { timezone: Europe/Amsterdam, start: "22:00", end: "07:00" }
`);

describe('matchers', () => {
  const cases: [string, Matcher | undefined, Partial<RoutableAlert>, boolean][] = [
    ['no matcher matches everything', undefined, {}, true],
    ['empty matcher matches everything', {}, {}, true],
    ['brand in list', { brand: ['voltabank', 'snelpost'] }, {}, true],
    ['brand not in list', { brand: ['voltabank'] }, {}, false],
    ['kind', { kind: ['storm'] }, { kind: 'storm' }, true],
    ['severity list', { severity: ['critical', 'low'] }, { severity: 'low' }, true],
    ['severity list miss', { severity: ['critical', 'low'] }, { severity: 'medium' }, false],
    ['minSeverity equal', { minSeverity: 'high' }, { severity: 'high' }, true],
    ['minSeverity above', { minSeverity: 'high' }, { severity: 'critical' }, true],
    ['minSeverity below', { minSeverity: 'high' }, { severity: 'medium' }, false],
    ['lang', { lang: ['en'] }, { lang: 'nl' }, false],
    ['platform', { platform: ['x', 'reddit'] }, { platform: 'reddit' }, true],
    ['topic', { topic: ['staking'] }, { topic: 'staking' }, true],
    ['author without @, other case', { author: ['KLANT123'] }, {}, true],
    ['author with @', { author: ['@klant123'] }, { authorHandle: 'klant123' }, true],
    ['author other', { author: ['@iemand'] }, {}, false],
    ['author required but unknown', { author: ['@klant123'] }, { authorHandle: undefined }, false],
    ['every field must match', { brand: ['snelpost'], kind: ['storm'] }, { kind: 'complaint' }, false],
  ];
  it.each(cases)('%s', (_name, m, over, expected) => {
    expect(matches(m, alert(over))).toBe(expected);
  });
});

describe('routeAlert', () => {
  const cases: [string, Partial<RoutableAlert>, string[]][] = [
    ['no child matches: the root itself', { brandId: 'hotel-zeezicht', severity: 'info' }, ['route']],
    ['other language falls through to the brand route', { severity: 'critical', lang: 'en' }, ['route.routes.2']],
    ['below minSeverity', { brandId: 'voltabank', severity: 'medium' }, ['route']],
    ['continue: storm reaches the next matching route too', { kind: 'storm', severity: 'high' }, ['route.routes.0', 'route.routes.1']],
    ['continue then a later sibling', { kind: 'storm', severity: 'low' }, ['route.routes.0', 'route.routes.2']],
    ['no continue: the first match stops the search', { severity: 'high' }, ['route.routes.1']],
    ['nested route', { brandId: 'voltabank', severity: 'critical' }, ['route.routes.1.routes.0']],
    ['first nested match wins', { brandId: 'voltabank', severity: 'critical', topic: 'fraude' }, ['route.routes.1.routes.0']],
    ['second nested route', { severity: 'high', topic: 'fraude' }, ['route.routes.1.routes.1']],
    ['fall back to the parent when no child matches', { brandId: 'hotel-zeezicht', severity: 'high' }, ['route.routes.1']],
  ];
  it.each(cases)('%s', (_name, over, paths) => {
    expect(routeAlert(tree.route, alert(over)).map((r) => r.path)).toEqual(paths);
  });

  it('inherits timers and quiet hours, and receivers when a child names none', () => {
    const [nested] = routeAlert(tree.route, alert({ brandId: 'voltabank', severity: 'critical' }));
    expect(nested).toEqual({ receivers: ['pagerduty-oncall'], groupWait: 30 * S, groupInterval: M, repeatInterval: 4 * H, quietHours: 'night', path: 'route.routes.1.routes.0' });
    const [fraud] = routeAlert(tree.route, alert({ severity: 'high', topic: 'fraude' }));
    expect(fraud).toEqual({ receivers: ['slack-bot'], groupWait: 10 * S, groupInterval: 2 * M, repeatInterval: 4 * H, quietHours: 'night', path: 'route.routes.1.routes.1' });
  });

  it('quietHours: null switches inherited quiet hours off', () => {
    const [storm] = routeAlert(tree.route, alert({ kind: 'storm', severity: 'low' }));
    expect(storm.quietHours).toBeUndefined();
    expect(storm).toMatchObject({ receivers: ['slack-bot', 'pagerduty-oncall'], groupWait: 0, groupInterval: 5 * M });
  });

  it('uses the parent receivers only when no child matched (like Alertmanager)', () => {
    const receivers = routeAlert(tree.route, alert({ severity: 'high' })).flatMap((r) => r.receivers);
    expect(receivers).toEqual(['slack-bot']);
  });

  it('fills in default timers for a root without them', () => {
    expect(routeAlert({ receivers: ['a'] }, alert())).toEqual([{ receivers: ['a'], groupWait: 30 * S, groupInterval: 5 * M, repeatInterval: 4 * H, path: 'route' }]);
  });
});

describe('receiversFor', () => {
  it('lists each receiver once, with the shortest timers of the routes that reach it', () => {
    const got = receiversFor(tree.route, alert({ kind: 'storm', severity: 'high' }));
    expect([...got.keys()]).toEqual(['slack-bot', 'pagerduty-oncall']);
    // slack-bot: groupWait 0 from the storm route, groupInterval 2m from the severity route;
    // the storm route has no quiet hours, so the merged entry has none.
    expect(got.get('slack-bot')).toEqual({ receivers: ['slack-bot'], groupWait: 0, groupInterval: 2 * M, repeatInterval: 4 * H, path: 'route.routes.0' });
    expect(got.get('pagerduty-oncall')).toEqual({ receivers: ['pagerduty-oncall'], groupWait: 0, groupInterval: 5 * M, repeatInterval: 4 * H, path: 'route.routes.0' });
  });

  it('keeps quiet hours when every route reaching the receiver has them', () => {
    const doc = parse(`
route:
  receivers: [demo-webhook]
  quietHours: night
  routes:
    - { match: { brand: [snelpost] }, receivers: [demo-webhook, slack-bot], groupWait: 1m, continue: true }
    - { match: { lang: [nl] }, receivers: [slack-bot], groupWait: 20s, repeatInterval: 1h }
quietHours:
  night: { timezone: Europe/Amsterdam, start: "22:00", end: "07:00" }
`);
    const got = receiversFor(doc.route, alert());
    expect(got.size).toBe(2);
    expect(got.get('slack-bot')).toEqual({ receivers: ['slack-bot'], groupWait: 20 * S, groupInterval: 5 * M, repeatInterval: H, quietHours: 'night', path: 'route.routes.0' });
    expect(got.get('demo-webhook')).toMatchObject({ groupWait: M, path: 'route.routes.0' });
  });

  it('defaultRouting sends everything to every receiver at once', () => {
    const got = receiversFor(defaultRouting(RECEIVERS).route, alert({ severity: 'info' }));
    expect([...got.keys()]).toEqual(RECEIVERS);
    for (const r of got.values()) expect(r).toMatchObject({ groupWait: 0, path: 'route' });
  });
});

describe('activeSilence', () => {
  const silences: Silence[] = parse(`
route: { receivers: [] }
silences:
  - id: snelpost-strike
    match: { brand: [snelpost], topic: [staking] }
    startsAt: 2026-11-27T08:00:00Z
    endsAt: 2026-11-28T08:00:00Z
    createdBy: anna@example.com
  - id: troll
    match: { author: [TrollAccount] }
    startsAt: 2026-11-01T00:00:00+01:00
    endsAt: 2026-12-01T00:00:00+01:00
    createdBy: anna@example.com
`).silences;
  const strike = alert({ topic: 'staking' });
  const cases: [string, RoutableAlert, number, string | undefined][] = [
    ['active', strike, at('2026-11-27T12:00:00Z'), 'snelpost-strike'],
    ['active from startsAt exactly', strike, at('2026-11-27T08:00:00Z'), 'snelpost-strike'],
    ['not yet started', strike, at('2026-11-27T07:59:59.999Z'), undefined],
    ['active until just before endsAt', strike, at('2026-11-28T07:59:59.999Z'), 'snelpost-strike'],
    ['expired exactly at endsAt', strike, at('2026-11-28T08:00:00Z'), undefined],
    ['other topic', alert({ topic: 'levering' }), at('2026-11-27T12:00:00Z'), undefined],
    ['other brand', alert({ brandId: 'voltabank', topic: 'staking' }), at('2026-11-27T12:00:00Z'), undefined],
    ['author silence, handle in another case', alert({ brandId: 'voltabank', authorHandle: '@trollaccount' }), at('2026-11-15T12:00:00Z'), 'troll'],
    ['offset in startsAt respected', alert({ authorHandle: 'trollaccount' }), at('2026-10-31T23:30:00Z'), 'troll'],
  ];
  it.each(cases)('%s', (_name, a, now, expected) => {
    expect(activeSilence(silences, a, now)?.id).toBe(expected);
  });
});

describe('quietUntil', () => {
  const night: QuietHours = { timezone: 'Europe/Amsterdam', start: '22:00', end: '07:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], except: 'critical' };
  const weeknights: QuietHours = { ...night, days: ['mon', 'tue', 'wed', 'thu', 'fri'] };
  const lunch: QuietHours = { ...night, start: '12:00', end: '13:30', days: ['sat', 'sun'] };
  // Windows ending inside the hour the clocks skip or repeat on the DST change dates.
  const early: QuietHours = { ...night, start: '01:00', end: '02:30' };
  const newYork: QuietHours = { ...night, timezone: 'America/New_York' };

  // 2026-01-14 is a Wednesday; Amsterdam is UTC+1 in winter and UTC+2 in summer.
  const cases: [string, QuietHours, string, string, string | undefined][] = [
    ['inside, before midnight', night, 'high', '2026-01-14T22:00:00Z', '2026-01-15T06:00:00Z'],
    ['inside, after midnight', night, 'high', '2026-01-15T02:00:00Z', '2026-01-15T06:00:00Z'],
    ['from start exactly', night, 'low', '2026-01-14T21:00:00Z', '2026-01-15T06:00:00Z'],
    ['one minute before start', night, 'low', '2026-01-14T20:59:00Z', undefined],
    ['at end exactly', night, 'low', '2026-01-15T06:00:00Z', undefined],
    ['outside, daytime', night, 'info', '2026-01-14T11:00:00Z', undefined],
    ['critical goes through', night, 'critical', '2026-01-14T23:00:00Z', undefined],
    ['except high lets high through', { ...night, except: 'high' }, 'high', '2026-01-14T23:00:00Z', undefined],
    ['summer time', night, 'medium', '2026-07-01T21:00:00Z', '2026-07-02T05:00:00Z'],
    ['over the spring-forward night (2026-03-29)', night, 'medium', '2026-03-28T23:00:00Z', '2026-03-29T05:00:00Z'],
    ['spring-forward evening, already summer time', night, 'medium', '2026-03-29T20:00:00Z', '2026-03-30T05:00:00Z'],
    ['over the fall-back night (2026-10-25)', night, 'medium', '2026-10-24T21:00:00Z', '2026-10-25T06:00:00Z'],
    ['fall-back night, after the repeated hour', night, 'medium', '2026-10-25T03:00:00Z', '2026-10-25T06:00:00Z'],
    ['end skipped by spring-forward: ends at the jump', early, 'low', '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z'],
    ['end repeated by fall-back: first pass', early, 'low', '2026-10-24T23:30:00Z', '2026-10-25T00:30:00Z'],
    ['end repeated by fall-back: second pass', early, 'low', '2026-10-25T01:10:00Z', '2026-10-25T01:30:00Z'],
    ['between the two passes', early, 'low', '2026-10-25T00:45:00Z', undefined],
    ['days: friday night is quiet', weeknights, 'low', '2026-01-16T22:00:00Z', '2026-01-17T06:00:00Z'],
    ['days: saturday morning belongs to friday night', weeknights, 'low', '2026-01-17T05:00:00Z', '2026-01-17T06:00:00Z'],
    ['days: saturday night is not', weeknights, 'low', '2026-01-17T22:00:00Z', undefined],
    ['days: monday morning belongs to sunday night', weeknights, 'low', '2026-01-19T02:00:00Z', undefined],
    ['days: tuesday morning belongs to monday night', weeknights, 'low', '2026-01-20T02:00:00Z', '2026-01-20T06:00:00Z'],
    ['daytime window on a listed day', lunch, 'low', '2026-01-17T11:15:00Z', '2026-01-17T12:30:00Z'],
    ['daytime window on another day', lunch, 'low', '2026-01-16T11:15:00Z', undefined],
    ['another time zone', newYork, 'low', '2026-01-15T04:00:00Z', '2026-01-15T12:00:00Z'],
  ];
  it.each(cases)('%s', (_name, q, severity, now, expected) => {
    const got = quietUntil(q, severity as QuietHours['except'], at(now));
    expect(got === undefined ? undefined : new Date(got).toISOString()).toBe(expected === undefined ? undefined : new Date(expected).toISOString());
  });

  it('is fast enough to call for every notification', () => {
    const start = performance.now();
    for (let i = 0; i < 5000; i++) quietUntil(night, 'low', at('2026-01-14T22:00:00Z') + i * 7 * M);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe('grouping timers', () => {
  const timers = { groupWait: 30 * S, groupInterval: 5 * M };
  const now = at('2026-05-01T12:00:00Z');
  const cases: [string, object, string, number][] = [
    ['first event waits groupWait', {}, 'alert.triggered', now + 30 * S],
    ['counts from the first event', { firstEventAt: now - 10 * S }, 'alert.updated', now + 20 * S],
    ['never before now', { firstEventAt: now - H }, 'alert.updated', now],
    ['after a send, waits for groupInterval', { firstEventAt: now - H, lastSentAt: now - M }, 'alert.updated', now + 4 * M],
    ['groupInterval already over', { lastSentAt: now - 10 * M }, 'alert.updated', now],
    ['escalation goes at once', { lastSentAt: now - M }, 'alert.escalated', now],
    ['acknowledgement goes at once', {}, 'alert.acknowledged', now],
    ['resolution goes at once', { lastSentAt: now - S }, 'alert.resolved', now],
    ['storm start is grouped like a trigger', {}, 'storm.started', now + 30 * S],
  ];
  it.each(cases)('nextNotificationAt: %s', (_name, log, type, expected) => {
    expect(nextNotificationAt(timers, log, type, now)).toBe(expected);
  });

  it('repeatDueAt', () => {
    expect(repeatDueAt(4 * H, {})).toBeUndefined();
    expect(repeatDueAt(4 * H, { firstEventAt: now })).toBeUndefined();
    expect(repeatDueAt(4 * H, { lastSentAt: now })).toBe(now + 4 * H);
  });
});

describe('routing file', () => {
  it('parses the shipped example, which passes the checks', () => {
    const doc = routingFileSchema.parse(parseYaml(readFileSync(path.join(__dirname, '../../config/routing.example.yaml'), 'utf8')));
    expect(checkRouting(doc, RECEIVERS)).toEqual([]);
    expect(doc.route).toMatchObject({ groupWait: 0, groupInterval: 5 * M, repeatInterval: 4 * H });
    expect(doc.quietHours.night).toMatchObject({ start: '22:00', end: '07:00', except: 'critical' });
    expect(doc.silences[0]).toMatchObject({ id: 'snelpost-strike', startsAt: at('2026-11-27T08:00:00Z'), endsAt: at('2026-11-28T08:00:00Z') });
  });

  it('applies defaults', () => {
    const doc = parse('route: { receivers: [demo-webhook] }\nquietHours: { q: { timezone: UTC, start: "22:00", end: "06:00" } }');
    expect(doc.route).toEqual({ receivers: ['demo-webhook'], groupWait: 30 * S, groupInterval: 5 * M, repeatInterval: 4 * H, routes: [] });
    expect(doc.quietHours.q.days).toHaveLength(7);
    expect(doc.quietHours.q.except).toBe('critical');
    expect(doc.silences).toEqual([]);
  });

  it('defaultRouting passes the checks', () => {
    expect(checkRouting(defaultRouting(RECEIVERS), RECEIVERS)).toEqual([]);
    expect(defaultRouting(RECEIVERS).route.groupWait).toBe(0);
  });

  it('reports every cross-reference problem at once', () => {
    const doc = parse(`
route:
  receivers: [demo-webhook, ghost]
  quietHours: nacht
  routes:
    - match: { brand: [snelpost] }
      receivers: [slack-bot, pager]
      quietHours: weekend
      routes:
        - { receivers: [gone] }
quietHours:
  night: { timezone: Europe/Amsterdm, start: "22:00", end: "07:00" }
  never: { timezone: UTC, start: "08:00", end: "08:00" }
silences:
  - { id: a, match: { brand: [snelpost], topic: [staking] }, startsAt: 2026-11-27T08:00:00Z, endsAt: 2026-11-28T08:00:00Z, createdBy: anna }
  - { id: b, match: { topic: [staking], brand: [snelpost] }, startsAt: 2026-11-28T07:00:00Z, endsAt: 2026-11-29T08:00:00Z, createdBy: bob }
  - { id: c, match: { brand: [snelpost], topic: [staking] }, startsAt: 2026-11-30T08:00:00Z, endsAt: 2026-11-30T08:00:00Z, createdBy: bob }
  - { id: a, match: { brand: [voltabank] }, startsAt: 2026-11-27T08:00:00Z, endsAt: 2026-11-26T08:00:00Z, createdBy: bob }
  - { id: d, match: { brand: [snelpost] }, startsAt: 2026-11-27T08:00:00Z, endsAt: 2026-11-28T08:00:00Z, createdBy: bob }
`);
    const problems = checkRouting(doc, RECEIVERS);
    expect(problems.map((p) => p.path)).toEqual([
      'route.receivers.1',
      'route.quietHours',
      'route.routes.0.receivers.1',
      'route.routes.0.quietHours',
      'route.routes.0.routes.0.receivers.0',
      'quietHours.night.timezone',
      'quietHours.never.end',
      'silences.2.endsAt',
      'silences.3.id',
      'silences.3.endsAt',
      'silences.1',
    ]);
    const text = problems.map((p) => p.message).join('\n');
    expect(text).toContain('unknown receiver "ghost"');
    expect(text).toContain('unknown quiet hours "weekend" (defined: night, never)');
    expect(text).toContain('"Europe/Amsterdm" is not an IANA time zone');
    expect(text).toContain('start and end are both 08:00');
    expect(text).toContain('silence id "a" is used more than once');
    expect(text).toContain('silence "c" ends at or before it starts');
    expect(text).toContain('silence b overlaps silence a');
    // d has other matchers and c an empty range: neither overlaps a.
    expect(text).not.toMatch(/silence [cd] overlaps/);
  });

  it('accepts back-to-back silences with equal matchers', () => {
    const doc = parse(`
route: { receivers: [] }
silences:
  - { id: a, match: { brand: [snelpost] }, startsAt: 2026-11-27T08:00:00Z, endsAt: 2026-11-28T08:00:00Z, createdBy: anna }
  - { id: b, match: { brand: [snelpost] }, startsAt: 2026-11-28T08:00:00Z, endsAt: 2026-11-29T08:00:00Z, createdBy: anna }
`);
    expect(checkRouting(doc, [])).toEqual([]);
  });

  const silence = { id: 's', match: { brand: ['snelpost'] }, startsAt: '2026-11-27T08:00:00Z', endsAt: '2026-11-28T08:00:00Z', createdBy: 'anna' };
  const rejects: [string, unknown, string, RegExp][] = [
    ['unknown top-level key', { route: { receivers: [] }, inhibit: [] }, '', /unrecognized key/i],
    ['unknown route key', { route: { receivers: [], routes: [{ receiver: 'x' }] } }, 'route.routes.0', /unrecognized key/i],
    ['unknown matcher key', { route: { receivers: [], routes: [{ match: { brands: ['x'] } }] } }, 'route.routes.0.match', /unrecognized key/i],
    ['match on the root', { route: { receivers: [], match: { brand: ['x'] } } }, 'route', /unrecognized key/i],
    ['root without receivers', { route: {} }, 'route.receivers', /./],
    ['severity and minSeverity', { route: { receivers: [], routes: [{ match: { severity: ['high'], minSeverity: 'high' } }] } }, 'route.routes.0.match.minSeverity', /not both/],
    ['bad duration', { route: { receivers: [], groupWait: '5 minutes' } }, 'route.groupWait', /a duration like/],
    ['bad quiet hours time', { route: { receivers: [] }, quietHours: { q: { timezone: 'UTC', start: '24:00', end: '07:00' } } }, 'quietHours.q.start', /local time/],
    ['unknown quiet hours key', { route: { receivers: [] }, quietHours: { q: { timezone: 'UTC', start: '22:00', end: '07:00', exempt: 'high' } } }, 'quietHours.q', /unrecognized key/i],
    ['silence without createdBy', { route: { receivers: [] }, silences: [{ ...silence, createdBy: undefined }] }, 'silences.0.createdBy', /./],
    ['silence without endsAt', { route: { receivers: [] }, silences: [{ ...silence, endsAt: undefined }] }, 'silences.0.endsAt', /./],
    ['silence with a bad date', { route: { receivers: [] }, silences: [{ ...silence, startsAt: '27-11-2026' }] }, 'silences.0.startsAt', /./],
    ['silence matching everything', { route: { receivers: [] }, silences: [{ ...silence, match: {} }] }, 'silences.0.match', /at least one matcher/],
    ['unknown silence key', { route: { receivers: [] }, silences: [{ ...silence, expires: '1d' }] }, 'silences.0', /unrecognized key/i],
  ];
  it.each(rejects)('rejects %s', (_name, value, at, message) => {
    const issues = issuesOf(value);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: at, message: expect.stringMatching(message) })]));
  });
});

describe('reminderDue: which alerts are sent again while nobody acknowledges them', () => {
  it.each([
    ['a high alert, first reminder', { status: 'triggered', severity: 'high' }, 1, true],
    ['a critical alert', { status: 'triggered', severity: 'critical' }, 3, true],
    ['the last reminder', { status: 'triggered', severity: 'high' }, MAX_REMINDERS, true],
    ['past the last reminder', { status: 'triggered', severity: 'high' }, MAX_REMINDERS + 1, false],
    ['reminder 0 is the first send, not a reminder', { status: 'triggered', severity: 'high' }, 0, false],
    ['acknowledged', { status: 'acknowledged', severity: 'critical' }, 1, false],
    ['resolved', { status: 'resolved', severity: 'critical' }, 1, false],
    ['grouped into a storm (the storm reminds instead)', { status: 'triggered', severity: 'high', stormId: 's1' }, 1, false],
    ['medium', { status: 'triggered', severity: 'medium' }, 1, false],
    ['low', { status: 'triggered', severity: 'low' }, 1, false],
  ])('%s', (_label, alert, n, due) => {
    expect(reminderDue(alert, n)).toBe(due);
  });
});
