import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import pino from 'pino';
import { Secrets } from '../../src/config/load';
import type { WebhookItem } from '../../src/connectors/connector';
import {
  DEFAULT_RATE_LIMIT_WAIT_MS,
  fetchBatched,
  graphClient,
  isoTime,
  metaChallenge,
  usageResumeAt,
  verifyMetaSignature,
  webhookChanges,
  type MetaSourceFields,
} from '../../src/connectors/meta';
import { RepwatchError } from '../../src/domain/errors';

const TOKEN = 'EAAGm0PX4ZCpsBAsecret-page-token-ZDZD9f8e7d';
const APP_SECRET = 'a3f9c1e2secret-app-secret-77b0d4';
const VERIFY_TOKEN = 'verify-me-4c1f9b2e';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const GRAPH = 'https://graph.facebook.com';

const fixture = (name: string): Buffer => readFileSync(path.join(__dirname, '..', 'fixtures', 'meta', name));
const sign = (body: Buffer, secret = APP_SECRET): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const PROOF = createHmac('sha256', APP_SECRET).update(TOKEN).digest('hex');

const source: MetaSourceFields = {
  id: 'ig',
  accessTokenEnv: 'META_TOKEN',
  appSecretEnv: 'META_APP_SECRET',
  verifyTokenEnv: 'META_VERIFY_TOKEN',
  graphVersion: 'v21.0',
};
const secrets = new Secrets([
  ['META_TOKEN', TOKEN],
  ['META_APP_SECRET', APP_SECRET],
  ['META_VERIFY_TOKEN', VERIFY_TOKEN],
  ['GRAPH_URL', 'http://graph.local:8080/'],
]);

function expectNoSecret(err: RepwatchError): void {
  for (const s of [TOKEN, APP_SECRET]) {
    expect(err.message).not.toContain(s);
    expect(JSON.stringify(err.details ?? {})).not.toContain(s);
    expect(String(err.stack)).not.toContain(s);
  }
  expect(err.cause).toBeUndefined();
}

async function caught(p: Promise<unknown>): Promise<RepwatchError> {
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

describe('verifyMetaSignature (X-Hub-Signature-256)', () => {
  const raw = fixture('ig-webhook-comments.json');

  it('accepts the HMAC-SHA256 of the raw body with the app secret', () => {
    expect(verifyMetaSignature(raw, sign(raw), APP_SECRET)).toBe(true);
    // Hex case does not matter.
    expect(verifyMetaSignature(raw, `sha256=${sign(raw).slice(7).toUpperCase()}`, APP_SECRET)).toBe(true);
  });

  it('refuses a signature made with another secret, or a body changed after signing', () => {
    expect(verifyMetaSignature(raw, sign(raw, 'not-the-app-secret'), APP_SECRET)).toBe(false);
    const tampered = Buffer.from(raw.toString('utf8').replace('geblokkeerd', 'gedeblokkeerd'));
    expect(verifyMetaSignature(tampered, sign(raw), APP_SECRET)).toBe(false);
  });

  it('needs the raw bytes: the same JSON re-serialised (escapes undone) does not verify', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    expect(raw.toString('utf8')).toContain('\\u00e9');
    expect(reserialised.equals(raw)).toBe(false);
    expect(verifyMetaSignature(reserialised, sign(raw), APP_SECRET)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too short', 'sha256=abcd'],
    ['too long', `${sign(raw)}00`],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['sha1 scheme', `sha1=${createHmac('sha1', APP_SECRET).update(raw).digest('hex')}`],
    ['no scheme', createHmac('sha256', APP_SECRET).update(raw).digest('hex')],
  ])('returns false without throwing for a %s header', (_what, header) => {
    expect(() => verifyMetaSignature(raw, header, APP_SECRET)).not.toThrow();
    expect(verifyMetaSignature(raw, header, APP_SECRET)).toBe(false);
  });

  it('returns false when no app secret is configured', () => {
    expect(verifyMetaSignature(raw, sign(raw, ''), '')).toBe(false);
  });
});

describe('metaChallenge (GET verification request)', () => {
  const good = { 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': VERIFY_TOKEN };

  it('echoes hub.challenge when mode is subscribe and the verify token matches', () => {
    expect(metaChallenge(good, VERIFY_TOKEN)).toBe('1158201444');
    // qs-style nested parsing of the same query.
    expect(metaChallenge({ hub: { mode: 'subscribe', challenge: '1158201444', verify_token: VERIFY_TOKEN } }, VERIFY_TOKEN)).toBe('1158201444');
  });

  it.each([
    ['a wrong verify token', { ...good, 'hub.verify_token': 'meatyhamhock' }],
    ['a verify token that only starts alike', { ...good, 'hub.verify_token': `${VERIFY_TOKEN}x` }],
    ['another mode', { ...good, 'hub.mode': 'unsubscribe' }],
    ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN }],
    ['a repeated challenge parameter', { ...good, 'hub.challenge': ['1', '2'] }],
    ['a challenge with markup', { ...good, 'hub.challenge': '<script>alert(1)</script>' }],
    ['no query', undefined],
  ])('refuses %s', (_what, query) => {
    expect(metaChallenge(query, VERIFY_TOKEN)).toBeUndefined();
  });

  it('refuses everything when no verify token is configured', () => {
    expect(metaChallenge({ ...good, 'hub.verify_token': '' }, '')).toBeUndefined();
  });
});

