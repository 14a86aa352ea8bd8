import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { facebookSourceSchema, type FacebookSourceConfig } from '../../src/config/sources/facebook';
import type { Cursor, WebhookItem } from '../../src/connectors/connector';
import { facebookConnector, type FacebookPollContext } from '../../src/connectors/facebook';
import { RepwatchError } from '../../src/domain/errors';

const TOKEN = 'EAAGm0PX4ZCpsBAsecret-page-token-ZDZD9f8e7d';
const APP_SECRET = 'a3f9c1e2secret-app-secret-77b0d4';
const GRAPH = 'https://graph.facebook.com';
const PAGE = '104520598232455';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const POST1 = `${PAGE}_122101234567890123`;
const POST2 = `${PAGE}_122109999999999999`;

const source: FacebookSourceConfig = facebookSourceSchema.parse({
  id: 'acme-fb',
  platform: 'facebook',
  pageId: PAGE,
  accessTokenEnv: 'FB_PAGE_TOKEN',
  appSecretEnv: 'META_APP_SECRET',
  verifyTokenEnv: 'META_VERIFY_TOKEN',
});

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme'],
  handles: [],
  languages: ['nl'],
  sources: [],
  topics: {},
  exclude: [],
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

function ctx(cursor: Cursor | null = null): FacebookPollContext {
  return {
    brand,
    source,
    cursor,
    now: NOW,
    secrets: new Secrets([
      ['FB_PAGE_TOKEN', TOKEN],
      ['META_APP_SECRET', APP_SECRET],
      ['META_VERIFY_TOKEN', 'verify-me'],
    ]),
    configDir: '/tmp',
    logger: pino({ level: 'silent' }),
  };
}

const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'meta', name), 'utf8'));

async function caught(p: Promise<unknown>): Promise<RepwatchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RepwatchError);
  return err as RepwatchError;
}

const COMMENT_FIELDS = 'id,message,created_time,from,like_count,comment_count,parent{id},permalink_url';
const POST_FIELDS = 'id,message,created_time,from,permalink_url,shares,reactions.limit(0).summary(total_count),comments.limit(0).summary(true)';
const FEED_FIELDS = `id,message,created_time,from,permalink_url,shares,reactions.limit(0).summary(total_count),comments.filter(stream).order(reverse_chronological).limit(50).summary(true){${COMMENT_FIELDS}}`;

const jan = { id: '7101234567890123', name: 'Jan de Vries' };
const els = { id: '7109876543210987', name: 'Els Peeters' };
const acme = { id: PAGE, name: 'Acme Bank' };

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('facebookSourceSchema', () => {
  it('fills the documented defaults', () => {
    expect(source).toMatchObject({ graphVersion: 'v21.0', pollEvery: 300_000, lookback: 7 * 86_400_000 });
    expect(facebookSourceSchema.safeParse({ ...source, pageId: 'acmebank' }).success).toBe(false);
    expect(facebookSourceSchema.safeParse({ ...source, pollEvery: '10s' }).success).toBe(false);
  });
});

