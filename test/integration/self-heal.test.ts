import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Mention } from '../../src/domain/mention';
import { Store } from '../../src/store/store';
import { SweepRequests } from '../../src/store/sweep-requests';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';
import { zeezichtPost } from '../fixtures/mention';

const post = (i: number, text: string): Mention => zeezichtPost(1_892_000_000_000_000_000n, i, text, 100);
const POSTS = Array.from({ length: 6 }, (_, i) => post(i + 1, `Hotel Zeezicht bericht nummer ${i + 1}`));

function config() {
  return makeConfig(
    {
      brands: {
        brands: [
          { id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'feed', platform: 'replay', file: 'posts.jsonl', speed: 'max', pageSize: 3, pollEvery: '300ms' }] },
        ],
      },
      extra: { 'posts.jsonl': POSTS.map((p) => JSON.stringify(p)).join('\n') + '\n' },
    },
    {},
  );
}

describe('a job killed mid-run is not lost (real Redis and the MongoDB-compatible server)', () => {
  const prefix = `{${uniqueName('stall')}}`;
  const dbName = uniqueName('stall');
  const apps: Repwatch[] = [];
  let release: () => void = () => undefined;

  afterAll(async () => {
    release();
    for (const a of apps) await a.close();
    await apps[0]?.store.conn.dropDatabase().catch(() => undefined);
    const redis = new Redis(REDIS_URL());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('an ingest worker closed by force with a page active: another worker picks the stalled page up and judges it', async () => {
    const loaded = config();
    const common = { ...loaded, logger: captureLogger().logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix };
    const queuePolicy = { ingest: { lockDuration: 1000, stalledInterval: 500, maxStalledCount: 3 } };
    // The first ingest process hangs in its first page (as if the process froze or was killed mid-write).
    const gate = new Promise<void>((r) => (release = r));
    const storeMentions = Store.prototype.storeMentions;
    let hung = 0;
    const spy = jest.spyOn(Store.prototype, 'storeMentions').mockImplementation(async function (this: Store, ...args) {
      if (hung++ === 0) await gate;
      return storeMentions.apply(this, args);
    });
    try {
      const first = await startRepwatch({ ...common, roles: ['schedule', 'poll', 'ingest'], queuePolicy });
      apps.push(first);
      await waitFor('a page to be active', async () => hung > 0 && (await first.queues.ingest.getActiveCount()) === 1);
      const stalledId = (await first.queues.ingest.getActive())[0].id!;
      // Killed: the worker stops at once, renews no lock, never finishes the page.
      await first.workers.ingest!.close(true);

      const second = await startRepwatch({ ...common, roles: ['ingest'], queuePolicy });
      apps.push(second);
      await waitFor('every post stored', async () => (await second.store.models.Mention.countDocuments({})) === POSTS.length, 30_000);
      const job = await waitFor('the stalled page to complete', async () => {
        const j = await second.queues.ingest.getJob(String(stalledId));
        return j && (await j.getState()) === 'completed' && j;
      });
      expect(job.attemptsMade).toBeGreaterThanOrEqual(1);
      expect(await second.deadLetters.store.list({ status: 'open' })).toEqual([]);
      // The stalled page may have left events marked: the schedule role's next minute sweep is a full one.
      expect(await new SweepRequests(second.redis, prefix).requestedAt()).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });
});

/** A redis-server of our own, so a real restart and FLUSHDB touch nobody else's data. */
class OwnRedis {
  private proc?: ChildProcess;
  readonly dir = mkdtempSync(path.join(tmpdir(), 'rw-redis-'));
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await waitFor('redis-server to answer', async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    }, 10_000);
    probe.disconnect();
  }
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('self-healing after Redis loses its data (own redis-server)', () => {
  let own: OwnRedis;
  let app: Repwatch;
  let redis: Redis;
  const prefix = `{${uniqueName('heal')}}`;
  const dbName = uniqueName('heal');

  beforeAll(async () => {
    own = new OwnRedis(await freePort());
    await own.start();
    redis = new Redis(own.url, { maxRetriesPerRequest: null });
    const loaded = config();
    app = await startRepwatch({ ...loaded, logger: captureLogger().logger, redisUrl: own.url, mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix, schedulerCheckMs: 200 });
  });

  afterAll(async () => {
    await app?.close();
    await app?.store.conn.dropDatabase().catch(() => undefined);
    redis?.disconnect();
    await own?.stop();
  });

  const schedulers = async () => {
    const [poll, sla] = await Promise.all([app.queues.poll.getJobSchedulers(), app.queues.sla.getJobSchedulers()]);
    return [...poll, ...sla].map((s) => s.id ?? s.key).sort();
  };
  const cursorOf = async () => JSON.parse((await redis.hget(`${prefix}:source:hotel-zeezicht:feed`, 'cursor')) ?? 'null') as { offset?: number; done?: boolean } | null;

  it('replays every post, then after FLUSHDB the schedulers come back and the replay is not fetched again', async () => {
    expect(await schedulers()).toEqual(['poll|hotel-zeezicht|feed', 'sla-sweep']);
    await waitFor('the replay to finish', async () => (await cursorOf())?.done === true && (await app.store.models.Mention.countDocuments({})) === POSTS.length);
    // Each judged page leaves the checkpoint just after its job (off the job's path): wait for the last.
    const checkpoints = app.store.conn.db!.collection('source_checkpoints');
    await waitFor('no page left pending in the checkpoint', async () => Object.keys(((await checkpoints.findOne({ _id: 'hotel-zeezicht|feed' } as any)) as any)?.pending ?? { x: 1 }).length === 0);

    await redis.flushdb();
    expect(await schedulers()).toEqual([]);
    await waitFor('the schedulers to be re-created', async () => (await schedulers()).length === 2);
    expect(await schedulers()).toEqual(['poll|hotel-zeezicht|feed', 'sla-sweep']);
    // Timers that went with Redis may be overdue now: the heal asks for the full sweep.
    await waitFor('a full sweep asked for', async () => (await new SweepRequests(redis, prefix).requestedAt()) !== undefined);
    // The next poll reads the cursor back from MongoDB: not from line 0. (At the end of the file, or
    // before a page whose checkpoint entry was still being cleared: that page alone is fetched again.)
    const cursor = await waitFor('the cursor back in Redis', cursorOf);
    expect(cursor!.offset).toBeGreaterThanOrEqual(3);
    await waitFor('the replay to finish again', async () => (await cursorOf())?.done === true);
    expect(await app.store.models.Mention.countDocuments({})).toBe(POSTS.length);
  });

  it('after a real restart of Redis (empty) the schedulers come back without restarting the process', async () => {
    await own.stop();
    await own.start();
    await waitFor('the schedulers to be re-created after the restart', async () => (await schedulers()).length === 2, 20_000);
    expect(await schedulers()).toEqual(['poll|hotel-zeezicht|feed', 'sla-sweep']);
  });

  it('re-arms the SLA timers of critical alerts whose deadline is ahead, once', async () => {
    const deadline = Date.now() + 10 * 60_000;
    const base = { brandId: 'hotel-zeezicht', brandName: 'Hotel Zeezicht', kind: 'complaint', severity: 'critical', topic: 'general', version: 1, count: 1, createdAt: new Date().toISOString() };
    await app.store.models.Alert.collection.insertMany([
      { _id: 'hz/a', id: 'hz/a', fingerprint: 'hz/a', status: 'triggered', slaDeadline: new Date(deadline).toISOString(), ...base },
      { _id: 'hz/b', id: 'hz/b', fingerprint: 'hz/b', status: 'acknowledged', slaDeadline: new Date(deadline).toISOString(), ...base },
      { _id: 'hz/c', id: 'hz/c', fingerprint: 'hz/c', status: 'triggered', slaDeadline: new Date(deadline).toISOString(), escalatedAt: new Date().toISOString(), ...base },
    ] as any[]);
    expect((await app.rearmTimers()).slaTimers).toBe(1);
    expect((await app.rearmTimers()).slaTimers).toBe(1);
    const delayed = (await app.queues.sla.getDelayed()).filter((j) => j.name === 'sla');
    expect(delayed.map((j) => j.id)).toEqual([`sla|hz/a|${deadline}`]);
  });

  it('re-arms the engagement recheck of the lead post of an open alert at its next round, once', async () => {
    const ingestedAt = Date.now() - 6 * 60_000;
    const postKey = 'replay-rechecked-1';
    await app.store.models.Mention.collection.insertOne({ _id: postKey, platform: 'replay', postId: 'rechecked-1', brandId: 'hotel-zeezicht', ingestedAt: new Date(ingestedAt).toISOString(), samples: [{ at: ingestedAt + 300_000, engagement: { likes: 1, reposts: 0, replies: 0, quotes: 0 } }] } as any);
    const post = { platform: 'replay', postId: 'rechecked-1', ingestedAt: new Date(ingestedAt).toISOString() };
    const base = { brandId: 'hotel-zeezicht', brandName: 'Hotel Zeezicht', kind: 'complaint', severity: 'high', topic: 'general', version: 1, count: 1, createdAt: new Date(ingestedAt).toISOString(), updatedAt: new Date(ingestedAt).toISOString() };
    await app.store.models.Alert.collection.insertMany([
      { _id: 'hz/r', id: 'hz/r', fingerprint: 'hz/r', status: 'acknowledged', post, ...base },
      { _id: 'hz/resolved', id: 'hz/resolved', fingerprint: 'hz/resolved', status: 'resolved', post: { ...post, postId: 'other' }, ...base },
    ] as any[]);
    expect((await app.rearmTimers()).rechecks).toBe(1);
    expect((await app.rearmTimers()).rechecks).toBe(1);
    const delayed = (await app.queues.recheck.getDelayed()).filter((j) => j.name === 'recheck');
    // Round 0 was measured (one sample): round 1 (15 min after ingest by default) is next.
    expect(delayed.map((j) => j.id)).toEqual([`recheck|${postKey}|1`]);
    expect(Math.abs(delayed[0].timestamp + delayed[0].delay - (ingestedAt + 900_000))).toBeLessThan(2_000);
  });
});
