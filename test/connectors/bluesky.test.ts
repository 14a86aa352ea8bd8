import type { AddressInfo } from 'node:net';
import nock from 'nock';
import pino from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { blueskySourceSchema, type BlueskySourceConfig } from '../../src/config/sources/bluesky';
import type { Cursor } from '../../src/connectors/connector';
import {
  blueskyConnector,
  blueskyPostId,
  blueskyPostUri,
  blueskySearchTerms,
  jetstreamUrl,
  resetBlueskyState,
  type BlueskyPollContext,
  type BlueskyStreamContext,
} from '../../src/connectors/bluesky';
import { RepwatchError } from '../../src/domain/errors';
import { mentionKey, type Mention } from '../../src/domain/mention';
import searchFixture from '../fixtures/bluesky/search-posts.json';
import profilesFixture from '../fixtures/bluesky/get-profiles.json';
import { fakeJwt, jetAccount, jetDelete, jetIdentity, jetLike, jetPost, plc, postView, profile, sessionBody, tid } from '../fixtures/bluesky/builders';

const PDS = 'https://pds.test';
const IDENT = 'acme-monitor.bsky.social';
const PASSWORD = 'k3v9-x2qa-77bn-wq4t';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const NOW_S = NOW / 1000;
const RESET = NOW_S + 240;
const ACCESS1 = fakeJwt(NOW_S + 7200, 'access1');
const REFRESH1 = fakeJwt(NOW_S + 90 * 86400, 'refresh1');
const ACCESS2 = fakeJwt(NOW_S + 9000, 'access2');
const REFRESH2 = fakeJwt(NOW_S + 91 * 86400, 'refresh2');

const source: BlueskySourceConfig = blueskySourceSchema.parse({
  id: 'bsky',
  platform: 'bluesky',
  identifierEnv: 'BSKY_IDENTIFIER',
  appPasswordEnv: 'BSKY_APP_PASSWORD',
  baseUrl: PDS,
});

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme', 'acme bank'],
  handles: ['@AcmeBank'],
  exclude: [],
  languages: ['nl', 'en'],
  sources: [],
  topics: {},
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

const secrets = () =>
  new Secrets([
    ['BSKY_IDENTIFIER', IDENT],
    ['BSKY_APP_PASSWORD', PASSWORD],
    ['BSKY_PDS_URL', 'https://pds-from-env.test'],
  ]);

function ctx(cursor: Cursor | null = null, over: Partial<BlueskyPollContext> = {}): BlueskyPollContext {
  return { brand, source, cursor, now: NOW, secrets: secrets(), configDir: '/tmp', logger: pino({ level: 'silent' }), ...over };
}

const rateHeaders = (remaining: number, reset = RESET) => ({
  'ratelimit-limit': '3000',
  'ratelimit-remaining': String(remaining),
  'ratelimit-reset': String(reset),
  'ratelimit-policy': '3000;w=300',
});

// ---- XRPC intercepts --------------------------------------------------------------------------

function expectCreateSession(reply: { status?: number; body?: unknown } = {}, host = PDS) {
  const seen: { body?: unknown } = {};
  const scope = nock(host)
    .post('/xrpc/com.atproto.server.createSession', (b) => {
      seen.body = b;
      return true;
    })
    .reply(reply.status ?? 200, (reply.body ?? sessionBody(ACCESS1, REFRESH1)) as nock.Body, rateHeaders(29));
  return { scope, seen };
}

function expectSearch(status: number, body: unknown, opts: { headers?: Record<string, string>; token?: string; host?: string } = {}) {
  const seen: Record<string, string>[] = [];
  const scope = nock(opts.host ?? PDS)
    .matchHeader('authorization', `Bearer ${opts.token ?? ACCESS1}`)
    .get('/xrpc/app.bsky.feed.searchPosts')
    .query((q) => {
      seen.push(q as Record<string, string>);
      return true;
    })
    .reply(status, body as nock.Body, opts.headers ?? rateHeaders(2999));
  return { scope, seen };
}

/** The values of a repeated query parameter in an intercepted request's path. */
function listParam(uri: string, name: string): string[] {
  return new URL(uri, 'https://x.test').searchParams.getAll(name);
}

/** Intercepts getProfiles calls and records the actors of each. */
function expectProfiles(profiles: unknown[], opts: { times?: number; token?: string; host?: string } = {}) {
  const calls: string[][] = [];
  const scope = nock(opts.host ?? PDS)
    .matchHeader('authorization', `Bearer ${opts.token ?? ACCESS1}`)
    .get('/xrpc/app.bsky.actor.getProfiles')
    .times(opts.times ?? 1)
    .query(true)
    .reply(
      200,
      (uri) => {
        const wanted = listParam(uri, 'actors');
        calls.push(wanted);
        return { profiles: (profiles as { did: string }[]).filter((p) => wanted.includes(p.did)) };
      },
      rateHeaders(2998),
    );
  return { scope, calls };
}