describe('webhookChanges', () => {
  it('reads entry[].changes[] and skips entries without changes (messaging)', () => {
    const body = { object: 'page', entry: [{ id: '1', time: 1, messaging: [{}] }, { id: '2', time: 1, changes: [{ field: 'feed', value: { item: 'status' } }] }] };
    expect(webhookChanges(body, 'page', 'test')).toEqual([{ accountId: '2', field: 'feed', value: { item: 'status' } }]);
  });

  it.each([
    ['not an object', 'hello', /body is string/],
    ['the other object', { object: 'instagram', entry: [] }, /object is "instagram"/],
    ['entry not an array', { object: 'page', entry: {} }, /entry is not an array/],
    ['an entry id that is not a Graph id', { object: 'page', entry: [{ id: '../me', changes: [] }] }, /Graph id/],
    ['a change without value', { object: 'page', entry: [{ id: '1', changes: [{ field: 'feed' }] }] }, /changes\[0\]/],
  ])('rejects %s with RW_ERR_PAYLOAD_MALFORMED', (_what, body, message) => {
    let err: unknown;
    try {
      webhookChanges(body, 'page', 'Facebook Page webhook');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RepwatchError);
    expect((err as RepwatchError).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
    expect((err as RepwatchError).message).toMatch(message);
  });
});

describe('usageResumeAt (Meta usage headers)', () => {
  const h = (entries: Record<string, string>) => new Headers(entries);

  it('waits estimated_time_to_regain_access minutes from X-Business-Use-Case-Usage', () => {
    const buc = { '104520598232455': [{ type: 'pages', call_count: 100, total_cputime: 20, total_time: 25, estimated_time_to_regain_access: 19 }] };
    expect(usageResumeAt(h({ 'x-business-use-case-usage': JSON.stringify(buc) }), NOW)).toBe(NOW + 19 * 60_000);
  });

  it('waits the default when a usage percentage is at 100 without an estimate', () => {
    expect(usageResumeAt(h({ 'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 12, total_time: 30 }) }), NOW)).toBe(NOW + DEFAULT_RATE_LIMIT_WAIT_MS);
    const buc = { '17841405309211844': [{ type: 'instagram', call_count: 20, total_cputime: 100, total_time: 40, estimated_time_to_regain_access: 0 }] };
    expect(usageResumeAt(h({ 'x-business-use-case-usage': JSON.stringify(buc) }), NOW)).toBe(NOW + DEFAULT_RATE_LIMIT_WAIT_MS);
  });

  it('says nothing below the limits, without headers, or for unreadable headers', () => {
    expect(usageResumeAt(h({ 'x-app-usage': JSON.stringify({ call_count: 80, total_cputime: 10, total_time: 10 }) }), NOW)).toBeUndefined();
    expect(usageResumeAt(h({}), NOW)).toBeUndefined();
    expect(usageResumeAt(h({ 'x-business-use-case-usage': '{not json' }), NOW)).toBeUndefined();
  });
});

describe('graphClient', () => {
  it('sends the token as a Bearer header with appsecret_proof, never in the URL', async () => {
    let seen: Record<string, string> = {};
    const scope = nock(GRAPH)
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .get('/v21.0/17841405309211844/media')
      .query((q) => {
        seen = q as Record<string, string>;
        return true;
      })
      .reply(200, { data: [] });
    const client = graphClient(source, secrets, 'Instagram Graph API', NOW);
    expect(await client.get('17841405309211844/media', { fields: 'id', limit: '25' })).toMatchObject({ body: { data: [] } });
    scope.done();
    expect(seen).toEqual({ fields: 'id', limit: '25', appsecret_proof: PROOF });
    expect(JSON.stringify(seen)).not.toContain(TOKEN);
  });

  it('uses baseUrl, or the URL in baseUrlEnv, instead of graph.facebook.com', async () => {
    const scope = nock('http://graph.local:8080').get('/v21.0/me').query(true).twice().reply(200, { id: '1' });
    await graphClient({ ...source, baseUrlEnv: 'GRAPH_URL' }, secrets, 'test', NOW).get('me', {});
    await graphClient({ ...source, baseUrl: 'http://graph.local:8080' }, secrets, 'test', NOW).get('me', {});
    scope.done();
  });

  it('maps Graph error 190 (expired token) to RW_ERR_PLATFORM_REJECTED, naming the code but no secret', async () => {
    nock(GRAPH)
      .get('/v21.0/me')
      .query(true)
      .reply(400, {
        error: {
          message: `Error validating access token: Session has expired on Sunday, 01-Jun-25 10:00:00 PDT. (token ${TOKEN})`,
          type: 'OAuthException',
          code: 190,
          error_subcode: 463,
          fbtrace_id: 'AkLl12hQO-eJrTGPABAL-o6',
        },
      });
    const err = await caught(graphClient(source, secrets, 'Facebook Graph API', NOW).get('me', {}));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/expired or been revoked.*Graph error 190\/463/);
    expect(err.message).toContain('[Redacted]');
    expect(err.details).toMatchObject({ status: 400, code: 190, subcode: 463, type: 'OAuthException', fbtraceId: 'AkLl12hQO-eJrTGPABAL-o6' });
    expectNoSecret(err);
  });

  it.each([
    [4, 'x-app-usage', { call_count: 100, total_cputime: 30, total_time: 40 }, DEFAULT_RATE_LIMIT_WAIT_MS],
    [32, 'x-page-usage', { call_count: 100, total_cputime: 5, total_time: 5, estimated_time_to_regain_access: 7 }, 7 * 60_000],
    [80001, 'x-business-use-case-usage', { '104520598232455': [{ type: 'pages', call_count: 100, total_cputime: 9, total_time: 9, estimated_time_to_regain_access: 30 }] }, 30 * 60_000],
    [613, 'x-unrelated', {}, DEFAULT_RATE_LIMIT_WAIT_MS],
  ])('maps rate-limit code %d to RW_ERR_PLATFORM_RATE_LIMITED, waiting as %s says', async (code, header, usage, wait) => {
    nock(GRAPH)
      .get('/v21.0/me')
      .query(true)
      .reply(400, { error: { message: 'Application request limit reached', type: 'OAuthException', code, fbtrace_id: 'Ab12' } }, { [header]: JSON.stringify(usage) });
    const err = await caught(graphClient(source, secrets, 'test', NOW).get('me', {}));
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(wait);
  });

  it.each([
    ['Graph error 2 (service) on 500', 500, { error: { message: 'An unexpected error has occurred. Please retry your request later.', type: 'OAuthException', code: 2, is_transient: true } }],
    ['an HTML 502 from the edge', 502, '<html><body>Bad Gateway</body></html>'],
  ])('maps %s to RW_ERR_PLATFORM_UNAVAILABLE', async (_what, status, body) => {
    nock(GRAPH).get('/v21.0/me').query(true).reply(status, body as nock.Body);
    const err = await caught(graphClient(source, secrets, 'test', NOW).get('me', {}));
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expect(err.details).toMatchObject({ status });
  });

  it('maps a network failure to RW_ERR_PLATFORM_UNAVAILABLE', async () => {
    nock(GRAPH).get('/v21.0/me').query(true).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = await caught(graphClient(source, secrets, 'test', NOW).get('me', {}));
    expect(err.code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
    expectNoSecret(err);
  });

  it('maps a 200 whose body is not JSON to RW_ERR_PAYLOAD_MALFORMED', async () => {
    nock(GRAPH).get('/v21.0/me').query(true).reply(200, '{"data":[', { 'content-type': 'application/json' });
    expect((await caught(graphClient(source, secrets, 'test', NOW).get('me', {}))).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
  });

  it('maps a permission error (code 10) to RW_ERR_PLATFORM_REJECTED', async () => {
    nock(GRAPH)
      .get('/v21.0/me')
      .query(true)
      .reply(403, { error: { message: '(#10) This endpoint requires the pages_read_engagement permission', type: 'OAuthException', code: 10 } });
    const err = await caught(graphClient(source, secrets, 'test', NOW).get('me', {}));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expect(err.message).toContain('pages_read_engagement');
  });

  it('remembers the latest usage back-off of successful calls', async () => {
    const buc = { '1': [{ type: 'pages', call_count: 100, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: 5 }] };
    nock(GRAPH).get('/v21.0/me').query(true).reply(200, { id: '1' }, { 'x-business-use-case-usage': JSON.stringify(buc) });
    const client = graphClient(source, secrets, 'test', NOW);
    expect(client.resumeAt()).toBeUndefined();
    await client.get('me', {});
    expect(client.resumeAt()).toBe(NOW + 5 * 60_000);
  });
});

describe('fetchBatched (Graph batch requests)', () => {
  const item = (id: string): WebhookItem => ({ accountId: '1', field: 'comments', id });
  const run = (items: WebhookItem[]) =>
    fetchBatched({
      client: graphClient(source, secrets, 'test', NOW),
      items,
      now: NOW,
      what: 'test',
      logger: pino({ level: 'silent' }),
      sourceId: 'ig',
      operation: (i) => `${i.id}?fields=id,text`,
      toMention: (i, answer) =>
        typeof answer.text === 'string'
          ? { platform: 'instagram', postId: i.id, url: '', brandId: 'acme', author: { id: 'a', handle: 'a', followers: 0, verified: false }, text: answer.text, createdAt: '2025-06-01T11:00:00.000Z', engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 } }
          : 'no text',
    });

  it('posts the operations as a form with the token in the body, and leaves out deleted ones', async () => {
    let form: Record<string, string> = {};
    const scope = nock(GRAPH)
      .post('/v21.0/', (b) => {
        form = b as Record<string, string>;
        return true;
      })
      .reply(200, [
        { code: 200, body: JSON.stringify({ id: '11', text: 'first' }) },
        {
          code: 400,
          body: JSON.stringify({
            error: { message: "Unsupported get request. Object with ID '12' does not exist, cannot be loaded due to missing permissions, or does not support this operation", type: 'GraphMethodException', code: 100, error_subcode: 33 },
          }),
        },
        { code: 200, body: JSON.stringify({ id: '13' }) },
      ]);
    const mentions = await run([item('11'), item('12'), item('13'), item('11')]);
    scope.done();
    expect(mentions.map((m) => m.postId)).toEqual(['11']);
    expect(form).toMatchObject({ access_token: TOKEN, appsecret_proof: PROOF, include_headers: 'false' });
    // The repeated item is asked for once.
    expect(JSON.parse(form.batch)).toEqual([
      { method: 'GET', relative_url: '11?fields=id,text' },
      { method: 'GET', relative_url: '12?fields=id,text' },
      { method: 'GET', relative_url: '13?fields=id,text' },
    ]);
  });

  it('throws RW_ERR_PLATFORM_UNAVAILABLE when Meta did not finish an operation (null)', async () => {
    nock(GRAPH).post('/v21.0/').reply(200, [{ code: 200, body: JSON.stringify({ id: '11', text: 'x' }) }, null]);
    expect((await caught(run([item('11'), item('12')]))).code).toBe('RW_ERR_PLATFORM_UNAVAILABLE');
  });

  it('throws RW_ERR_PLATFORM_REJECTED when an operation says the token expired', async () => {
    nock(GRAPH)
      .post('/v21.0/')
      .reply(200, [{ code: 400, body: JSON.stringify({ error: { message: 'Error validating access token', type: 'OAuthException', code: 190, error_subcode: 460 } }) }]);
    const err = await caught(run([item('11')]));
    expect(err.code).toBe('RW_ERR_PLATFORM_REJECTED');
    expectNoSecret(err);
  });

  it('throws RW_ERR_PLATFORM_RATE_LIMITED when an operation is throttled', async () => {
    nock(GRAPH)
      .post('/v21.0/')
      .reply(200, [{ code: 400, body: JSON.stringify({ error: { message: 'Application request limit reached', type: 'OAuthException', code: 4 } }) }], {
        'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 1, total_time: 1 }),
      });
    const err = await caught(run([item('11')]));
    expect(err.code).toBe('RW_ERR_PLATFORM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(DEFAULT_RATE_LIMIT_WAIT_MS);
  });

  it('maps a batch answer of the wrong length to RW_ERR_PAYLOAD_MALFORMED', async () => {
    nock(GRAPH).post('/v21.0/').reply(200, [{ code: 200, body: '{}' }]);
    expect((await caught(run([item('11'), item('12')]))).code).toBe('RW_ERR_PAYLOAD_MALFORMED');
  });
});

describe('isoTime', () => {
  it('reads Graph times with a +0000 offset and webhook unix seconds', () => {
    expect(isoTime('2025-06-01T11:58:00+0000')).toBe('2025-06-01T11:58:00.000Z');
    expect(isoTime('2025-06-01T13:58:00+0200')).toBe('2025-06-01T11:58:00.000Z');
    expect(isoTime(1748779080)).toBe('2025-06-01T11:58:00.000Z');
    expect(isoTime('yesterday')).toBeUndefined();
    expect(isoTime(undefined)).toBeUndefined();
  });
});
