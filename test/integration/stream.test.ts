import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { startStreams } from '../../workers/stream';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

const T0_US = Date.parse('2026-12-01T09:00:00Z') * 1000;
const DID = (i: number) => `did:plc:author${String(i).padStart(20, '0')}`;

/** Jetstream commit events, one second apart: every third mentions the brand. */
const EVENTS = Array.from({ length: 60 }, (_, i) => ({
  did: DID(i % 7),
  time_us: T0_US + i * 1_000_000,
  kind: 'commit',
  commit: {
    rev: `3l${i}`,
    operation: 'create',
    collection: 'app.bsky.feed.post',
    rkey: `3kpost${String(i).padStart(6, '0')}`,
    cid: `bafyrei${i}`,
    record: { $type: 'app.bsky.feed.post', text: i % 3 === 0 ? `Volta Bank app ligt er weer uit, bericht ${i}` : `iets anders ${i}`, langs: ['nl'], createdAt: new Date(T0_US / 1000 + i * 1000).toISOString() },
  },
}));
const MATCHING = EVENTS.filter((_, i) => i % 3 === 0).length;

/**
 * A Jetstream instance of our own: it replays from the requested cursor (as Jetstream does) and,
 * on the first connection, drops the socket after 25 events.
 */
class FakeJetstream {
  readonly cursors: (number | null)[] = [];
  private wss?: WebSocketServer;
  url = '';
  async start(): Promise<void> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => this.wss!.once('listening', () => r()));
    this.url = `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/subscribe`;
    this.wss.on('connection', (socket: WebSocket, req) => {
      const cursor = new URL(req.url ?? '/', 'ws://x').searchParams.get('cursor');
      this.cursors.push(cursor === null ? null : Number(cursor));
      const first = this.cursors.length === 1;
      const from = cursor === null ? 0 : Number(cursor);
      const todo = EVENTS.filter((e) => e.time_us >= from);
      let i = 0;
      const tick = setInterval(() => {
        if (first && i === 25) {
          clearInterval(tick);
          socket.terminate();
          return;
        }
        if (i >= todo.length) return clearInterval(tick);
        socket.send(JSON.stringify(todo[i++]));
      }, 20);
      socket.on('close', () => clearInterval(tick));
    });
  }
  async stop(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    await new Promise((r) => this.wss?.close(r));
  }
}

