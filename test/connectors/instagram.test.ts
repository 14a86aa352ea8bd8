import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import pino from 'pino';
import { Secrets, type ResolvedBrand } from '../../src/config/load';
import { policySchema } from '../../src/config/schema';
import { instagramSourceSchema, type InstagramSourceConfig } from '../../src/config/sources/instagram';
import type { Cursor, WebhookItem } from '../../src/connectors/connector';
import { instagramConnector, type InstagramPollContext } from '../../src/connectors/instagram';
import { RepwatchError } from '../../src/domain/errors';

const TOKEN = 'EAAGm0PX4ZCpsBAsecret-ig-user-token-ZDZD1a2b3c';
const APP_SECRET = 'a3f9c1e2secret-app-secret-77b0d4';
const GRAPH = 'https://graph.facebook.com';
const IG = '17841405309211844';
const NOW = Date.parse('2025-06-01T12:00:00Z');

const source: InstagramSourceConfig = instagramSourceSchema.parse({
  id: 'acme-ig',
  platform: 'instagram',
  igUserId: IG,
  accessTokenEnv: 'IG_TOKEN',
  appSecretEnv: 'META_APP_SECRET',
  verifyTokenEnv: 'META_VERIFY_TOKEN',
});

const brand: ResolvedBrand = {
  id: 'acme',
  name: 'Acme Bank',
  keywords: ['acme'],
  handles: ['@acmebank'],
  languages: ['nl', 'en'],
  sources: [],
  topics: {},
  exclude: [],
  effectivePolicy: policySchema.parse({ tiers: [] }),
};

