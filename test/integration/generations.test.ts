import { analyze } from '../../src/analysis';
import { Redis } from 'ioredis';
import type { Mention } from '../../src/domain/mention';
import { mentionKey } from '../../src/domain/mention';
import type { EvaluateDeps } from '../../src/services/evaluate';
import { ingestPage } from '../../src/services/ingest';
import { resolveAlert } from '../../src/services/lifecycle';
import type { DeliveryRequest, IngestPage } from '../../src/services/ports';
import { CaseIndex } from '../../src/store/case-index';
import { Locks } from '../../src/store/lock';
import { Store } from '../../src/store/store';
import { influencerPost } from '../fixtures/mention';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName } from '../helpers';

const BRAND = { id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], topics: { rooms: ['kamer', 'room'] }, sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl' }] };
const START = Date.parse('2026-03-10T09:00:00Z');
const MIN = 60_000;

const post = influencerPost;

/**
 * Alert generations are idempotent: a post counted in an alert is never counted again in a later
 * generation of its fingerprint (a re-fetch after the alert was resolved pages nobody), while a
 * new post by the same author opens the next generation (`~2`).
 */
describe('alert generations', () => {
  const dbName = uniqueName('generations');
  const prefix = `{${uniqueName('generations')}}`;
  let store: Store;
  let redis: Redis;
  let deps: EvaluateDeps;
  let clock = START;
  const delivered: DeliveryRequest[] = [];
  const timers: string[] = [];

  beforeAll(async () => {
    const { config } = makeConfig(
      {
        brands: { brands: [BRAND] },
        receivers: { receivers: [{ id: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/hook', secretEnv: 'HOOK_SECRET' }] },
        extra: { 'posts.jsonl': '' },
      },
      { HOOK_SECRET: `whsec_${Buffer.alloc(32, 9).toString('base64')}` },
    );
    store = await Store.connect({ uri: MONGODB_URI(), dbName });
    redis = new Redis(REDIS_URL());
    const dispatch = {
      ingest: async () => undefined,
      pollAgain: async () => undefined,
      deliver: async (requests: DeliveryRequest[]) => void delivered.push(...requests),
      slaTimer: async (alertId: string) => void timers.push(alertId),
      recheck: async () => undefined,
      ingestBacklog: async () => 0,
    };
    deps = { config, store, dispatch, locks: new Locks(redis, prefix), caseIndex: new CaseIndex(redis, prefix), now: () => clock, logger: captureLogger().logger };
  });

  afterAll(async () => {
    await store.conn.dropDatabase();
    await store.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const page = (mentions: Mention[]): IngestPage => ({ brandId: BRAND.id, sourceId: 'r', polledAt: clock, mentions });
  const complaint = post('1001', 'Wat een teleurstelling bij Hotel Zeezicht: de kamer was vies en veel kleiner dan op de foto. Nooit meer!', START);

  it('counts a post once across generations: a replay after resolution opens nothing, a new post opens ~2', async () => {
    const first = await ingestPage(deps, page([complaint]));
    expect(first).toMatchObject({ stored: 1, newEvents: 1, alerts: 1 });
    const [alert] = await store.listAlerts({ brandId: BRAND.id });
    expect(alert).toMatchObject({ severity: 'critical', count: 1, status: 'triggered' });
    expect(alert.id).toBe(alert.fingerprint);
    // The post's case is recorded beside the case (read back by a page that sees the post again).
    const [opened] = await store.listCases(BRAND.id);
    expect(opened).toMatchObject({ posts: 1, alertIds: [alert.id] });
    expect(opened.postKeys).toBeUndefined();
    const recorded = await store.readPageState(BRAND.id, { fingerprints: [], stormKeys: [], postKeys: [mentionKey(complaint)] });
    expect(Object.fromEntries(recorded.postCases)).toEqual({ [mentionKey(complaint)]: [opened.id] });
    expect(await ingestPage(deps, page([complaint]))).toMatchObject({ stored: 0, newEvents: 0 });
    expect((await store.listCases(BRAND.id))[0].posts).toBe(1);

    clock += 10 * MIN;
    await resolveAlert(deps, alert.id, 'anna@example.com');
    const eventsBefore = (await store.eventsAfter(0)).length;
    const deliveredBefore = delivered.length;
    const timersBefore = timers.length;

    // The same post fetched again (a replayed page, a lost cursor): no new alert, no event, no delivery.
    clock += 5 * MIN;
    const replayed = await ingestPage(deps, page([complaint]));
    expect(replayed).toMatchObject({ stored: 0, duplicates: 1, newEvents: 0, alerts: 0, deliveries: 0 });
    expect(await store.listAlerts({ brandId: BRAND.id })).toHaveLength(1);
    expect(await store.eventsAfter(0)).toHaveLength(eventsBefore);
    expect(delivered).toHaveLength(deliveredBefore);
    expect(timers).toHaveLength(timersBefore);
    expect(await store.getAlert(`${alert.fingerprint}~2`)).toBeUndefined();

    // A recheck of the counted post (its engagement measured again) opens nothing either.
    const mention = (await store.getMention(mentionKey(complaint)))!;
    const { evaluatePage } = await import('../../src/services/evaluate');
    const recheck = await evaluatePage(deps, BRAND.id, [{ mention: { ...complaint, engagement: { likes: 4000, reposts: 900, replies: 300, quotes: 80 } }, judgement: mention.judgement, isNew: false, ingestedAt: clock, recheck: true }]);
    expect(recheck).toMatchObject({ newEvents: 0, alerts: 0 });

    // A genuinely new post by the same author on the same topic is the next generation.
    clock += 5 * MIN;
    const again = post('1002', 'Weer bij Hotel Zeezicht, en weer een vieze kamer. Echt waardeloos, nooit meer!', clock);
    const second = await ingestPage(deps, page([complaint, again]));
    expect(second).toMatchObject({ stored: 1, newEvents: 1, alerts: 1 });
    const next = (await store.getAlert(`${alert.fingerprint}~2`))!;
    expect(next).toMatchObject({ status: 'triggered', count: 1, fingerprint: alert.fingerprint });
    expect(next.post.postId).toBe('1002');
    expect((await store.getAlert(alert.id))!).toMatchObject({ status: 'resolved', count: 1 });

    // The replayed post is still not counted in ~2, however often it comes back.
    const third = await ingestPage(deps, page([complaint, again]));
    expect(third).toMatchObject({ newEvents: 0 });
    expect((await store.getAlert(next.id))!.count).toBe(1);
  });

  it('reads memberships recorded before fingerprint records existed (an alert-id key of a later generation)', async () => {
    // As an older version wrote it: only `<alert id>|<post>` for a post counted in ~2 of a fingerprint.
    const fp = `${BRAND.id}/threat/author/legacyauthor/rooms`;
    const legacy = { ...post('2001', 'Hotel Zeezicht: de kamer was vies en waardeloos, nooit meer!', clock), author: { id: 'u-legacy', handle: 'legacyauthor', followers: 312_400, verified: true } };
    await store.setAlertHeads([{ fingerprint: fp, alertId: `${fp}~2`, generation: 2 }]);
    const resolved = { ...(await store.getAlert(`${(await store.listAlerts({ brandId: BRAND.id }))[0].fingerprint}~2`))!, id: `${fp}~2`, fingerprint: fp, status: 'resolved' as const };
    await store.saveAlerts([resolved]);
    // The post was stored when ~2 counted it (memberships are only ever written for stored posts).
    await store.storeMentions([{ mention: legacy, judgement: analyze([{ text: legacy.text }])[0], ingestedAt: clock }]);
    await store.addMembers([{ alertId: `${fp}~2`, postKey: mentionKey(legacy) }]);
    const outcome = await ingestPage(deps, page([legacy]));
    expect(outcome).toMatchObject({ newEvents: 0, alerts: 0 });
    expect(await store.getAlert(`${fp}~3`)).toBeUndefined();
  });
});