/** The XRPC calls the stream makes: a session, then profiles for followers. */
async function fakeXrpc(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (url.pathname === '/xrpc/com.atproto.server.createSession') {
      req.resume();
      return res.end(JSON.stringify({ accessJwt: 'access-jwt-stream-test', refreshJwt: 'refresh-jwt-stream-test', handle: 'monitor.bsky.social', did: 'did:plc:monitor' }));
    }
    if (url.pathname === '/xrpc/app.bsky.actor.getProfiles') {
      const actors = url.searchParams.getAll('actors');
      return res.end(JSON.stringify({ profiles: actors.map((did, i) => ({ did, handle: `klant${i}.bsky.social`, displayName: `Klant ${i}`, followersCount: 1200 + i })) }));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: 'MethodNotImplemented', message: url.pathname }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the stream role: one connection per source, kept cursor, nothing lost or stored twice when the connection drops (real Redis and store, local Jetstream)', () => {
  const prefix = `{${uniqueName('stream')}}`;
  const dbName = uniqueName('stream');
  const jetstream = new FakeJetstream();
  let xrpc: { server: Server; url: string };
  const apps: Repwatch[] = [];

  beforeAll(async () => {
    await jetstream.start();
    xrpc = await fakeXrpc();
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await apps[0]?.store.conn.dropDatabase().catch(() => undefined);
    await jetstream.stop();
    await new Promise((r) => xrpc.server.close(r));
    const redis = new Redis(REDIS_URL());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('hands matching posts on as pages, reconnects from its cursor after a drop, and a second process waits its turn', async () => {
    const loaded = makeConfig(
      {
        brands: {
          brands: [
            {
              id: 'volta-bank',
              name: 'Volta Bank',
              keywords: ['volta bank'],
              sources: [{ id: 'bsky', platform: 'bluesky', identifierEnv: 'BSKY_ID', appPasswordEnv: 'BSKY_PASSWORD', baseUrl: xrpc.url, jetstream: jetstream.url, pollEvery: '1h' }],
            },
          ],
        },
      },
      { BSKY_ID: 'monitor.bsky.social', BSKY_PASSWORD: 'abcd-efgh-ijkl-mnop' },
    );
    const common = { ...loaded, logger: captureLogger(() => loaded.secrets.values()).logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix, stream: { batch: { maxPosts: 5, maxWaitMs: 100 }, backoffMs: 100, lockTtlMs: 3_000 } };
    const first = await startRepwatch({ ...common, roles: ['stream', 'ingest'] });
    apps.push(first);
    await waitFor('the first process to hold the source', () => first.streams!.held().includes('volta-bank/bsky'));
    const second = await startRepwatch({ ...common, roles: ['stream'] });
    apps.push(second);

    await waitFor('every matching post stored', async () => (await first.store.models.Mention.countDocuments({})) === MATCHING, 30_000);
    // Dropped after 25 events and connected again from the kept cursor, rewound a little.
    expect(jetstream.cursors.length).toBeGreaterThanOrEqual(2);
    expect(jetstream.cursors[0]).toBeNull();
    expect(jetstream.cursors[1]).toBeGreaterThan(T0_US);
    expect(jetstream.cursors[1]).toBeLessThanOrEqual(T0_US + 25 * 1_000_000);
    // Exactly one connection at a time: the second process never held it.
    expect(second.streams!.held()).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await first.store.models.Mention.countDocuments({})).toBe(MATCHING);
    const one = await first.store.getMention(`bluesky-${(await first.store.models.Mention.collection.findOne({}))!.postId}`);
    expect(one?.author.followers).toBeGreaterThanOrEqual(1200);
    const health = await first.sourceHealth.get('volta-bank', 'bsky', Date.now());
    expect(health.stream?.connected).toBe(true);
    expect(health.postsRecent).toBeGreaterThanOrEqual(MATCHING);

    // The holder stops: the waiting process takes the source over.
    await first.close();
    await waitFor('the second process to take over', () => second.streams!.held().includes('volta-bank/bsky'), 15_000);
  });

  it('closes when stopped while it reads the cursor of a source it has just taken (it used to stay connected, and close waited for ever)', async () => {
    const loaded = makeConfig(
      { brands: { brands: [{ id: 'volta-bank', name: 'Volta Bank', keywords: ['volta bank'], sources: [{ id: 'bsky', platform: 'bluesky', identifierEnv: 'BSKY_ID', appPasswordEnv: 'BSKY_PASSWORD', baseUrl: xrpc.url, jetstream: jetstream.url, pollEvery: '1h' }] }] } },
      { BSKY_ID: 'monitor.bsky.social', BSKY_PASSWORD: 'abcd-efgh-ijkl-mnop' },
    );
    const redis = new Redis(REDIS_URL());
    let reading!: () => void;
    const readingCursor = new Promise<void>((r) => (reading = r));
    let release!: () => void;
    const cursorRead = new Promise<void>((r) => (release = r));
    const role = startStreams({
      config: loaded.config,
      secrets: loaded.secrets,
      redis,
      prefix: `{${uniqueName('stream-close')}}`,
      dispatch: { ingest: async () => undefined },
      // The cursor read is held open until close() has been called.
      sourceState: { get: async () => (reading(), await cursorRead, { cursor: null, resumeAt: 0, hasMore: false }), save: async () => undefined } as never,
      sourceHealth: { streamState: async () => undefined, failed: async () => undefined, succeeded: async () => undefined } as never,
      logger: captureLogger().logger,
      now: Date.now,
      lockTtlMs: 3_000,
    });
    await readingCursor;
    const closed = role.close().then(() => 'closed');
    release();
    const outcome = await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open after 5 s'), 5_000))]);
    expect(outcome).toBe('closed');
    await redis.quit();
  });
});