describe('facebookConnector.webhook.parse', () => {
  const { parse, ownsAccount } = facebookConnector.webhook;

  it('keeps added and edited comments and posts; drops removals, reactions and the Page\'s own replies', () => {
    expect(parse(fixture('page-webhook-feed.json'))).toEqual([
      {
        accountId: PAGE,
        field: 'feed',
        id: '122101234567890123_987654321012345',
        value: { item: 'comment', verb: 'add', post_id: POST1, parent_id: POST1, message: 'Waarom duurt een overboeking bij jullie 3 dagen?' },
      },
      { accountId: PAGE, field: 'feed', id: POST2, value: { item: 'status', verb: 'add' } },
      {
        accountId: PAGE,
        field: 'feed',
        id: '122101234567890123_987654321012345',
        value: { item: 'comment', verb: 'edited', post_id: POST1, parent_id: POST1, message: 'Waarom duurt een overboeking bij jullie 3 werkdagen?' },
      },
    ]);
  });

  it('ignores other Page fields', () => {
    expect(parse({ object: 'page', entry: [{ id: PAGE, time: 1, changes: [{ field: 'ratings', value: { review_text: 'slecht', reviewer_id: '1', verb: 'add' } }] }] })).toEqual([]);
  });

  it.each([
    ['an Instagram body', { object: 'instagram', entry: [] }],
    ['a feed change without item and verb', { object: 'page', entry: [{ id: PAGE, time: 1, changes: [{ field: 'feed', value: { post_id: POST1 } }] }] }],
    ['a comment without comment_id', { object: 'page', entry: [{ id: PAGE, time: 1, changes: [{ field: 'feed', value: { item: 'comment', verb: 'add', post_id: POST1 } }] }] }],
    ['a status without post_id', { object: 'page', entry: [{ id: PAGE, time: 1, changes: [{ field: 'feed', value: { item: 'status', verb: 'add', message: 'x' } }] }] }],
    ['an entry that is a string', { object: 'page', entry: ['feed'] }],
  ])('rejects %s with RW_ERR_PAYLOAD_MALFORMED', (_what, body) => {
    let err: unknown;
    try {
      parse(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RepwatchError);
    expect((err as RepwatchError).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
  });

  it('owns the notifications of its own Page only', () => {
    expect(ownsAccount(source, PAGE)).toBe(true);
    expect(ownsAccount(source, '999')).toBe(false);
  });
});

describe('facebookConnector.webhook.fetch', () => {
  const { parse, fetch } = facebookConnector.webhook;

  function expectBatch(answers: unknown[]) {
    const forms: Record<string, string>[] = [];
    const scope = nock(GRAPH)
      .post('/v21.0/', (b) => {
        forms.push(b as Record<string, string>);
        return true;
      })
      .reply(200, answers);
    return { scope, forms };
  }

  it('fetches comments and posts in one batch (each id once) and maps them', async () => {
    const items = parse(fixture('page-webhook-feed.json'));
    const { scope, forms } = expectBatch([
      {
        code: 200,
        body: JSON.stringify({
          id: '122101234567890123_987654321012345',
          message: 'Waarom duurt een overboeking bij jullie 3 werkdagen?',
          created_time: '2025-06-01T11:58:10+0000',
          from: jan,
          like_count: 4,
          comment_count: 2,
          permalink_url: 'https://www.facebook.com/acmebank/posts/pfbid02abc?comment_id=987654321012345',
        }),
      },
      {
        code: 200,
        body: JSON.stringify({
          id: POST2,
          message: 'Geen enkele reactie van de klantenservice, al een week niet',
          created_time: '2025-06-01T11:58:20+0000',
          from: els,
          permalink_url: 'https://www.facebook.com/acmebank/posts/pfbid03xyz',
          shares: { count: 3 },
          reactions: { data: [], summary: { total_count: 17, viewer_reaction: 'NONE' } },
          comments: { data: [], summary: { order: 'ranked', total_count: 5, can_comment: true } },
        }),
      },
    ]);
    const mentions = await fetch(ctx(), items);
    scope.done();
    expect((JSON.parse(forms[0].batch) as { relative_url: string }[]).map((o) => decodeURIComponent(o.relative_url))).toEqual([
      `122101234567890123_987654321012345?fields=${COMMENT_FIELDS}`,
      `${POST2}?fields=${POST_FIELDS}`,
    ]);
    expect(mentions).toEqual([
      {
        platform: 'facebook',
        postId: '122101234567890123_987654321012345',
        url: 'https://www.facebook.com/acmebank/posts/pfbid02abc?comment_id=987654321012345',
        brandId: 'acme',
        author: { id: jan.id, handle: jan.name, name: jan.name, followers: 0, verified: false },
        text: 'Waarom duurt een overboeking bij jullie 3 werkdagen?',
        createdAt: '2025-06-01T11:58:10.000Z',
        engagement: { likes: 4, reposts: 0, replies: 2, quotes: 0 },
        replyToId: POST1,
        conversationId: POST1,
      },
      {
        platform: 'facebook',
        postId: POST2,
        url: 'https://www.facebook.com/acmebank/posts/pfbid03xyz',
        brandId: 'acme',
        author: { id: els.id, handle: els.name, name: els.name, followers: 0, verified: false },
        text: 'Geen enkele reactie van de klantenservice, al een week niet',
        createdAt: '2025-06-01T11:58:20.000Z',
        engagement: { likes: 17, reposts: 3, replies: 5, quotes: 0 },
        conversationId: POST2,
      },
    ]);
  });

  it('leaves out a deleted post and the Page\'s own post; a withheld author gets one of its own', async () => {
    const items: WebhookItem[] = [
      { accountId: PAGE, field: 'feed', id: `${PAGE}_1`, value: { item: 'status', verb: 'add' } },
      { accountId: PAGE, field: 'feed', id: `${PAGE}_2`, value: { item: 'photo', verb: 'add' } },
      { accountId: PAGE, field: 'feed', id: '2_3', value: { item: 'comment', verb: 'add', post_id: `${PAGE}_2` } },
    ];
    const { scope } = expectBatch([
      { code: 400, body: JSON.stringify({ error: { message: "Unsupported get request. Object with ID '104520598232455_1' does not exist", type: 'GraphMethodException', code: 100, error_subcode: 33 } }) },
      { code: 200, body: JSON.stringify({ id: `${PAGE}_2`, message: 'Nieuwe openingstijden', created_time: '2025-06-01T10:00:00+0000', from: acme }) },
      { code: 200, body: JSON.stringify({ id: '2_3', message: 'Te laat!', created_time: '2025-06-01T11:00:00+0000', like_count: 0, comment_count: 0 }) },
    ]);
    const mentions = await fetch(ctx(), items);
    scope.done();
    expect(mentions).toHaveLength(1);
    expect(mentions[0]).toMatchObject({ postId: '2_3', author: { id: 'unknown-2_3', handle: 'unknown', followers: 0 }, replyToId: `${PAGE}_2`, conversationId: `${PAGE}_2` });
  });
});

describe('facebookConnector.poll (fallback)', () => {
  const scanFrom = (markMs: number) => String(Math.floor((markMs - 7 * 86_400_000) / 1000));

  function expectFeed(body: unknown, status = 200, headers: Record<string, string> = {}) {
    const seen: Record<string, string>[] = [];
    const scope = nock(GRAPH)
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .get(`/v21.0/${PAGE}/feed`)
      .query((q) => {
        seen.push(q as Record<string, string>);
        return true;
      })
      .reply(status, body as nock.Body, headers);
    return { scope, seen };
  }
  const comment = (id: string, t: string, from: unknown = jan, extra: Record<string, unknown> = {}) => ({
    id,
    message: `comment ${id}`,
    created_time: t,
    ...(from ? { from } : {}),
    like_count: 1,
    comment_count: 0,
    permalink_url: `https://www.facebook.com/c/${id}`,
    ...extra,
  });
  const post = (id: string, t: string, from: unknown, comments: unknown[], paging?: unknown) => ({
    id,
    message: `post ${id}`,
    created_time: t,
    from,
    permalink_url: `https://www.facebook.com/p/${id}`,
    reactions: { data: [], summary: { total_count: 2 } },
    comments: { data: comments, summary: { total_count: comments.length }, ...(paging ? { paging } : {}) },
  });

  it('first poll: scans a week back for posts, hands on new visitor posts and comments of the last 24 h, not the Page\'s own', async () => {
    const feed = expectFeed({
      data: [
        post(POST2, '2025-06-01T11:00:00+0000', els, [comment('9_3', '2025-06-01T11:50:00+0000'), comment('9_2', '2025-06-01T11:40:00+0000', acme), comment('9_1', '2025-05-30T10:00:00+0000')]),
        post(POST1, '2025-05-30T08:00:00+0000', acme, [comment('8_1', '2025-06-01T11:30:00+0000', null, { parent: { id: '8_0' } })]),
      ],
      paging: { cursors: { before: 'QVFIUx', after: 'QVFIUy' } },
    });
    const r = await facebookConnector.poll(ctx());
    feed.scope.done();
    expect(feed.seen[0]).toMatchObject({ fields: FEED_FIELDS, since: scanFrom(NOW - 86_400_000), limit: '25' });
    expect(feed.seen[0]).not.toHaveProperty('after');
    expect(r.mentions.map((m) => m.postId)).toEqual([POST2, '9_3', '8_1']);
    expect(r.mentions[0]).toEqual({
      platform: 'facebook',
      postId: POST2,
      url: `https://www.facebook.com/p/${POST2}`,
      brandId: 'acme',
      author: { id: els.id, handle: els.name, name: els.name, followers: 0, verified: false },
      text: `post ${POST2}`,
      createdAt: '2025-06-01T11:00:00.000Z',
      engagement: { likes: 2, reposts: 0, replies: 3, quotes: 0 },
      conversationId: POST2,
    });
    expect(r.mentions[1]).toMatchObject({ author: { id: jan.id }, replyToId: POST2, conversationId: POST2, engagement: { likes: 1, replies: 0 } });
    expect(r.mentions[2]).toMatchObject({ author: { id: 'unknown-8_1' }, replyToId: '8_0', conversationId: POST1 });
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toEqual({ since: '2025-06-01T11:50:00.000Z', sinceIds: '9_3', after: null, scanFrom: null, pendingSince: null, pendingIds: null });
  });

  it('pages through one scan across polls and commits the watermark only after the last page', async () => {
    const cursor = { since: '2025-06-01T10:00:00.000Z', sinceIds: '', after: null, scanFrom: null, pendingSince: null, pendingIds: null };
    const p1 = expectFeed({
      data: [post(POST2, '2025-06-01T11:00:00+0000', els, [])],
      paging: { cursors: { before: 'QVFIUa', after: 'QVFIUb' }, next: `${GRAPH}/v21.0/${PAGE}/feed?after=QVFIUb` },
    });
    const r1 = await facebookConnector.poll(ctx(cursor));
    p1.scope.done();
    const from = scanFrom(Date.parse(cursor.since));
    expect(p1.seen[0].since).toBe(from);
    expect(r1.mentions.map((m) => m.postId)).toEqual([POST2]);
    expect(r1.hasMore).toBe(true);
    expect(r1.cursor).toEqual({ since: cursor.since, sinceIds: '', after: 'QVFIUb', scanFrom: Number(from), pendingSince: '2025-06-01T11:00:00.000Z', pendingIds: POST2 });

    const p2 = expectFeed({ data: [post(POST1, '2025-05-31T09:00:00+0000', acme, [comment('8_5', '2025-06-01T10:30:00+0000')])], paging: { cursors: { before: 'QVFIUb', after: 'QVFIUc' } } });
    const r2 = await facebookConnector.poll(ctx(r1.cursor));
    p2.scope.done();
    expect(p2.seen[0]).toMatchObject({ after: 'QVFIUb', since: from });
    expect(r2.mentions.map((m) => m.postId)).toEqual(['8_5']);
    expect(r2.hasMore).toBe(false);
    // The newest of the whole scan (page one's post), not page two's comment.
    expect(r2.cursor).toEqual({ since: '2025-06-01T11:00:00.000Z', sinceIds: POST2, after: null, scanFrom: null, pendingSince: null, pendingIds: null });
  });

  it('reads further comment pages of a post whose 50 newest are all new', async () => {
    expectFeed({
      data: [post(POST1, '2025-06-01T08:00:00+0000', acme, [comment('8_9', '2025-06-01T11:59:00+0000'), comment('8_8', '2025-06-01T11:58:00+0000')], { cursors: { before: 'Y2', after: 'Y3' }, next: `${GRAPH}/v21.0/${POST1}/comments?after=Y3` })],
    });
    let seen: Record<string, string> = {};
    const more = nock(GRAPH)
      .get(`/v21.0/${POST1}/comments`)
      .query((q) => {
        seen = q as Record<string, string>;
        return true;
      })
      .reply(200, { data: [comment('8_7', '2025-06-01T11:57:00+0000'), comment('8_1', '2025-05-31T11:00:00+0000')], paging: { cursors: { before: 'Y3', after: 'Y4' }, next: 'https://graph.facebook.com/x' } });
    const r = await facebookConnector.poll(ctx());
    more.done();
    expect(seen).toMatchObject({ fields: COMMENT_FIELDS, filter: 'stream', order: 'reverse_chronological', limit: '100', after: 'Y3' });
    expect(r.mentions.map((m) => m.postId)).toEqual(['8_9', '8_8', '8_7']);
    expect(r.skipped).toBeUndefined();
  });

  it('stops paging when the usage headers of a successful call say to wait', async () => {
    const buc = { [PAGE]: [{ type: 'pages', call_count: 100, total_cputime: 30, total_time: 40, estimated_time_to_regain_access: 25 }] };
    expectFeed(
      { data: [], paging: { cursors: { before: 'a', after: 'b' }, next: `${GRAPH}/v21.0/${PAGE}/feed?after=b` } },
      200,
      { 'x-business-use-case-usage': JSON.stringify(buc) },
    );
    const r = await facebookConnector.poll(ctx());
    expect(r.resumeAt).toBe(NOW + 25 * 60_000);
    expect(r.hasMore).toBe(false);
    expect(r.cursor).toMatchObject({ after: 'b' });
  });

  it('on a throttled feed (code 32) keeps the cursor and waits', async () => {
    const cursor = { since: '2025-06-01T10:00:00.000Z', sinceIds: 'x', after: null, scanFrom: null, pendingSince: null, pendingIds: null };
    expectFeed({ error: { message: 'User request limit reached', type: 'OAuthException', code: 32, fbtrace_id: 'x' } }, 400, {
      'x-page-usage': JSON.stringify({ call_count: 100, total_cputime: 10, total_time: 10, estimated_time_to_regain_access: 9 }),
    });
    const r = await facebookConnector.poll(ctx(cursor));
    expect(r).toEqual({ mentions: [], cursor, hasMore: false, resumeAt: NOW + 9 * 60_000 });
  });

  it('throws RW_ERR_PLATFORM_REJECTED without secrets when the Page token has expired', async () => {
    expectFeed({ error: { message: 'Error validating access token: Session has expired on Saturday, 31-May-25 09:00:00 PDT.', type: 'OAuthException', code: 190, error_subcode: 463, fbtrace_id: 'x' } }, 400);
    const err = await caught(facebookConnector.poll(ctx()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.details).toMatchObject({ code: 190, subcode: 463 });
    for (const s of [TOKEN, APP_SECRET]) {
      expect(err.message).not.toContain(s);
      expect(JSON.stringify(err.details)).not.toContain(s);
    }
  });

  it('returns no mentions and keeps the watermark on an empty feed', async () => {
    const cursor = { since: '2025-06-01T10:00:00.000Z', sinceIds: '9_3', after: null, scanFrom: null, pendingSince: null, pendingIds: null };
    expectFeed({ data: [] });
    const r = await facebookConnector.poll(ctx(cursor));
    expect(r).toEqual({ mentions: [], cursor, hasMore: false });
  });

  it('maps a feed without data to RW_ERR_PAYLOAD_MALFORMED', async () => {
    expectFeed({ posts: [] });
    expect((await caught(facebookConnector.poll(ctx()))).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
  });
});