function ctx(cursor: Cursor | null = null): InstagramPollContext {
  return {
    brand,
    source,
    cursor,
    now: NOW,
    secrets: new Secrets([
      ['IG_TOKEN', TOKEN],
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

function expectNoSecret(err: RepwatchError): void {
  for (const s of [TOKEN, APP_SECRET]) {
    expect(err.message).not.toContain(s);
    expect(JSON.stringify(err.details ?? {})).not.toContain(s);
  }
}

const graph = () => nock(GRAPH).matchHeader('authorization', `Bearer ${TOKEN}`);
/** Captures the batch form of each POST. */
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
const ops = (form: Record<string, string>) => (JSON.parse(form.batch) as { relative_url: string }[]).map((o) => decodeURIComponent(o.relative_url));

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('instagramSourceSchema', () => {
  it('fills the documented defaults and refuses unknown fields', () => {
    expect(source).toMatchObject({ graphVersion: 'v21.0', pollEvery: 300_000 });
    expect(instagramSourceSchema.safeParse({ ...source, pageId: '1' }).success).toBe(false);
    expect(instagramSourceSchema.safeParse({ ...source, igUserId: 'acmebank' }).success).toBe(false);
  });
});

describe('instagramConnector.webhook.parse', () => {
  const { parse, ownsAccount } = instagramConnector.webhook;

  it('reads a comments notification: the comment id, with media, parent and author from the payload', () => {
    expect(parse(fixture('ig-webhook-comments.json'))).toEqual([
      {
        accountId: IG,
        field: 'comments',
        id: '17865799348089039',
        value: { media_id: '17895695668004550', parent_id: '17858893269000001', username: 'boze_klant', text: 'Mijn pas is al 3 dagen geblokkeerd, café kon niet betalen 😡' },
      },
    ]);
  });

  it('reads mentions: the comment id for a comment mention, the media id for a caption mention', () => {
    expect(parse(fixture('ig-webhook-mentions.json'))).toEqual([
      { accountId: IG, field: 'mentions', id: '17894227972186120', value: { kind: 'comment', comment_id: '17894227972186120', media_id: '17920112008063024' } },
      { accountId: IG, field: 'mentions', id: '17918195224117851', value: { kind: 'media', media_id: '17918195224117851' } },
    ]);
  });

  it('accepts the envelope wrapped in an array (as Meta\'s examples show it) and ignores other fields', () => {
    const body = [{ object: 'instagram', entry: [{ id: IG, time: 1, changes: [{ field: 'story_insights', value: { media_id: '1', impressions: 4 } }, { field: 'mentions', value: { media_id: '9' } }] }] }];
    expect(parse(body)).toEqual([{ accountId: IG, field: 'mentions', id: '9', value: { kind: 'media', media_id: '9' } }]);
  });

  it.each([
    ['a Page body', { object: 'page', entry: [] }],
    ['a comment without id', { object: 'instagram', entry: [{ id: IG, time: 1, changes: [{ field: 'comments', value: { text: 'hi', media: { id: '1' } } }] }] }],
    ['a comment id that is not a Graph id', { object: 'instagram', entry: [{ id: IG, time: 1, changes: [{ field: 'comments', value: { id: '1/../me' } }] }] }],
    ['a mention with neither id', { object: 'instagram', entry: [{ id: IG, time: 1, changes: [{ field: 'mentions', value: {} }] }] }],
    ['changes that are not an array', { object: 'instagram', entry: [{ id: IG, time: 1, changes: 'comments' }] }],
    ['no body', null],
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

  it('owns the notifications of its own account only', () => {
    expect(ownsAccount(source, IG)).toBe(true);
    expect(ownsAccount(source, '17841400000000000')).toBe(false);
  });
});

describe('instagramConnector.webhook.fetch', () => {
  const { parse, fetch } = instagramConnector.webhook;

  it('fetches comments directly and mentions through mentioned_comment / mentioned_media, in one batch', async () => {
    const items = [...parse(fixture('ig-webhook-comments.json')), ...parse(fixture('ig-webhook-mentions.json'))];
    const { scope, forms } = expectBatch([
      {
        code: 200,
        body: JSON.stringify({
          id: '17865799348089039',
          text: 'Mijn pas is al 3 dagen geblokkeerd, café kon niet betalen 😡',
          timestamp: '2025-06-01T11:58:50+0000',
          username: 'boze_klant',
          like_count: 3,
          from: { id: '6213942118724512', username: 'boze_klant' },
          parent_id: '17858893269000001',
          media: { id: '17895695668004550', permalink: 'https://www.instagram.com/p/DKabc123/' },
        }),
      },
      {
        code: 200,
        body: JSON.stringify({
          mentioned_comment: { timestamp: '2025-06-01T11:59:00+0000', like_count: 185, text: '@acmebank waar blijft mijn geld?', id: '17894227972186120', username: 'fan_nl', media: { id: '17920112008063024' } },
          id: IG,
        }),
      },
      {
        code: 200,
        body: JSON.stringify({
          mentioned_media: { id: '17918195224117851', caption: 'Drie uur in de wacht bij @acmebank', timestamp: '2025-06-01T11:40:00+0000', like_count: 40, comments_count: 6, username: 'reiziger' },
          id: IG,
        }),
      },
    ]);
    const mentions = await fetch(ctx(), items);
    scope.done();
    expect(ops(forms[0])).toEqual([
      '17865799348089039?fields=id,text,timestamp,username,like_count,from,parent_id,media{id,permalink}',
      `${IG}?fields=mentioned_comment.comment_id(17894227972186120){id,text,timestamp,like_count,username,media{id}}`,
      `${IG}?fields=mentioned_media.media_id(17918195224117851){id,caption,timestamp,like_count,comments_count,username}`,
    ]);
    expect(mentions).toEqual([
      {
        platform: 'instagram',
        postId: '17865799348089039',
        url: 'https://www.instagram.com/p/DKabc123/',
        brandId: 'acme',
        author: { id: 'boze_klant', handle: 'boze_klant', followers: 0, verified: false },
        text: 'Mijn pas is al 3 dagen geblokkeerd, café kon niet betalen 😡',
        createdAt: '2025-06-01T11:58:50.000Z',
        engagement: { likes: 3, reposts: 0, replies: 0, quotes: 0 },
        replyToId: '17858893269000001',
        conversationId: '17895695668004550',
      },
      {
        platform: 'instagram',
        postId: '17894227972186120',
        url: '',
        brandId: 'acme',
        author: { id: 'fan_nl', handle: 'fan_nl', followers: 0, verified: false },
        text: '@acmebank waar blijft mijn geld?',
        createdAt: '2025-06-01T11:59:00.000Z',
        engagement: { likes: 185, reposts: 0, replies: 0, quotes: 0 },
        replyToId: '17920112008063024',
        conversationId: '17920112008063024',
      },
      {
        platform: 'instagram',
        postId: '17918195224117851',
        url: '',
        brandId: 'acme',
        author: { id: 'reiziger', handle: 'reiziger', followers: 0, verified: false },
        text: 'Drie uur in de wacht bij @acmebank',
        createdAt: '2025-06-01T11:40:00.000Z',
        engagement: { likes: 40, reposts: 0, replies: 6, quotes: 0 },
        conversationId: '17918195224117851',
      },
    ]);
  });

  it('batches 60 comment ids in two calls (50 + 10) and leaves out the deleted one', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `1786579934808${String(i).padStart(4, '0')}`);
    const items: WebhookItem[] = ids.map((id) => ({ accountId: IG, field: 'comments', id, value: { media_id: '17895695668004550' } }));
    const answer = (id: string) => ({
      code: 200,
      body: JSON.stringify({ id, text: `comment ${id}`, timestamp: '2025-06-01T11:00:00+0000', username: 'u', like_count: 0, from: { id: '1', username: 'u' }, media: { id: '17895695668004550' } }),
    });
    const deleted = {
      code: 400,
      body: JSON.stringify({
        error: {
          message: `Unsupported get request. Object with ID '${ids[55]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
          type: 'GraphMethodException',
          code: 100,
          error_subcode: 33,
          fbtrace_id: 'A1b2',
        },
      }),
    };
    const first = expectBatch(ids.slice(0, 50).map(answer));
    const second = expectBatch(ids.slice(50).map((id) => (id === ids[55] ? deleted : answer(id))));
    const mentions = await fetch(ctx(), items);
    first.scope.done();
    second.scope.done();
    expect(first.forms).toHaveLength(1);
    expect(second.forms).toHaveLength(1);
    expect(ops(first.forms[0])).toHaveLength(50);
    expect(ops(second.forms[0])).toHaveLength(10);
    expect(mentions).toHaveLength(59);
    expect(mentions.map((m) => m.postId)).not.toContain(ids[55]);
  });

  it("leaves out the account's own replies and a mention Meta no longer returns", async () => {
    const items: WebhookItem[] = [
      { accountId: IG, field: 'comments', id: '11', value: {} },
      { accountId: IG, field: 'mentions', id: '12', value: { kind: 'comment' } },
    ];
    const { scope } = expectBatch([
      { code: 200, body: JSON.stringify({ id: '11', text: 'Sorry! Stuur ons een DM', timestamp: '2025-06-01T11:00:00+0000', username: 'acmebank', from: { id: IG, username: 'acmebank' } }) },
      { code: 200, body: JSON.stringify({ id: IG }) },
    ]);
    expect(await fetch(ctx(), items)).toEqual([]);
    scope.done();
  });

  it('throws RW_ERR_PLATFORM_REJECTED without secrets when the token has expired', async () => {
    nock(GRAPH)
      .post('/v21.0/')
      .reply(400, { error: { message: 'Error validating access token: Session has expired on Sunday, 01-Jun-25.', type: 'OAuthException', code: 190, error_subcode: 463, fbtrace_id: 'x' } });
    const err = await caught(fetch(ctx(), [{ accountId: IG, field: 'comments', id: '11' }]));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expectNoSecret(err);
  });
});

describe('instagramConnector.poll (fallback)', () => {
  const A = '17895695668004550';
  const B = '17895695668004551';
  const C = '17895695668004552';
  const media = (counts: [string, number][]) => ({
    data: counts.map(([id, n], i) => ({ id, timestamp: `2025-05-2${i}T10:00:00+0000`, comments_count: n, permalink: `https://www.instagram.com/p/${id.slice(-4)}/` })),
    paging: { cursors: { before: 'QVFIU0', after: 'QVFIU1' } },
  });
  const comment = (id: string, ts: string, extra: Record<string, unknown> = {}) => ({ id, text: `comment ${id}`, timestamp: ts, username: `user${id.slice(-2)}`, like_count: 1, from: { id: `9${id}`, username: `user${id.slice(-2)}` }, ...extra });
  const tag = (id: string, ts: string) => ({ id, caption: `tagged @acmebank ${id}`, timestamp: ts, username: 'tagger', permalink: `https://www.instagram.com/p/T${id.slice(-3)}/`, like_count: 12, comments_count: 2 });

  function expectGet(pathname: string, body: unknown, status = 200, headers: Record<string, string> = {}) {
    const seen: Record<string, string>[] = [];
    const scope = graph()
      .get(`/v21.0/${pathname}`)
      .query((q) => {
        seen.push(q as Record<string, string>);
        return true;
      })
      .reply(status, body as nock.Body, headers);
    return { scope, seen };
  }

  it('first poll: reads media whose comment count moved, keeps the last 24 h, leaves out own replies, reads tags', async () => {
    const m = expectGet(`${IG}/media`, media([[A, 2], [B, 0], [C, 1]]));
    const a = expectGet(`${A}/comments`, {
      data: [
        comment('17858893269000010', '2025-06-01T11:30:00+0000', { replies: { data: [comment('17858893269000011', '2025-06-01T11:45:00+0000', { parent_id: '17858893269000010' })] } }),
        comment('17858893269000009', '2025-05-30T08:00:00+0000'),
      ],
    });
    const c = expectGet(`${C}/comments`, { data: [comment('17858893269000020', '2025-06-01T11:50:00+0000', { username: 'acmebank', from: { id: IG, username: 'acmebank' } })] });
    const t = expectGet(`${IG}/tags`, { data: [tag('17918195224117900', '2025-06-01T09:00:00+0000'), tag('17918195224117800', '2025-05-29T09:00:00+0000')] });

    const r = await instagramConnector.poll(ctx());
    for (const s of [m, a, c, t]) s.scope.done();

    expect(m.seen[0]).toMatchObject({ fields: 'id,timestamp,comments_count,permalink', limit: '25' });
    expect(a.seen[0]).toMatchObject({ fields: 'id,text,timestamp,username,like_count,from,parent_id,replies.limit(50){id,text,timestamp,username,like_count,from,parent_id}', limit: '50' });
    expect(r.mentions.map((x) => x.postId)).toEqual(['17858893269000010', '17858893269000011', '17918195224117900']);
    expect(r.mentions[0]).toEqual({
      platform: 'instagram',
      postId: '17858893269000010',
      url: `https://www.instagram.com/p/${A.slice(-4)}/`,
      brandId: 'acme',
      author: { id: 'user10', handle: 'user10', followers: 0, verified: false },
      text: 'comment 17858893269000010',
      createdAt: '2025-06-01T11:30:00.000Z',
      engagement: { likes: 1, reposts: 0, replies: 1, quotes: 0 },
      replyToId: A,
      conversationId: A,
    });
    expect(r.mentions[1]).toMatchObject({ replyToId: '17858893269000010', conversationId: A });
    expect(r.mentions[2]).toMatchObject({ url: 'https://www.instagram.com/p/T900/', author: { id: 'tagger', handle: 'tagger' }, engagement: { likes: 12, replies: 2 }, conversationId: '17918195224117900' });
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBeUndefined();
    expect(r.cursor).toEqual({
      // The account's own reply is newest: the watermark passes it so it is not read again.
      commentsSince: '2025-06-01T11:50:00.000Z',
      commentsIds: '17858893269000020',
      tagsSince: '2025-06-01T09:00:00.000Z',
      tagsIds: '17918195224117900',
      counts: JSON.stringify({ [A]: 2, [B]: 0, [C]: 1 }),
    });
  });

  it('next poll: skips media whose count is unchanged and hands on only comments past the watermark', async () => {
    const cursor = {
      commentsSince: '2025-06-01T11:50:00.000Z',
      commentsIds: '17858893269000020',
      tagsSince: '2025-06-01T09:00:00.000Z',
      tagsIds: '17918195224117900',
      counts: JSON.stringify({ [A]: 2, [B]: 0, [C]: 1 }),
    };
    const m = expectGet(`${IG}/media`, media([[A, 3], [B, 0], [C, 1]]));
    const a = expectGet(`${A}/comments`, {
      data: [comment('17858893269000030', '2025-06-01T11:55:00+0000'), comment('17858893269000010', '2025-06-01T11:30:00+0000')],
    });
    const t = expectGet(`${IG}/tags`, { data: [tag('17918195224117900', '2025-06-01T09:00:00+0000')] });
    const r = await instagramConnector.poll(ctx(cursor));
    for (const s of [m, a, t]) s.scope.done();
    expect(r.mentions.map((x) => x.postId)).toEqual(['17858893269000030']);
    expect(r.cursor).toMatchObject({ commentsSince: '2025-06-01T11:55:00.000Z', commentsIds: '17858893269000030', tagsSince: cursor.tagsSince, counts: JSON.stringify({ [A]: 3, [B]: 0, [C]: 1 }) });
  });

  it('pages through a medium\'s comments with the after cursor', async () => {
    expectGet(`${IG}/media`, media([[A, 3]]));
    const p1 = expectGet(`${A}/comments`, {
      data: [comment('17858893269000041', '2025-06-01T11:41:00+0000'), comment('17858893269000042', '2025-06-01T11:42:00+0000')],
      paging: { cursors: { before: 'QVFIUb', after: 'QVFIUa2' }, next: `${GRAPH}/v21.0/${A}/comments?after=QVFIUa2` },
    });
    const p2 = graph()
      .get(`/v21.0/${A}/comments`)
      .query((q) => q.after === 'QVFIUa2')
      .reply(200, { data: [comment('17858893269000043', '2025-06-01T11:43:00+0000')], paging: { cursors: { before: 'QVFIUa2', after: 'QVFIUa3' } } });
    expectGet(`${IG}/tags`, { data: [] });
    const r = await instagramConnector.poll(ctx());
    p1.scope.done();
    p2.done();
    expect(p1.seen[0]).not.toHaveProperty('after');
    expect(r.mentions.map((x) => x.postId)).toEqual(['17858893269000041', '17858893269000042', '17858893269000043']);
    expect(r.cursor).toMatchObject({ commentsSince: '2025-06-01T11:43:00.000Z', commentsIds: '17858893269000043' });
  });

  it('on a rate limit part-way hands on what it read, keeps the cursor and waits as X-Business-Use-Case-Usage says', async () => {
    const cursor = { commentsSince: '2025-06-01T10:00:00.000Z', commentsIds: '', tagsSince: '2025-06-01T09:00:00.000Z', tagsIds: '', counts: '{}' };
    expectGet(`${IG}/media`, media([[A, 1], [C, 1]]));
    expectGet(`${A}/comments`, { data: [comment('17858893269000050', '2025-06-01T11:00:00+0000')] });
    const buc = { [IG]: [{ type: 'instagram', call_count: 100, total_cputime: 40, total_time: 50, estimated_time_to_regain_access: 12 }] };
    expectGet(`${C}/comments`, { error: { message: 'There have been too many calls for this Instagram account.', type: 'OAuthException', code: 80002, fbtrace_id: 'x' } }, 400, {
      'x-business-use-case-usage': JSON.stringify(buc),
    });
    const r = await instagramConnector.poll(ctx(cursor));
    expect(r.mentions.map((x) => x.postId)).toEqual(['17858893269000050']);
    expect(r.cursor).toBe(cursor);
    expect(r.hasMore).toBe(false);
    expect(r.resumeAt).toBe(NOW + 12 * 60_000);
  });

  it('sets resumeAt from usage headers of a successful poll', async () => {
    expectGet(`${IG}/media`, media([]));
    const buc = { [IG]: [{ type: 'instagram', call_count: 100, total_cputime: 10, total_time: 10, estimated_time_to_regain_access: 4 }] };
    expectGet(`${IG}/tags`, { data: [] }, 200, { 'x-business-use-case-usage': JSON.stringify(buc) });
    const r = await instagramConnector.poll(ctx());
    expect(r.mentions).toEqual([]);
    expect(r.resumeAt).toBe(NOW + 4 * 60_000);
  });

  it('throws RW_ERR_PLATFORM_REJECTED without secrets when the token has expired', async () => {
    expectGet(`${IG}/media`, { error: { message: 'Error validating access token: The session has been invalidated because the user changed their password.', type: 'OAuthException', code: 190, error_subcode: 460, fbtrace_id: 'x' } }, 400);
    const err = await caught(instagramConnector.poll(ctx()));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toMatch(/Instagram Graph API refused the access token/);
    expectNoSecret(err);
  });

  it('maps a media list without data to RW_ERR_PAYLOAD_MALFORMED and a 503 to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    expectGet(`${IG}/media`, { data: 'none' });
    expect((await caught(instagramConnector.poll(ctx()))).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expectGet(`${IG}/media`, 'Service Unavailable', 503);
    expect((await caught(instagramConnector.poll(ctx()))).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
  });

  it('skips a comment without a readable timestamp and keeps the rest', async () => {
    expectGet(`${IG}/media`, media([[A, 2]]));
    expectGet(`${A}/comments`, { data: [comment('17858893269000060', 'soon'), comment('17858893269000061', '2025-06-01T11:00:00+0000')] });
    expectGet(`${IG}/tags`, { data: [] });
    const r = await instagramConnector.poll(ctx());
    expect(r.mentions.map((x) => x.postId)).toEqual(['17858893269000061']);
    expect(r.skipped).toEqual([{ postId: '17858893269000060', reason: 'the comment has no id or readable timestamp' }]);
  });
});
