import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { mastodonSourceSchema, type MastodonSourceConfig } from '../../src/config/sources/mastodon';
import type { Cursor, StreamHandlers } from '../../src/connectors/connector';
import { htmlToText, mastodonConnector, mastodonHashtags, type MastodonPollContext, type MastodonStreamContext } from '../../src/connectors/mastodon';
import type { Mention } from '../../src/domain/mention';
import { RepwatchError } from '../../src/domain/errors';
import { hashtagLink, reblogOf, status } from '../fixtures/mastodon/statuses';

const TOKEN = 'mastodon-user-token-Zx81kq0p3secret';
const INSTANCE = 'https://mastodon.social';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const RESET_ISO = '2025-06-01T12:05:00.000Z';

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme', 'acme bank'],
  handles: ['@AcmeBank'],
  languages: ['nl', 'en'],
  sources: [],
  topics: {},
  exclude: [],
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

function sourceOf(extra: Record<string, unknown> = {}): MastodonSourceConfig {
  return mastodonSourceSchema.parse({ id: 'masto', platform: 'mastodon', instance: INSTANCE, hashtags: ['acmebank'], accessTokenEnv: 'MASTODON_TOKEN', ...extra });
}

function ctx(cursor: Cursor | null = null, source = sourceOf()): MastodonPollContext {
  return { brand, source, cursor, now: NOW, secrets: new Secrets([['MASTODON_TOKEN', TOKEN]]), configDir: '/tmp', logger: pino({ level: 'silent' }) };
}