async function pollError(c = ctx()): Promise<RepwatchError> {
  const err = await blueskyConnector.poll(c).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

beforeAll(() => {
  nock.disableNetConnect();
  // The Jetstream tests use a real WebSocket server on the loopback interface.
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
});
/** Streams to abort and servers to close after each test, also when it failed half-way (else jest never exits). */
const cleanups: (() => unknown)[] = [];
/** An AbortController whose stream is stopped after the test. */
function controller(): AbortController {
  const ac = new AbortController();
  cleanups.unshift(() => ac.abort());
  return ac;
}

beforeEach(() => resetBlueskyState());
afterEach(async () => {
  nock.cleanAll();
  for (const c of cleanups.splice(0)) await c();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

const BIG = 'did:plc:bigvoice2222222222222222';
const JAN = 'did:plc:jannl222222222222222222a';
const ACME = 'did:plc:acmebank3333333333333333';

// ---- config -------------------------------------------------------------------------------------

describe('blueskySourceSchema', () => {
  it('fills the documented defaults and names the credentials by environment variable', () => {
    const s = blueskySourceSchema.parse({ id: 'b', platform: 'bluesky', identifierEnv: 'BSKY_ID', appPasswordEnv: 'BSKY_PW' });
    expect(s).toEqual({
      id: 'b',
      platform: 'bluesky',
      identifierEnv: 'BSKY_ID',
      appPasswordEnv: 'BSKY_PW',
      service: 'https://bsky.social',
      jetstream: 'wss://jetstream2.us-east.bsky.network/subscribe',
      pollEvery: 120_000,
    });
  });

  it('rejects a password given inline, unknown fields, a non-WebSocket jetstream URL and a bad language tag', () => {
    const base = { id: 'b', platform: 'bluesky', identifierEnv: 'BSKY_ID', appPasswordEnv: 'BSKY_PW' };
    expect(blueskySourceSchema.safeParse({ ...base, appPassword: 'secret' }).success).toBe(false);
    expect(blueskySourceSchema.safeParse({ ...base, appPasswordEnv: 'not an env name' }).success).toBe(false);
    expect(blueskySourceSchema.safeParse({ ...base, jetstream: 'https://jetstream2.us-east.bsky.network/subscribe' }).success).toBe(false);
    expect(blueskySourceSchema.safeParse({ ...base, lang: 'Dutch' }).success).toBe(false);
    expect(blueskySourceSchema.safeParse({ ...base, lang: 'nl', pollEvery: '5m' }).success).toBe(true);
  });
});

// ---- ids and terms ------------------------------------------------------------------------------

describe('post ids and search terms', () => {
  it('maps a DID and record key to an id without ":" and back to the at:// URI', () => {
    expect(blueskyPostId(BIG, '3lbigvoice22a')).toBe('plc.bigvoice2222222222222222_3lbigvoice22a');
    expect(blueskyPostUri('plc.bigvoice2222222222222222_3lbigvoice22a')).toBe(`at://${BIG}/app.bsky.feed.post/3lbigvoice22a`);
    // did:web with a port (percent-encoded in the DID) and a record key with '_' and ':' survive the round trip.
    const odd = blueskyPostId('did:web:localhost%3A2583', 'a_b:c');
    expect(odd).not.toContain(':');
    expect(blueskyPostUri(odd)).toBe('at://did:web:localhost%3A2583/app.bsky.feed.post/a_b:c');
    expect(blueskyPostUri('1800000000000000002')).toBeUndefined();
  });

  it('makes one query per keyword alternative and handle: words as is, phrases quoted, negations left to the matcher', () => {
    expect(
      blueskySearchTerms({
        id: 'acme',
        keywords: ['acme', 'acme bank', 'ACME', 'say "hi"', '#acmefail', 'acme -koffie', 'ing AND bank OR ing AND "mobiele app"', 'Acme-Bank NOT "acme coffee"'],
        handles: ['@AcmeBank', 'acme'],
      }),
    ).toEqual(['acme', '"acme bank"', '"say hi"', '#acmefail', 'ing bank', 'ing "mobiele app"', '"Acme-Bank"', 'AcmeBank']);
    expect(() => blueskySearchTerms({ id: 'empty', keywords: ['  '], handles: [] })).toThrow(expect.objectContaining({ code: 'RW_ERR_CONFIG_INVALID' }));
  });
});

// ---- poll ---------------------------------------------------------------------------------------

describe('blueskyConnector.poll', () => {
  it('signs in with the app password, searches the first term over the last 24 h and normalises the page', async () => {
    const session = expectCreateSession();
    const search = expectSearch(200, searchFixture);
    const profiles = expectProfiles(profilesFixture.profiles);
    const r = await blueskyConnector.poll(ctx());
    session.scope.done();
    search.scope.done();
    profiles.scope.done();

    expect(session.seen.body).toEqual({ identifier: IDENT, password: PASSWORD });
    expect(search.seen[0]).toEqual({
      q: 'acme',
      sort: 'latest',
      since: '2025-05-31T12:00:00.000Z',
      until: '2025-06-01T12:00:00.000Z',
      limit: '100',
    });
    expect(profiles.calls).toEqual([[BIG, JAN]]);

    expect(r.mentions).toHaveLength(2);
    expect(r.mentions[0]).toEqual({
      platform: 'bluesky',
      postId: 'plc.bigvoice2222222222222222_3lbigvoice22a',
      url: 'https://bsky.app/profile/bigvoice.bsky.social/post/3lbigvoice22a',
      brandId: 'acme',
      author: { id: BIG, handle: 'bigvoice.bsky.social', name: 'Big Voice', followers: 250000, verified: true, verifiedType: 'verified' },
      text: searchFixture.posts[0].record.text,
      langHint: 'en',
      createdAt: '2025-06-01T11:58:00.000Z',
      engagement: { likes: 25, reposts: 3, replies: 4, quotes: 1 },
      replyToId: 'plc.acmebank3333333333333333_3lparentpost2',
      conversationId: 'plc.acmebank3333333333333333_3lrootpost222',
    });
    // A post that starts its thread is its own conversation; an empty display name is no name.
    expect(r.mentions[1]).toMatchObject({ author: { handle: 'jan.bsky.social', followers: 42, verified: false }, langHint: 'nl', conversationId: r.mentions[1].postId });
    expect(r.mentions[1].author.name).toBeUndefined();
    expect(r.mentions[1].replyToId).toBeUndefined();
    expect(r.skipped).toBeUndefined();
    // The response has a cursor: the same term goes on from it, over the same window.
    expect(r.hasMore).toBe(true);
    expect(r.cursor).toMatchObject({ since: '2025-05-31T12:00:00.000Z', until: '2025-06-01T12:00:00.000Z', term: 0, page: '100', pages: 1 });
    expect(r.resumeAt).toBeUndefined();
  });

  it('pages through a term, rotates through the terms (one call per poll) and ends the round with a small overlap', async () => {
    const page = (posts: unknown[], cursor?: string) => ({ ...(cursor ? { cursor } : {}), posts });
    const jan = postView({ did: JAN, rkey: tid('jan'), handle: 'jan.bsky.social', text: 'Acme bank is weer eens plat' });
    expectCreateSession();
    expectProfiles([profile(JAN, 'jan.bsky.social', 42)]);

    const calls: Record<string, string>[] = [];
    let cursor: Cursor | null = null;
    const results = [];
    for (const body of [page([jan], 'p2'), page([]), page([], 'ignored'), page([])]) {
      const s = expectSearch(200, body);
      const r = await blueskyConnector.poll(ctx(cursor));
      s.scope.done();
      calls.push(s.seen[0]);
      results.push(r);
      cursor = r.cursor;
    }
    // Term 'acme' page 1, then its page 2; an empty page ends a term even if a cursor came with it.
    expect(calls.map((q) => [q.q, q.cursor])).toEqual([
      ['acme', undefined],
      ['acme', 'p2'],
      ['"acme bank"', undefined],
      ['AcmeBank', undefined],
    ]);
    expect(new Set(calls.map((q) => `${q.since}..${q.until}`)).size).toBe(1);
    expect(results.map((r) => r.hasMore)).toEqual([true, true, true, false]);
    expect(results[0].mentions.map((m) => m.author.followers)).toEqual([42]);
    // Next round: from the end of this one, less two minutes for posts indexed late.
    expect(results[3].cursor).toMatchObject({ since: '2025-06-01T11:58:00.000Z', until: null, term: 0, page: null });

    const next = expectSearch(200, page([]));
    await blueskyConnector.poll(ctx(results[3].cursor, { now: NOW + 120_000 }));
    next.scope.done();
    expect(next.seen[0]).toMatchObject({ q: 'acme', since: '2025-06-01T11:58:00.000Z', until: '2025-06-01T12:02:00.000Z' });
  });

  it('keeps the session between polls and the followers for an hour: 60 authors are 3 getProfiles calls once', async () => {
    const dids = Array.from({ length: 60 }, (_, i) => plc(`author${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`));
    const posts = dids.map((did, i) => postView({ did, rkey: tid('p', i), handle: `a${i}.bsky.social`, text: `Acme is traag vandaag (${i})` }));
    const session = expectCreateSession();
    const profiles = expectProfiles(
      dids.map((did, i) => profile(did, `a${i}.bsky.social`, 1000 + i)),
      { times: 3 },
    );
    expectSearch(200, { posts });
    const r1 = await blueskyConnector.poll(ctx());
    expect(profiles.calls.map((c) => c.length)).toEqual([25, 25, 10]);
    expect(new Set(profiles.calls.flat())).toEqual(new Set(dids));
    expect(r1.mentions).toHaveLength(60);
    expect(r1.mentions[59].author.followers).toBe(1059);

    // Second poll, half an hour later: no sign-in, no profile calls.
    const again = expectSearch(200, { posts });
    const r2 = await blueskyConnector.poll(ctx(null, { now: NOW + 30 * 60_000 }));
    again.scope.done();
    session.scope.done();
    profiles.scope.done();
    expect(profiles.calls).toHaveLength(3);
    expect(r2.mentions[0].author.followers).toBe(1000);

    // Past the hour the followers are looked up again.
    expectSearch(200, { posts: posts.slice(0, 2) }, { token: ACCESS1 });
    const fresh = expectProfiles([profile(dids[0], 'a0.bsky.social', 5000), profile(dids[1], 'a1.bsky.social', 6000)]);
    // The access token expires at NOW+2h; an hour and a bit is still inside it.
    const r3 = await blueskyConnector.poll(ctx(null, { now: NOW + 61 * 60_000 }));
    fresh.scope.done();
    expect(r3.mentions.map((m) => m.author.followers)).toEqual([5000, 6000]);
  });

  it('on ExpiredToken refreshes the session once (with the refresh token) and the search succeeds', async () => {
    expectCreateSession();
    expectSearch(200, { posts: [] });
    await blueskyConnector.poll(ctx());

    const expired = expectSearch(400, { error: 'ExpiredToken', message: 'Token has expired' });
    const refresh = nock(PDS)
      .matchHeader('authorization', `Bearer ${REFRESH1}`)
      .post('/xrpc/com.atproto.server.refreshSession')
      .reply(200, sessionBody(ACCESS2, REFRESH2));
    const retried = expectSearch(200, searchFixture, { token: ACCESS2 });
    expectProfiles(profilesFixture.profiles, { token: ACCESS2 });
    const r = await blueskyConnector.poll(ctx());
    expired.scope.done();
    refresh.done();
    retried.scope.done();
    expect(r.mentions).toHaveLength(2);
  });

  it('renews an access token about to expire before calling, and signs in again when the refresh token is refused too', async () => {
    const shortLived = fakeJwt(NOW_S + 30, 'short');
    expectCreateSession({ body: sessionBody(shortLived, REFRESH1) });
    expectSearch(200, { posts: [] }, { token: shortLived });
    await blueskyConnector.poll(ctx(null, { now: NOW - 10 * 60_000 }));

    // Now the token has 30 s left: refresh first; the refresh token was revoked, so a new session.
    const refresh = nock(PDS).post('/xrpc/com.atproto.server.refreshSession').reply(400, { error: 'ExpiredToken', message: 'Token has been revoked' });
    const session = expectCreateSession({ body: sessionBody(ACCESS2, REFRESH2) });
    const search = expectSearch(200, { posts: [] }, { token: ACCESS2 });
    await blueskyConnector.poll(ctx());
    refresh.done();
    session.scope.done();
    search.scope.done();
  });

  it('an invalid app password is RW_ERR_PLATFORM_REJECTED and the password never shows', async () => {
    // The documented answer, plus a hypothetical server that echoes the password back.
    expectCreateSession({ status: 401, body: { error: 'AuthenticationRequired', message: `Invalid identifier or password (${PASSWORD})` } });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/HTTP 401.*AuthenticationRequired: Invalid identifier or password/);
    expect(err.message).toMatch(/app password/);
    for (const text of [err.message, String(err.stack), JSON.stringify(err.details)]) expect(text).not.toContain(PASSWORD);
    expect(err.cause).toBeUndefined();
  });

  it('does not sign in again for 5 minutes after the app password was refused (createSession allows 30 per 5 minutes)', async () => {
    expectCreateSession({ status: 401, body: { error: 'AuthenticationRequired', message: 'Invalid identifier or password' } });
    expect((await pollError()).code).toBe('RW_ERR_PLATFORM_REJECTED');
    // No intercept is left: a sign-in attempt would fail as unreachable, not as rejected.
    const again = await pollError(ctx(null, { now: NOW + 4 * 60_000 }));
    expect(again.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(again.message).toMatch(/Invalid identifier or password/);
    const retry = expectCreateSession();
    expectSearch(200, { posts: [] });
    await blueskyConnector.poll(ctx(null, { now: NOW + 6 * 60_000 }));
    retry.scope.done();
  });

  it('a rate-limited sign-in waits for ratelimit-reset like a rate-limited search', async () => {
    nock(PDS).post('/xrpc/com.atproto.server.createSession').reply(429, { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }, rateHeaders(0, NOW_S + 300));
    const r = await blueskyConnector.poll(ctx());
    expect(r).toMatchObject({ mentions: [], hasMore: false, resumeAt: (NOW_S + 300) * 1000 });
  });

  it('a search refused after a fresh session (401 twice) is RW_ERR_PLATFORM_REJECTED and shows no token', async () => {
    expectCreateSession();
    expectSearch(401, { error: 'AuthenticationRequired', message: `Bad token ${ACCESS1}` });
    nock(PDS).post('/xrpc/com.atproto.server.refreshSession').reply(200, sessionBody(ACCESS2, REFRESH2));
    expectSearch(401, { error: 'AuthenticationRequired', message: 'Authentication Required' }, { token: ACCESS2 });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.details).toMatchObject({ status: 401, error: 'AuthenticationRequired' });
    expect(`${err.message} ${err.stack}`).not.toContain(ACCESS1);
    expect(`${err.message} ${err.stack}`).not.toContain(ACCESS2);
  });

  it('on 429 waits until ratelimit-reset without throwing and keeps the position (even a first poll\'s window)', async () => {
    expectCreateSession();
    expectSearch(429, { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }, { headers: rateHeaders(0) });
    const r = await blueskyConnector.poll(ctx());
    expect(r.mentions).toEqual([]);
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBe(RESET * 1000);
    expect(r.cursor).toMatchObject({ since: '2025-05-31T12:00:00.000Z', until: '2025-06-01T12:00:00.000Z', term: 0, page: null });
  });

  it('sets resumeAt and stops when a 200 says ratelimit-remaining is 0', async () => {
    expectCreateSession();
    expectSearch(200, searchFixture, { headers: rateHeaders(0) });
    expectProfiles(profilesFixture.profiles);
    const r = await blueskyConnector.poll(ctx());
    expect(r.mentions).toHaveLength(2);
    expect(r.resumeAt).toBe(RESET * 1000);
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toMatchObject({ page: '100' });
  });

  it('a 429 on the follower lookup re-reads the page after the reset rather than alerting without followers', async () => {
    const terms = await termsKeyOf();
    expectSearch(200, searchFixture);
    nock(PDS).get('/xrpc/app.bsky.actor.getProfiles').query(true).reply(429, { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }, rateHeaders(0));
    const r = await blueskyConnector.poll(ctx({ since: '2025-06-01T11:00:00.000Z', until: '2025-06-01T11:58:00.000Z', term: 1, page: 'p3', pages: 2, terms }));
    expect(r.mentions).toEqual([]);
    expect(r.resumeAt).toBe(RESET * 1000);
    expect(r.cursor).toMatchObject({ since: '2025-06-01T11:00:00.000Z', until: '2025-06-01T11:58:00.000Z', term: 1, page: 'p3', pages: 2 });
  });

  it('maps 502 and network failures to RW_ERR_PLATFORM_UNAVAILABLE (retryable)', async () => {
    expectCreateSession();
    expectSearch(502, '<html>Bad Gateway</html>', { headers: { 'content-type': 'text/html' } });
    const e1 = await pollError();
    expect(e1.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(e1.retryable).toBe(true);
    expect(e1.details).toMatchObject({ status: 502 });

    nock(PDS).get('/xrpc/app.bsky.feed.searchPosts').query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const e2 = await pollError();
    expect(e2.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(e2.message).toMatch(/could not be reached/);
  });

  it('a 400 BadQueryString is RW_ERR_PLATFORM_REJECTED with the XRPC error name', async () => {
    expectCreateSession();
    expectSearch(400, { error: 'BadQueryString', message: 'query string is invalid' });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toContain('BadQueryString: query string is invalid');
  });

  it.each([
    ['the body is not JSON', '{"posts":[{"uri":', /not JSON/],
    ['posts is not an array', { posts: 'none' }, /posts is missing or not an array/],
    ['the body is an array', [], /body is an array/],
    ['cursor is a number', { posts: [], cursor: 5 }, /cursor is not a string/],
  ])('maps a malformed body (%s) to RW_ERR_PAYLOAD_MALFORMED', async (_what, body, message) => {
    expectCreateSession();
    expectSearch(200, body, { headers: { ...rateHeaders(2999), 'content-type': 'application/json; charset=utf-8' } });
    const err = await pollError();
    expect(err.code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(message);
  });

  it('keeps the good posts and skips those without record.text, with a foreign author or without a post uri', async () => {
    const good = postView({ did: JAN, rkey: tid('good'), handle: 'jan.bsky.social', text: 'Acme, waar blijft mijn pas?' });
    const noText = postView({ did: JAN, rkey: tid('notext'), handle: 'jan.bsky.social', text: null });
    const foreign = { ...postView({ did: BIG, rkey: tid('foreign'), handle: 'bigvoice.bsky.social' }), author: { did: JAN, handle: 'jan.bsky.social' } };
    const notAPost = { ...good, uri: `at://${JAN}/app.bsky.feed.like/${tid('like')}` };
    expectCreateSession();
    expectSearch(200, { posts: [noText, foreign, good, notAPost] });
    expectProfiles([profile(JAN, 'jan.bsky.social', 42)]);
    const r = await blueskyConnector.poll(ctx());
    expect(r.mentions.map((m) => m.postId)).toEqual([blueskyPostId(JAN, tid('good'))]);
    expect(r.skipped).toEqual([
      { postId: blueskyPostId(JAN, tid('notext')), reason: 'the post record has no text' },
      { postId: blueskyPostId(BIG, tid('foreign')), reason: 'the post has no author matching its uri' },
      { postId: `at%3A//did%3Aplc%3Ajannl222222222222222222a/app.bsky.feed.like/${tid('like')}`, reason: 'the post has no at:// post uri' },
    ]);
    for (const s of r.skipped ?? []) expect(s.postId).not.toContain(':');
  });

  it('leaves out posts the search found but that are not about the brand (word boundaries, exclusions)', async () => {
    const about = postView({ did: JAN, rkey: tid('about'), handle: 'jan.bsky.social', text: 'Acme heeft mijn rekening geblokkeerd' });
    const partOfWord = postView({ did: BIG, rkey: tid('word'), handle: 'bigvoice.bsky.social', text: 'Acmeville weekend was great' });
    const excluded = postView({ did: BIG, rkey: tid('excl'), handle: 'bigvoice.bsky.social', text: 'Wile E. Coyote ordered another Acme anvil' });
    expectCreateSession();
    expectSearch(200, { posts: [about, partOfWord, excluded] });
    const profiles = expectProfiles([profile(JAN, 'jan.bsky.social', 42)]);
    const r = await blueskyConnector.poll(ctx(null, { brand: { ...brand, exclude: ['coyote'] } }));
    expect(r.mentions.map((m) => m.text)).toEqual([about.record.text]);
    // Followers are looked up only for the posts kept.
    expect(profiles.calls).toEqual([[JAN]]);
    expect(r.skipped).toBeUndefined();
  });

  it('sends lang when the source has one', async () => {
    expectCreateSession();
    const s = expectSearch(200, { posts: [] });
    await blueskyConnector.poll(ctx(null, { source: { ...source, lang: 'nl' } }));
    expect(s.seen[0].lang).toBe('nl');
  });

  it('without a baseUrl, signs in at bsky.social and sends app.bsky calls to the PDS named in the DID document', async () => {
    const plain: BlueskySourceConfig = { ...source, baseUrl: undefined };
    const didDoc = {
      '@context': ['https://www.w3.org/ns/did/v1'],
      id: 'did:plc:monitor22222222222222222',
      alsoKnownAs: ['at://acme-monitor.bsky.social'],
      service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://morel.us-east.host.bsky.network' }],
    };
    const session = expectCreateSession({ body: sessionBody(ACCESS1, REFRESH1, didDoc) }, 'https://bsky.social');
    const search = expectSearch(200, { posts: [] }, { host: 'https://morel.us-east.host.bsky.network' });
    await blueskyConnector.poll(ctx(null, { source: plain }));
    session.scope.done();
    search.scope.done();
  });

  it('baseUrlEnv pins every call to the host in that variable', async () => {
    const viaEnv: BlueskySourceConfig = { ...source, baseUrl: undefined, baseUrlEnv: 'BSKY_PDS_URL' };
    const didDoc = { id: 'did:plc:x', service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://elsewhere.test' }] };
    const session = expectCreateSession({ body: sessionBody(ACCESS1, REFRESH1, didDoc) }, 'https://pds-from-env.test');
    const search = expectSearch(200, { posts: [] }, { host: 'https://pds-from-env.test' });
    await blueskyConnector.poll(ctx(null, { source: viaEnv }));
    session.scope.done();
    search.scope.done();
  });
});

/** The terms key a cursor carries for the test brand (read back from a first poll's cursor). */
async function termsKeyOf(): Promise<string> {
  const scope = nock(PDS).get('/xrpc/app.bsky.feed.searchPosts').query(true).reply(200, { posts: [] });
  nock(PDS).post('/xrpc/com.atproto.server.createSession').reply(200, sessionBody(ACCESS1, REFRESH1));
  const r = await blueskyConnector.poll(ctx());
  scope.done();
  return r.cursor.terms as string;
}

// ---- engagement ---------------------------------------------------------------------------------

describe('blueskyConnector.engagement', () => {
  it('looks up 25 posts per getPosts call and leaves out deleted ones', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => blueskyPostId(JAN, tid('e', i)));
    expectCreateSession();
    const calls: string[][] = [];
    nock(PDS)
      .matchHeader('authorization', `Bearer ${ACCESS1}`)
      .get('/xrpc/app.bsky.feed.getPosts')
      .times(2)
      .query(true)
      .reply(200, (uri) => {
        const uris = listParam(uri, 'uris');
        calls.push(uris);
        // The third post was deleted: getPosts leaves it out.
        return {
          posts: uris
            .filter((u) => !u.endsWith(tid('e', 2)))
            .map((u) => postView({ did: JAN, rkey: u.split('/').pop()!, handle: 'jan.bsky.social', counts: { like: 7, repost: 2, reply: 1, quote: 3 } })),
        };
      });
    const out = await blueskyConnector.engagement(ctx(), ids);
    expect(calls.map((c) => c.length)).toEqual([25, 5]);
    expect(calls[0][0]).toBe(`at://${JAN}/app.bsky.feed.post/${tid('e', 0)}`);
    expect(out.size).toBe(29);
    expect(out.has(ids[2])).toBe(false);
    expect(out.get(ids[0])).toEqual({ likes: 7, reposts: 2, replies: 1, quotes: 3 });
  });

  it('throws RW_ERR_PLATFORM_RATE_LIMITED with the wait from ratelimit-reset on 429', async () => {
    expectCreateSession();
    nock(PDS).get('/xrpc/app.bsky.feed.getPosts').query(true).reply(429, { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }, rateHeaders(0));
    const err = await blueskyConnector.engagement(ctx(), [blueskyPostId(JAN, tid('e'))]).then(
      () => undefined,
      (e: unknown) => e as RepwatchError,
    );
    expect(err).toBeInstanceOf(RepwatchError);
    expect(err!.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err!.retryAfterMs).toBe(240_000);
  });

  it('ignores ids that are not Bluesky post ids, without a call', async () => {
    const out = await blueskyConnector.engagement(ctx(), ['1800000000000000002']);
    expect(out.size).toBe(0);
    expect(nock.pendingMocks()).toEqual([]);
  });
});

// ---- Jetstream ----------------------------------------------------------------------------------

interface Conn {
  url: URL;
  socket: WebSocket;
}

/** A local Jetstream: records each connection's URL and lets the test send events and kill the socket. */
async function jetstreamServer(opts: { refuse?: number } = {}) {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: opts.refuse ? (_info, cb) => cb(false, opts.refuse) : undefined,
  });
  await new Promise((r) => wss.once('listening', r));
  const close = () =>
    new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    });
  cleanups.push(close);
  const conns: Conn[] = [];
  const waiters: ((c: Conn) => void)[] = [];
  let taken = 0;
  wss.on('connection', (socket, req) => {
    const c = { url: new URL(req.url ?? '/', 'ws://127.0.0.1'), socket };
    conns.push(c);
    waiters.shift()?.(c);
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    endpoint: `ws://127.0.0.1:${port}/subscribe`,
    conns,
    /** The next connection not yet handed to the test. */
    next: () => new Promise<Conn>((r) => (conns.length > taken ? r(conns[taken++]) : void waiters.push((c) => (taken++, r(c))))),
    send: (c: Conn, ...events: unknown[]) => events.forEach((e) => c.socket.send(JSON.stringify(e))),
    close,
  };
}

type Logged = { kind: 'opened' } | { kind: 'post'; mention: Mention; timeUs: number } | { kind: 'position'; timeUs: number };

function recorder() {
  const log: Logged[] = [];
  return {
    log,
    posts: () => log.filter((l): l is Extract<Logged, { kind: 'post' }> => l.kind === 'post'),
    positions: () => log.filter((l): l is Extract<Logged, { kind: 'position' }> => l.kind === 'position'),
    handlers: {
      opened: () => void log.push({ kind: 'opened' }),
      post: (mention: Mention, c: Cursor) => void log.push({ kind: 'post', mention, timeUs: c.timeUs as number }),
      position: (c: Cursor) => void log.push({ kind: 'position', timeUs: c.timeUs as number }),
    },
  };
}

function streamCtx(endpoint: string, cursor: Cursor | null, signal: AbortSignal, over: Partial<BlueskySourceConfig> = {}): BlueskyStreamContext {
  return { brand, source: { ...source, jetstream: endpoint, ...over }, cursor, now: () => Date.now(), secrets: secrets(), configDir: '/tmp', logger: pino({ level: 'silent' }), signal };
}

async function waitFor(cond: () => boolean, what: string, ms = 4000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every post handed on before any position at or past its own time (a stored position never skips a post). */
function expectOrdered(log: Logged[]): void {
  let last = 0;
  const posts = log.filter((l) => l.kind === 'post') as Extract<Logged, { kind: 'post' }>[];
  log.forEach((l, i) => {
    if (l.kind !== 'position') return;
    expect(l.timeUs).toBeGreaterThan(last);
    last = l.timeUs;
    for (const p of posts) if (p.timeUs <= l.timeUs) expect(log.indexOf(p)).toBeLessThan(i);
  });
}

const T0 = 1_748_779_200_000_000; // 2025-06-01T12:00:00Z in microseconds
// The stream runs on the real clock: its session's tokens must be valid now.
const LIVE_ACCESS = fakeJwt(Math.floor(Date.now() / 1000) + 7200, 'live-access');
const liveSession = () => expectCreateSession({ body: sessionBody(LIVE_ACCESS, REFRESH1) });

describe('blueskyConnector.streaming (Jetstream)', () => {
  it('builds the subscribe URL: posts only, cursor rewound 5 s, no compression; live without a cursor', () => {
    const u = new URL(jetstreamUrl('wss://jetstream2.us-east.bsky.network/subscribe', { timeUs: T0 }));
    expect(u.searchParams.getAll('wantedCollections')).toEqual(['app.bsky.feed.post']);
    expect(u.searchParams.get('cursor')).toBe(String(T0 - 5_000_000));
    expect(u.searchParams.has('compress')).toBe(false);
    expect(new URL(jetstreamUrl('wss://jetstream2.us-east.bsky.network/subscribe', null)).searchParams.has('cursor')).toBe(false);
  });

  it('hands on only matching new posts, with their authors\' followers (one batched lookup), in order, and advances the position', async () => {
    const server = await jetstreamServer();
    const ac = controller();
    const rec = recorder();
    liveSession();
    const lookups = expectProfiles([profile(BIG, 'bigvoice.bsky.social', 250000, { verification: { verifications: [], verifiedStatus: 'valid', trustedVerifierStatus: 'none' } }), profile(JAN, 'jan.bsky.social', 42)], { token: LIVE_ACCESS });
    const done = blueskyConnector.streaming.stream(streamCtx(server.endpoint, { timeUs: T0 }, ac.signal), rec.handlers);
    const c = await server.next();
    expect(c.url.pathname).toBe('/subscribe');
    expect(c.url.searchParams.getAll('wantedCollections')).toEqual(['app.bsky.feed.post']);
    expect(c.url.searchParams.get('cursor')).toBe(String(T0 - 5_000_000));
    await waitFor(() => rec.log.some((l) => l.kind === 'opened'), 'opened');

    const a = jetPost(BIG, tid('a'), 'Acme heeft mijn geld kwijtgemaakt!', T0 + 10, { langs: ['nl'], reply: { parent: `at://${ACME}/app.bsky.feed.post/3lparentpost2`, root: `at://${ACME}/app.bsky.feed.post/3lrootpost222` } });
    const b = jetPost(JAN, tid('b'), 'acme bank app down again', T0 + 20, { langs: ['en'] });
    const cc = jetPost(BIG, tid('c'), '@AcmeBank nog steeds niets gehoord', T0 + 30);
    server.send(
      c,
      jetIdentity(JAN, 'jan.bsky.social', T0 + 1),
      jetAccount(JAN, T0 + 2),
      jetPost(JAN, tid('x'), 'lekker weer vandaag', T0 + 3),
      a,
      jetLike(JAN, tid('l'), `at://${BIG}/app.bsky.feed.post/${tid('a')}`, T0 + 11),
      jetDelete(BIG, tid('old'), T0 + 12),
      jetPost(BIG, tid('u'), 'edited: Acme is terrible', T0 + 13, { operation: 'update' }),
      b,
      cc,
    );
    // Most of the firehose: posts that do not match.
    for (let i = 0; i < 1200; i++) server.send(c, jetPost(JAN, tid('f', i % 600), `random chatter ${i}`, T0 + 100 + i));
    await waitFor(() => rec.posts().length === 3, 'three posts');
    // After a quiet second, one more event moves the position on by itself.
    await new Promise((r) => setTimeout(r, 1100));
    server.send(c, jetPost(JAN, tid('z'), 'nothing to see', T0 + 5000));
    await waitFor(() => rec.positions().some((p) => p.timeUs === T0 + 5000), 'position of the last event');

    ac.abort();
    await expect(done).resolves.toBeUndefined();
    lookups.scope.done();
    expect(lookups.calls).toEqual([[BIG, JAN]]);

    const posts = rec.posts();
    expect(posts.map((p) => p.timeUs)).toEqual([T0 + 10, T0 + 20, T0 + 30]);
    expect(posts[0].mention).toEqual({
      platform: 'bluesky',
      postId: blueskyPostId(BIG, tid('a')),
      url: `https://bsky.app/profile/bigvoice.bsky.social/post/${tid('a')}`,
      brandId: 'acme',
      author: { id: BIG, handle: 'bigvoice.bsky.social', name: 'bigvoice', followers: 250000, verified: true, verifiedType: 'verified' },
      text: 'Acme heeft mijn geld kwijtgemaakt!',
      langHint: 'nl',
      createdAt: new Date(Math.floor((T0 + 10) / 1000)).toISOString(),
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
      replyToId: blueskyPostId(ACME, '3lparentpost2'),
      conversationId: blueskyPostId(ACME, '3lrootpost222'),
    });
    expect(posts[1].mention.author).toMatchObject({ handle: 'jan.bsky.social', followers: 42 });
    expect(posts[2].mention.text).toBe('@AcmeBank nog steeds niets gehoord');
    expectOrdered(rec.log);
    // Far fewer position calls than events.
    expect(rec.positions().length).toBeLessThan(10);
    await server.close();
  });

  it('a connection killed mid-stream rejects with RW_ERR_PLATFORM_UNAVAILABLE; nothing twice within it, nothing lost after reconnecting', async () => {
    const server = await jetstreamServer();
    liveSession();
    expectProfiles([profile(BIG, 'bigvoice.bsky.social', 250000), profile(JAN, 'jan.bsky.social', 42)], { times: 2, token: LIVE_ACCESS });
    // What the server has, in order; a reconnect replays from the requested cursor.
    const p1 = jetPost(BIG, tid('one'), 'Acme klantenservice is onbereikbaar', T0 + 1_000_000);
    const p1again = { ...p1, time_us: T0 + 1_000_500 };
    const p2 = jetPost(BIG, tid('two'), 'Acme, echt waar?', T0 + 2_000_000);
    const filler = jetPost(JAN, tid('fill'), 'koffie', T0 + 2_500_000);
    const p3 = jetPost(JAN, tid('three'), 'acme bank storing', T0 + 3_000_000);
    const history = [p1, p1again, p2, filler, p3];

    const rec1 = recorder();
    const first = blueskyConnector.streaming.stream(streamCtx(server.endpoint, null, controller().signal), rec1.handlers);
    const c1 = await server.next();
    expect(c1.url.searchParams.has('cursor')).toBe(false);
    server.send(c1, p1, p1again, p2);
    await waitFor(() => rec1.posts().length === 2, 'two posts on the first connection');
    // p3's author is not cached: it waits for a lookup, and the connection dies first.
    server.send(c1, filler, p3);
    await new Promise((r) => setTimeout(r, 20));
    c1.socket.terminate();
    const err = await first.then(
      () => undefined,
      (e: unknown) => e as RepwatchError,
    );
    expect(err).toBeInstanceOf(RepwatchError);
    expect(err!.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err!.retryable).toBe(true);
    const ids1 = rec1.posts().map((p) => p.mention.postId);
    expect(ids1).toEqual([blueskyPostId(BIG, tid('one')), blueskyPostId(BIG, tid('two'))]);
    expect(new Set(ids1).size).toBe(ids1.length);
    expectOrdered(rec1.log);

    // The role reconnects from the last position handed on; the stream rewinds 5 s from it.
    const handed = rec1.log.filter((l) => l.kind !== 'opened').map((l) => (l as { timeUs: number }).timeUs);
    const kept = Math.max(...handed);
    expect(kept).toBeLessThan(p3.time_us);
    const rec2 = recorder();
    const ac2 = controller();
    const second = blueskyConnector.streaming.stream(streamCtx(server.endpoint, { timeUs: kept }, ac2.signal), rec2.handlers);
    const c2 = await server.next();
    const from = Number(c2.url.searchParams.get('cursor'));
    expect(from).toBe(kept - 5_000_000);
    server.send(c2, ...history.filter((e) => e.time_us >= from));
    await waitFor(() => rec2.posts().some((p) => p.timeUs === p3.time_us), 'p3 after reconnecting');
    ac2.abort();
    await second;

    const ids2 = rec2.posts().map((p) => p.mention.postId);
    expect(new Set(ids2).size).toBe(ids2.length);
    // Every post reached the store; the repeats carry the same key, which the store keeps once.
    const all = [...rec1.posts(), ...rec2.posts()].map((p) => mentionKey(p.mention));
    expect(new Set(all)).toEqual(new Set([p1, p2, p3].map((p) => mentionKey({ platform: 'bluesky', postId: blueskyPostId(p.did, p.commit.rkey) }))));
    await server.close();
  });

  it('resolves when aborted, and does not connect when already aborted', async () => {
    const server = await jetstreamServer();
    const ac = controller();
    const rec = recorder();
    const done = blueskyConnector.streaming.stream(streamCtx(server.endpoint, { timeUs: T0 }, ac.signal), rec.handlers);
    await server.next();
    await waitFor(() => rec.log.length === 1, 'opened');
    ac.abort();
    await expect(done).resolves.toBeUndefined();

    const gone = new AbortController();
    gone.abort();
    await expect(blueskyConnector.streaming.stream(streamCtx(server.endpoint, null, gone.signal), recorder().handlers)).resolves.toBeUndefined();
    expect(server.conns).toHaveLength(1);
    await server.close();
  });

  it('a refused upgrade rejects with a coded error: 503 unavailable, 400 rejected', async () => {
    for (const [status, code] of [
      [503, 'RW_ERR_PLATFORM_UNAVAILABLE'],
      [400, 'RW_ERR_PLATFORM_REJECTED'],
    ] as const) {
      const server = await jetstreamServer({ refuse: status });
      const err = await blueskyConnector.streaming.stream(streamCtx(server.endpoint, null, controller().signal), recorder().handlers).then(
        () => undefined,
        (e: unknown) => e as RepwatchError,
      );
      expect(err).toBeInstanceOf(RepwatchError);
      expect(err!.code).toBe(code);
      expect(err!.details).toMatchObject({ status });
      await server.close();
    }
  });

  it('when the account is refused, matching posts still go on, with followers 0 and the DID as handle', async () => {
    const server = await jetstreamServer();
    const ac = controller();
    const rec = recorder();
    expectCreateSession({ status: 401, body: { error: 'AuthenticationRequired', message: 'Invalid identifier or password' } });
    const done = blueskyConnector.streaming.stream(streamCtx(server.endpoint, null, ac.signal), rec.handlers);
    const c = await server.next();
    server.send(c, jetPost(BIG, tid('r'), 'Acme lost my money', T0 + 10));
    await waitFor(() => rec.posts().length === 1, 'the post');
    ac.abort();
    await done;
    expect(rec.posts()[0].mention.author).toEqual({ id: BIG, handle: BIG, followers: 0, verified: false });
    expect(rec.posts()[0].mention.url).toBe(`https://bsky.app/profile/${BIG}/post/${tid('r')}`);
    await server.close();
  });

  it('with lang set, leaves out posts tagged only in other languages (untagged posts stay)', async () => {
    const server = await jetstreamServer();
    const ac = controller();
    const rec = recorder();
    liveSession();
    expectProfiles([profile(JAN, 'jan.bsky.social', 42)], { token: LIVE_ACCESS });
    const done = blueskyConnector.streaming.stream(streamCtx(server.endpoint, null, ac.signal, { lang: 'nl' }), rec.handlers);
    const c = await server.next();
    server.send(
      c,
      jetPost(JAN, tid('en'), 'Acme is down', T0 + 1, { langs: ['en'] }),
      jetPost(JAN, tid('be'), 'Acme ligt eruit', T0 + 2, { langs: ['nl-BE'] }),
      jetPost(JAN, tid('none'), 'Acme???', T0 + 3, { langs: null }),
    );
    await waitFor(() => rec.posts().length === 2, 'two posts');
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await done;
    expect(rec.posts().map((p) => p.mention.postId)).toEqual([blueskyPostId(JAN, tid('be')), blueskyPostId(JAN, tid('none'))]);
    await server.close();
  });

  it('ignores a message that is not JSON and keeps going', async () => {
    const server = await jetstreamServer();
    const ac = controller();
    const rec = recorder();
    liveSession();
    expectProfiles([profile(JAN, 'jan.bsky.social', 42)], { token: LIVE_ACCESS });
    const done = blueskyConnector.streaming.stream(streamCtx(server.endpoint, null, ac.signal), rec.handlers);
    const c = await server.next();
    c.socket.send('{"did":"did:plc:');
    server.send(c, jetPost(JAN, tid('ok'), 'Acme again', T0 + 1));
    await waitFor(() => rec.posts().length === 1, 'the post after the bad message');
    ac.abort();
    await done;
    await server.close();
  });
});
