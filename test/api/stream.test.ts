import { pendingKeyOf, redisSequence } from '../../src/store/sequence';
import { KEYS, makeAlert, seedAlerts, startTestApi, type TestApi } from './setup';
import { openStream, type StreamClient } from './sse-client';

const auth = { Authorization: `Bearer ${KEYS.anna}` };
const seqs = (client: StreamClient) => client.events.map((e) => Number(e.id));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the alert stream over HTTP', () => {
  let api: TestApi;
  let n = 0;
  const nextAlerts = (count: number) => Array.from({ length: count }, () => makeAlert(++n, { minutesAgo: 1, status: 'triggered' }));

  beforeAll(async () => {
    api = await startTestApi({ heartbeatMs: 100 });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('pages through the stream in sequence order', async () => {
    await seedAlerts(api.app, nextAlerts(7));
    const stored = (await api.app.store.eventsAfter(0, 1000)).map((e) => e.seq);
    expect(stored.length).toBeGreaterThanOrEqual(7);
    const paged: number[] = [];
    let after = 0;
    for (let i = 0; i < 20; i++) {
      const res = await api.call('GET', `/api/v1/events?after=${after}&limit=3`);
      expect(res.status).toBe(200);
      if (!res.body.items.length) {
        expect(res.body.next).toBe(after);
        break;
      }
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      paged.push(...res.body.items.map((e: any) => e.seq));
      after = res.body.next;
    }
    expect(paged).toEqual(stored);
    expect((await api.call('GET', '/api/v1/events?after=-1')).status).toBe(400);
    expect((await api.call('GET', '/api/v1/events', { key: null })).status).toBe(401);
  });

  it('resumes after Last-Event-ID: every later event once, in order', async () => {
    const first = await openStream(`${api.url}/api/v1/events/stream?after=0`, auth);
    expect(first.status).toBe(200);
    const existing = (await api.app.store.eventsAfter(0, 1000)).map((e) => e.seq);
    await first.waitForEvents(existing.length);
    expect(seqs(first)).toEqual(existing);
    const sample = first.events[0];
    expect(sample.event).toBe('alert.triggered');
    expect(JSON.parse(sample.data)).toMatchObject({ seq: existing[0], type: 'alert.triggered', alert: { id: expect.any(String) } });
    await first.waitForComment();
    expect(first.comments[0].trim()).toBe('ping');
    const lastSeen = first.events[first.events.length - 1].id!;
    first.close();
    await first.closed;

    // While the client is away: two acknowledgements and a new alert.
    const [a, b] = nextAlerts(2);
    await seedAlerts(api.app, [a, b]);
    await api.call('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/acknowledge`, { body: { comment: 'on it' } });
    await api.call('POST', `/api/v1/alerts/${encodeURIComponent(b.id)}/resolve`);
    const missed = (await api.app.store.eventsAfter(Number(lastSeen), 1000)).map((e) => e.seq);
    expect(missed.length).toBe(4);

    // A browser reconnects to the same URL (?after=0) and sends Last-Event-ID, which wins.
    const second = await openStream(`${api.url}/api/v1/events/stream?after=0`, { ...auth, 'Last-Event-ID': lastSeen });
    await second.waitForEvents(missed.length);
    await sleep(300);
    expect(seqs(second)).toEqual(missed);
    expect(second.events.map((e) => e.event)).toEqual(['alert.triggered', 'alert.triggered', 'alert.acknowledged', 'alert.resolved']);
    expect(JSON.parse(second.events[2].data)).toMatchObject({ by: 'anna', comment: 'on it' });

    // And it stays live.
    const [c] = nextAlerts(1);
    await seedAlerts(api.app, [c]);
    await second.waitForEvents(missed.length + 1);
    expect(JSON.parse(second.events[missed.length].data).alertId).toBe(c.id);
    second.close();
  });

  it('starts at the end of the stream when the client names no position', async () => {
    const client = await openStream(`${api.url}/api/v1/events/stream`, auth);
    await client.waitForComment();
    expect(client.events).toEqual([]);
    const [d] = nextAlerts(1);
    await seedAlerts(api.app, [d]);
    await client.waitForEvents(1);
    expect(JSON.parse(client.events[0].data).alertId).toBe(d.id);
    client.close();
  });

  it('refuses a stream without a key, or with a Last-Event-ID it never sent', async () => {
    const noKey = await openStream(`${api.url}/api/v1/events/stream`, {});
    expect(noKey.status).toBe(401);
    const bad = await openStream(`${api.url}/api/v1/events/stream`, { ...auth, 'Last-Event-ID': 'abc' });
    expect(bad.status).toBe(400);
  });

  it('never passes a lower sequence number that becomes visible after a higher one', async () => {
    const sequence = redisSequence(api.app.redis, `${api.app.prefix}:alert-stream-seq`);
    const end = await api.app.store.lastSequence();
    const client = await openStream(`${api.url}/api/v1/events/stream?after=${end}`, auth);

    // A slow writer holds the next number; a fast one takes the number after it and inserts first.
    const slow = await sequence.reserve(1);
    const [late, early] = nextAlerts(2);
    await seedAlerts(api.app, [early]);
    const earlySeq = (await api.app.store.eventsAfter(slow, 10)).find((e) => e.alertId === early.id)!.seq;
    expect(earlySeq).toBe(slow + 1);

    await sleep(400); // several polls
    expect(client.events).toEqual([]);
    const paged = await api.call('GET', `/api/v1/events?after=${end}`);
    expect(paged.body).toEqual({ items: [], next: end });

    // The slow writer's insert lands; only then does either event go out, lower first.
    const lateEvent = { id: `${late.id}/v1/triggered`, seq: slow, type: 'alert.triggered', alertId: late.id, brandId: late.brandId, severity: late.severity, at: late.createdAt, alert: late };
    await api.app.store.models.AlertEvent.collection.insertOne({ _id: lateEvent.id, ...lateEvent } as any);
    await sequence.done!(slow, 1);
    await client.waitForEvents(2);
    expect(seqs(client)).toEqual([slow, slow + 1]);
    expect((await api.call('GET', `/api/v1/events?after=${end}`)).body.items.map((e: any) => e.seq)).toEqual([slow, slow + 1]);
    client.close();
  });

  it('does not wait for numbers that never fill: skipped ones, and writers that died', async () => {
    const sequence = redisSequence(api.app.redis, `${api.app.prefix}:alert-stream-seq`);
    const end = await api.app.store.lastSequence();
    const client = await openStream(`${api.url}/api/v1/events/stream?after=${end}`, auth);
    // A refused insert: the number is released without an event.
    const skipped = await sequence.reserve(1);
    await sequence.done!(skipped, 1);
    // A writer that reserved a minute ago and never finished.
    const abandoned = await sequence.reserve(1);
    await api.app.redis.zadd(pendingKeyOf(`${api.app.prefix}:alert-stream-seq`), Date.now() - 60_000, String(abandoned));

    const [e] = nextAlerts(1);
    await seedAlerts(api.app, [e]);
    await client.waitForEvents(1);
    expect(JSON.parse(client.events[0].data)).toMatchObject({ alertId: e.id, seq: abandoned + 1 });
    client.close();
  });
});

describe('closing the server', () => {
  it('ends open streams and stops', async () => {
    const api = await startTestApi();
    const client = await openStream(`${api.url}/api/v1/events/stream`, auth);
    expect(client.status).toBe(200);
    const started = Date.now();
    await api.close();
    await client.closed;
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