const rate = (remaining: number) => ({ 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset': RESET_ISO });

// Statuses in the docs' shape. Ids grow with time, as Mastodon's do.
const complaint = status({
  id: '114600000000000010',
  createdAt: '2025-06-01T11:50:00.000Z',
  html: `<p>Al drie dagen kan ik niet inloggen bij Acme Bank &amp; niemand neemt op ${hashtagLink('acmebank')}</p><p>Zie <a href="https://status.acme.example/incident/42" rel="nofollow noopener noreferrer" target="_blank"><span class="invisible">https://</span><span class="ellipsis">status.acme.example/incident/</span><span class="invisible">42</span></a></p>`,
  tags: ['acmebank'],
  acct: 'klant_nl',
  accountId: '109000000000000001',
  displayName: 'Klant NL',
  followers: 37,
  language: 'nl',
  counts: { favourites: 11, reblogs: 6, replies: 5 },
});
const remoteReply = status({
  id: '114600000000000012',
  createdAt: '2025-06-01T11:55:00.000Z',
  html: '<p><span class="h-card"><a href="https://mastodon.social/@AcmeBank" class="u-url mention">@<span>AcmeBank</span></a></span> jullie app crasht weer<br />#acmebank</p>',
  tags: ['acmebank'],
  acct: 'botje@bots.example',
  accountId: '109000000000000002',
  displayName: 'Status Bot',
  followers: 250000,
  bot: true,
  language: null,
  spoiler: 'Acme storing',
  inReplyToId: '114600000000000005',
  url: null,
});
// On the hashtag timeline through its tags metadata only: nothing in its text is about the brand.
const unrelated = status({ id: '114600000000000011', createdAt: '2025-06-01T11:52:00.000Z', html: '<p>Sunset over the harbour</p>', tags: ['acmebank'] });
const old = status({ id: '114590000000000001', createdAt: '2025-05-30T09:00:00.000Z', html: '<p>Acme bank was fine two days ago</p>', tags: ['acmebank'] });
const noAccount = { ...status({ id: '114600000000000013', createdAt: '2025-06-01T11:56:00.000Z', html: '<p>acme down</p>' }), account: undefined };

const newestFirst = (...items: unknown[]) => items;

function expectTimeline(tag: string, code: number, body: unknown, headers: Record<string, string> = rate(299)) {
  const seen: { query?: Record<string, string>; auth?: string } = {};
  const scope = nock(INSTANCE)
    .get(`/api/v1/timelines/tag/${tag}`)
    .query((q) => {
      seen.query = q as Record<string, string>;
      return true;
    })
    .reply(
      function () {
        seen.auth = this.req.headers.authorization as string | undefined;
        return [code, typeof body === 'string' ? body : JSON.stringify(body), headers];
      },
    );
  return { scope, seen };
}

async function failure(p: Promise<unknown>): Promise<RepwatchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('mastodonSourceSchema', () => {
  it('fills the defaults and normalises hashtags', () => {
    const s = mastodonSourceSchema.parse({ id: 'm', platform: 'mastodon', instance: INSTANCE, hashtags: ['#AcmeBank'] });
    expect(s).toMatchObject({ hashtags: ['acmebank'], search: false, pollEvery: 120_000 });
    expect(s.accessTokenEnv).toBeUndefined();
  });

  it('refuses a plain-http instance, search without a token, spaces in a hashtag and unknown fields', () => {
    expect(mastodonSourceSchema.safeParse({ id: 'm', platform: 'mastodon', instance: 'http://mastodon.social' }).success).toBe(false);
    const noToken = mastodonSourceSchema.safeParse({ id: 'm', platform: 'mastodon', instance: INSTANCE, search: true });
    expect(noToken.success).toBe(false);
    expect(noToken.error?.issues.map((i) => i.path.join('.'))).toContain('search');
    expect(mastodonSourceSchema.safeParse({ id: 'm', platform: 'mastodon', instance: INSTANCE, hashtags: ['acme bank'] }).success).toBe(false);
    expect(mastodonSourceSchema.safeParse({ id: 'm', platform: 'mastodon', instance: INSTANCE, tokenEnv: 'X' }).success).toBe(false);
  });

  it('derives hashtags from the brand keywords when none are configured', () => {
    expect(mastodonHashtags({}, brand)).toEqual(['acme', 'acmebank']);
    expect(mastodonHashtags({}, { keywords: [], handles: ['@AcmeBank'] })).toEqual(['acmebank']);
    expect(mastodonHashtags({ hashtags: ['Acme_NL'] }, brand)).toEqual(['acme_nl']);
  });
});

describe('htmlToText', () => {
  it('keeps paragraphs and line breaks, joins split link text and decodes entities once', () => {
    expect(htmlToText('<p>a &amp;lt;b&amp;gt; &quot;c&quot; &#39;d&#39; &#x1F600;</p><p>e<br>f</p>')).toBe('a &lt;b&gt; "c" \'d\' 😀\n\ne\nf');
    expect(htmlToText('<p><a href="x"><span class="invisible">https://</span><span class="ellipsis">example.com/a</span><span class="invisible">bc</span></a></p>')).toBe('https://example.com/abc');
  });
});

describe('mastodonConnector.poll', () => {
  it('first poll: newest page without min_id, last 24 h only, brand-matched, mapped from the Status entity', async () => {
    const { scope, seen } = expectTimeline('acmebank', 200, newestFirst(noAccount, remoteReply, unrelated, complaint, old));
    const r = await mastodonConnector.poll(ctx());
    scope.done();

    expect(seen.query).toEqual({ limit: '40' });
    expect(seen.auth).toBe(`Bearer ${TOKEN}`);
    expect(r.mentions.map((m) => m.postId)).toEqual([remoteReply.id, complaint.id]);
    expect(r.mentions[1]).toEqual({
      platform: 'mastodon',
      postId: complaint.id,
      url: `https://mastodon.social/@klant_nl/${complaint.id}`,
      brandId: 'acme',
      author: { id: '109000000000000001', handle: 'klant_nl@mastodon.social', name: 'Klant NL', followers: 37, verified: false },
      text: 'Al drie dagen kan ik niet inloggen bij Acme Bank & niemand neemt op #acmebank\n\nZie https://status.acme.example/incident/42',
      langHint: 'nl',
      createdAt: '2025-06-01T11:50:00.000Z',
      engagement: { likes: 11, reposts: 6, replies: 5, quotes: 0 },
    } satisfies Mention);
    // Remote bot account: acct kept as is, spoiler text first, null url → uri, null language → no hint.
    expect(r.mentions[0]).toMatchObject({
      author: { id: '109000000000000002', handle: 'botje@bots.example', followers: 250000, verified: false },
      text: 'Acme storing\n\n@AcmeBank jullie app crasht weer\n#acmebank',
      url: `https://bots.example/users/botje/statuses/${remoteReply.id}`,
      replyToId: '114600000000000005',
    });
    expect(r.mentions[0].langHint).toBeUndefined();
    expect(r.skipped).toEqual([{ postId: noAccount.id, reason: 'the status has no account (id and acct)' }]);
    // The cursor moves past everything read, the skipped status included; a first poll never asks for more.
    expect(r.cursor).toEqual({ acmebank: noAccount.id });
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBeUndefined();
  });

  it('pages forward with min_id: a full page means more, an empty page keeps the cursor', async () => {
    const page = Array.from({ length: 40 }, (_, i) =>
      status({ id: String(114600000000000100n + BigInt(39 - i)), createdAt: '2025-06-01T11:59:00.000Z', html: `<p>acme bank ${i}</p>`, tags: ['acmebank'] }),
    );
    const first = expectTimeline('acmebank', 200, page);
    const r1 = await mastodonConnector.poll(ctx({ acmebank: '114600000000000099', 'search:acme': '5' }));
    first.scope.done();
    expect(first.seen.query).toEqual({ limit: '40', min_id: '114600000000000099' });
    expect(r1.mentions).toHaveLength(40);
    expect(r1.hasMore).toBe(true);
    expect(r1.cursor).toEqual({ acmebank: '114600000000000139', 'search:acme': '5' });

    const second = expectTimeline('acmebank', 200, []);
    const r2 = await mastodonConnector.poll(ctx(r1.cursor));
    second.scope.done();
    expect(second.seen.query).toEqual({ limit: '40', min_id: '114600000000000139' });
    expect(r2).toEqual({ mentions: [], cursor: r1.cursor, hasMore: false });
  });

  it('reads every derived hashtag once per poll and hands on a post found on two of them once', async () => {
    const both = status({ id: '114600000000000020', createdAt: '2025-06-01T11:58:00.000Z', html: '<p>Acme storing #acme #acmebank</p>', tags: ['acme', 'acmebank'] });
    const a = expectTimeline('acme', 200, [both]);
    const b = expectTimeline('acmebank', 200, [both, complaint]);
    const r = await mastodonConnector.poll(ctx(null, sourceOf({ hashtags: undefined })));
    a.scope.done();
    b.scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual([both.id, complaint.id]);
    expect(r.cursor).toEqual({ acme: both.id, acmebank: both.id });
  });

  it('treats a boost as the boosted post, under its own id, and moves the cursor by the boost', async () => {
    const boost = reblogOf(complaint, '114600000000000030', '2025-06-01T11:59:30.000Z');
    // The boosted post itself is older than the cursor: only the boost brings it.
    const { scope } = expectTimeline('acmebank', 200, [boost]);
    const r = await mastodonConnector.poll(ctx({ acmebank: '114600000000000020' }));
    scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual([complaint.id]);
    expect(r.mentions[0]).toMatchObject({ author: { handle: 'klant_nl@mastodon.social', followers: 37 }, engagement: { likes: 11, reposts: 6, replies: 5 } });
    expect(r.cursor).toEqual({ acmebank: boost.id });
  });

  it('searches statuses for each keyword with a token, with its own cursor', async () => {
    const seen: Record<string, string>[] = [];
    const timeline = expectTimeline('acmebank', 200, []);
    const search = nock(INSTANCE)
      .get((uri) => uri.startsWith('/api/v2/search?'))
      .times(2)
      .reply(function (uri) {
        seen.push(Object.fromEntries(new URL(uri, INSTANCE).searchParams));
        return [200, { accounts: [], statuses: seen.length === 1 ? [complaint] : [], hashtags: [] }, rate(290)];
      });
    const r = await mastodonConnector.poll(ctx({ acmebank: '1', 'search:acme': '114600000000000001' }, sourceOf({ search: true })));
    timeline.scope.done();
    search.done();
    expect(seen).toEqual([
      { q: 'acme', type: 'statuses', limit: '40', min_id: '114600000000000001' },
      { q: 'acme bank', type: 'statuses', limit: '40' },
    ]);
    expect(r.mentions.map((m) => m.postId)).toEqual([complaint.id]);
    expect(r.cursor).toEqual({ acmebank: '1', 'search:acme': complaint.id });
  });

  it('stops at X-RateLimit-Remaining 0 and waits until X-RateLimit-Reset', async () => {
    const { scope } = expectTimeline('acme', 200, [complaint], rate(0));
    // No interceptor for #acmebank: asking for it would fail the test.
    const r = await mastodonConnector.poll(ctx(null, sourceOf({ hashtags: undefined })));
    scope.done();
    expect(r.mentions.map((m) => m.postId)).toEqual([complaint.id]);
    expect(r.resumeAt).toBe(Date.parse(RESET_ISO));
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toEqual({ acme: complaint.id });
  });

  it('throws RW_ERR_PLATFORM_RATE_LIMITED on a 429 with nothing read yet, waiting until the reset', async () => {
    expectTimeline('acmebank', 429, { error: 'Too many requests' }, rate(0));
    const err = await failure(mastodonConnector.poll(ctx({ acmebank: '5' })));
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(5 * 60_000);
    expect(err.message).toContain('HTTP 429');
  });

  it('keeps what was read when a later hashtag answers 429', async () => {
    expectTimeline('acme', 200, [complaint]);
    expectTimeline('acmebank', 429, { error: 'Too many requests' }, rate(0));
    const r = await mastodonConnector.poll(ctx({ acme: '1', acmebank: '2' }, sourceOf({ hashtags: undefined })));
    expect(r.mentions.map((m) => m.postId)).toEqual([complaint.id]);
    expect(r.cursor).toEqual({ acme: complaint.id, acmebank: '2' });
    expect(r.resumeAt).toBe(Date.parse(RESET_ISO));
    expect(r.hasMore).toBe(false);
  });

  it('turns 401 "The access token is invalid" into RW_ERR_PLATFORM_REJECTED without the token', async () => {
    expectTimeline('acmebank', 401, { error: 'The access token is invalid' });
    const err = await failure(mastodonConnector.poll(ctx()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe('Mastodon mastodon.social hashtag timeline #acmebank answered HTTP 401 (The access token is invalid)');
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(TOKEN);
  });

  it('scrubs the token when an error body echoes it', async () => {
    expectTimeline('acmebank', 403, { error: `token ${TOKEN} lacks read:statuses` });
    const err = await failure(mastodonConnector.poll(ctx()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toContain('[Redacted]');
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(TOKEN);
  });

  it('answers malformed bodies with RW_ERR_PAYLOAD_MALFORMED', async () => {
    expectTimeline('acmebank', 200, '<html>maintenance</html>', { 'content-type': 'text/html' });
    expect((await failure(mastodonConnector.poll(ctx()))).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expectTimeline('acmebank', 200, { error: 'unexpected' });
    const err = await failure(mastodonConnector.poll(ctx()));
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.message).toContain('not an array');
  });

  it('maps 5xx and network failures to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    expectTimeline('acmebank', 503, { error: 'Service Unavailable' });
    expect((await failure(mastodonConnector.poll(ctx()))).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    nock(INSTANCE).get('/api/v1/timelines/tag/acmebank').query(true).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    const err = await failure(mastodonConnector.poll(ctx()));
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });

  it('reads a hashtag the server has never seen (404 Record not found) as empty', async () => {
    expectTimeline('acmebank', 404, { error: 'Record not found' });
    const r = await mastodonConnector.poll(ctx({ acmebank: '7' }));
    expect(r).toEqual({ mentions: [], cursor: { acmebank: '7' }, hasMore: false });
  });

  it('skips a status that does not fit (missing account) and keeps the rest of the page', async () => {
    const broken = { ...status({ id: '114600000000000040', createdAt: '2025-06-01T11:59:00.000Z', html: '<p>acme</p>' }), created_at: 'yesterday' };
    expectTimeline('acmebank', 200, [broken, noAccount, complaint]);
    const r = await mastodonConnector.poll(ctx({ acmebank: '1' }));
    expect(r.mentions.map((m) => m.postId)).toEqual([complaint.id]);
    expect(r.skipped).toEqual([
      { postId: broken.id, reason: 'the status has no valid created_at' },
      { postId: noAccount.id, reason: 'the status has no account (id and acct)' },
    ]);
    expect(r.cursor).toEqual({ acmebank: broken.id });
  });
});

describe('mastodonConnector.engagement', () => {
  it('looks counts up with id[] and leaves out deleted statuses', async () => {
    const uris: string[] = [];
    nock(INSTANCE)
      .get((uri) => uri.startsWith('/api/v1/statuses?'))
      .reply(function (uri) {
        uris.push(uri);
        expect(this.req.headers.authorization).toBe(`Bearer ${TOKEN}`);
        return [200, [{ ...complaint, favourites_count: 40, reblogs_count: 12, replies_count: 9 }, remoteReply]];
      });
    const m = await mastodonConnector.engagement(ctx(), [complaint.id, remoteReply.id, '114600000000000666']);
    expect(new URL(uris[0], INSTANCE).searchParams.getAll('id[]')).toEqual([complaint.id, remoteReply.id, '114600000000000666']);
    expect([...m.keys()]).toEqual([complaint.id, remoteReply.id]);
    expect(m.get(complaint.id)).toEqual({ likes: 40, reposts: 12, replies: 9, quotes: 0 });
  });

  it('asks in batches of 20 and refuses more than 100 ids', async () => {
    const sizes: number[] = [];
    nock(INSTANCE)
      .get((uri) => uri.startsWith('/api/v1/statuses?'))
      .times(3)
      .reply(function (uri) {
        sizes.push(new URL(uri, INSTANCE).searchParams.getAll('id[]').length);
        return [200, []];
      });
    const ids = Array.from({ length: 45 }, (_, i) => String(1000 + i));
    expect((await mastodonConnector.engagement(ctx(), ids)).size).toBe(0);
    expect(sizes).toEqual([20, 20, 5]);
    const err = await failure(mastodonConnector.engagement(ctx(), Array.from({ length: 101 }, (_, i) => String(i))));
    expect(err.code).toBe('RW_ERR_INPUT_INVALID');
  });

  it('throws RW_ERR_PLATFORM_RATE_LIMITED with the wait on 429', async () => {
    nock(INSTANCE)
      .get((uri) => uri.startsWith('/api/v1/statuses?'))
      .reply(429, { error: 'Too many requests' }, rate(0));
    const err = await failure(mastodonConnector.engagement(ctx(), ['1']));
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(5 * 60_000);
  });
});

// ---- streaming, against a real WebSocket server on 127.0.0.1 -----------------------------------

interface Server {
  wss: WebSocketServer;
  url: string;
  connected: Promise<{ socket: WebSocket; req: IncomingMessage; subscriptions: unknown[] }>;
  close(): Promise<void>;
}

/** A local stand-in for the streaming server: checks the bearer token at upgrade and waits for one subscribe per tag. */
async function startStreamingServer(tagCount: number): Promise<Server> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info, cb) => (info.req.headers.authorization === `Bearer ${TOKEN}` ? cb(true) : cb(false, 401, 'Unauthorized')),
  });
  await once(wss, 'listening');
  const connected = new Promise<{ socket: WebSocket; req: IncomingMessage; subscriptions: unknown[] }>((resolve) => {
    wss.on('connection', (socket, req) => {
      const subscriptions: unknown[] = [];
      socket.on('message', (data) => {
        subscriptions.push(JSON.parse(data.toString()));
        if (subscriptions.length === tagCount) resolve({ socket, req, subscriptions });
      });
    });
  });
  return {
    wss,
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

const event = (tag: string, name: string, payload: unknown) => JSON.stringify({ stream: ['hashtag', tag], event: name, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

function recorder(onPost?: (m: Mention) => void, onPosition?: (c: Cursor) => void) {
  const posts: { mention: Mention; cursor: Cursor }[] = [];
  const positions: Cursor[] = [];
  let opened = 0;
  const handlers: StreamHandlers = {
    opened: () => void opened++,
    post: (mention, cursor) => {
      posts.push({ mention, cursor });
      onPost?.(mention);
    },
    position: (cursor) => {
      positions.push(cursor);
      onPosition?.(cursor);
    },
  };
  return { handlers, posts, positions, opened: () => opened };
}

function streamCtx(server: Server, signal: AbortSignal, cursor: Cursor | null, extra: Record<string, unknown> = {}, token = TOKEN): MastodonStreamContext {
  return {
    brand,
    source: sourceOf({ hashtags: ['acme', 'acmebank'], baseUrl: server.url, ...extra }),
    cursor,
    now: () => NOW,
    secrets: new Secrets([['MASTODON_TOKEN', token]]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
    signal,
  };
}

describe('mastodonConnector.streaming', () => {
  let server: Server;
  beforeAll(() => nock.enableNetConnect(/127\.0\.0\.1/));
  afterAll(() => nock.disableNetConnect());
  beforeEach(async () => {
    server = await startStreamingServer(2);
  });
  afterEach(() => server.close());

  const p2 = status({ id: '114600000000000050', createdAt: '2025-06-01T11:59:50.000Z', html: '<p>Acme bank app kapot #acme</p>', tags: ['acme'] });

  it('subscribes per hashtag with the token in a header, hands on matching posts once with the cursor, resolves on abort', async () => {
    const controller = new AbortController();
    const rec = recorder((m) => {
      if (m.postId === p2.id) controller.abort();
    });
    const done = mastodonConnector.streaming.stream(streamCtx(server, controller.signal, { acme: '100', 'search:acme': '9' }), rec.handlers);

    const { socket, req, subscriptions } = await server.connected;
    expect(req.url).toBe('/api/v1/streaming');
    expect(subscriptions).toEqual([
      { type: 'subscribe', stream: 'hashtag', tag: 'acme' },
      { type: 'subscribe', stream: 'hashtag', tag: 'acmebank' },
    ]);
    const boost = reblogOf(complaint, '114600000000000045', '2025-06-01T11:59:40.000Z');
    socket.send(event('acmebank', 'update', complaint));
    socket.send(event('acme', 'update', unrelated));
    socket.send(event('acmebank', 'update', boost));
    socket.send(event('acmebank', 'status.update', { ...complaint, content: '<p>edited: Acme Bank still down</p>' }));
    socket.send(event('acmebank', 'delete', complaint.id));
    socket.send('not json at all');
    socket.send(event('acme', 'update', '{"truncated'));
    socket.send(event('acme', 'update', p2));
    const closed = once(socket, 'close');

    await expect(done).resolves.toBeUndefined();
    await closed;
    expect(rec.opened()).toBe(1);
    expect(rec.posts.map((p) => p.mention.postId)).toEqual([complaint.id, p2.id]);
    expect(rec.posts[0].cursor).toEqual({ acme: '100', acmebank: complaint.id, 'search:acme': '9' });
    expect(rec.posts[1].cursor).toEqual({ acme: p2.id, acmebank: boost.id, 'search:acme': '9' });
    expect(rec.posts[1].mention).toMatchObject({ platform: 'mastodon', text: 'Acme bank app kapot #acme', author: { handle: 'klant_nl@mastodon.social' } });
    // Progress without a post: the unrelated status and the boost moved their hashtag's position.
    expect(rec.positions).toEqual([
      { acme: unrelated.id, acmebank: complaint.id, 'search:acme': '9' },
      { acme: unrelated.id, acmebank: boost.id, 'search:acme': '9' },
    ]);
  });

  it('rejects with RW_ERR_PLATFORM_UNAVAILABLE when the server kills the connection, after delivering every post once', async () => {
    const controller = new AbortController();
    const sentinel = status({ id: '114600000000000060', createdAt: '2025-06-01T11:59:55.000Z', html: '<p>nothing to see</p>', tags: ['acme'] });
    let kill: () => void = () => undefined;
    const rec = recorder(undefined, (c) => {
      if (c.acme === sentinel.id) kill();
    });
    const done = mastodonConnector.streaming.stream(streamCtx(server, controller.signal, null), rec.handlers);
    const { socket } = await server.connected;
    kill = () => socket.terminate();
    socket.send(event('acmebank', 'update', complaint));
    socket.send(event('acme', 'update', p2));
    socket.send(event('acmebank', 'update', reblogOf(complaint, '114600000000000055', '2025-06-01T11:59:52.000Z')));
    socket.send(event('acme', 'status.update', p2));
    socket.send(event('acme', 'update', sentinel));

    const err = await failure(done);
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(rec.posts.map((p) => p.mention.postId)).toEqual([complaint.id, p2.id]);
    expect(rec.posts.at(-1)?.cursor).toEqual({ acmebank: complaint.id, acme: p2.id });
    expect(err.message).not.toContain(TOKEN);
    controller.abort();
  });

  it('rejects with RW_ERR_PLATFORM_REJECTED when the upgrade is refused with 401, without the token in the error', async () => {
    const wrong = 'revoked-token-Q7w2e9r4';
    const rec = recorder();
    const err = await failure(mastodonConnector.streaming.stream(streamCtx(server, new AbortController().signal, null, {}, wrong), rec.handlers));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toContain('HTTP 401');
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toContain(wrong);
    expect(rec.opened()).toBe(0);
  });

  it('rejects with RW_ERR_PLATFORM_REJECTED when a subscription is refused on the open socket', async () => {
    const rec = recorder();
    const done = mastodonConnector.streaming.stream(streamCtx(server, new AbortController().signal, null), rec.handlers);
    const { socket } = await server.connected;
    socket.send(JSON.stringify({ error: 'Access token does not cover required scopes', status: 401 }));
    const err = await failure(done);
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toContain('Access token does not cover required scopes');
  });

  it('needs a token, and resolves at once when already aborted', async () => {
    const rec = recorder();
    const noToken = streamCtx(server, new AbortController().signal, null, { accessTokenEnv: undefined });
    const err = await failure(mastodonConnector.streaming.stream(noToken, rec.handlers));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toContain('accessTokenEnv');

    const aborted = new AbortController();
    aborted.abort();
    await expect(mastodonConnector.streaming.stream(streamCtx(server, aborted.signal, null), rec.handlers)).resolves.toBeUndefined();
    expect(server.wss.clients.size).toBe(0);
    expect(rec.opened()).toBe(0);
  });
});
