import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import nock from 'nock';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { Secrets } from '../../src/config/load';
import type { WebhookReceiverConfig } from '../../src/config/schema';
import { fixtureEvent } from '../fixtures/alert-event';
import { RepwatchError } from '../../src/domain/errors';
import { createWebhookNotifier, verifyWebhook } from '../../src/notifiers/webhook';
import { captureLogger, failure } from '../helpers';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const SECRET_KEY = SECRET.slice('whsec_'.length);

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
}

/** What the test server does with each request; replaced per test. */
let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;
const received: Received[] = [];
let server: http.Server;
let baseUrl: string;

function config(overrides: Partial<WebhookReceiverConfig> = {}): WebhookReceiverConfig {
  return { id: 'crm-hook', type: 'webhook', minSeverity: 'info', optional: false, url: `${baseUrl}/hooks/repwatch`, secretEnv: 'CRM_WEBHOOK_SECRET', timeout: 5_000, ...overrides };
}
const secrets = new Secrets([['CRM_WEBHOOK_SECRET', SECRET]]);


function expectNoSecret(err: RepwatchError): void {
  for (const r of [String(err), err.message, JSON.stringify(err), inspect(err, { depth: 10 }), err.stack ?? '']) {
    expect(r).not.toContain(SECRET_KEY);
    expect(r).not.toContain('/hooks/repwatch');
  }
  expect(err.cause).toBeUndefined();
}

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
      respond(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  received.length = 0;
  respond = (_req, res) => res.writeHead(204).end();
});

afterEach(() => nock.cleanAll());

afterAll(async () => {
  // Not per test: closing keep-alive sockets between tests makes fetch reuse a dead one (UND_ERR_SOCKET).
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  nock.enableNetConnect();
  nock.restore();
});

describe('webhook notifier', () => {
  it('posts a Standard Webhooks payload whose signature verifies on the raw body and headers', async () => {
    respond = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    const event = fixtureEvent();
    const before = Math.floor(Date.now() / 1000);
    const receipt = await createWebhookNotifier(config(), secrets).send(event, captureLogger().logger);
    expect(receipt).toEqual({ status: 200 });

    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hooks/repwatch');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toBe('repwatch');
    expect(req.headers['webhook-id']).toBe(event.id);
    const ts = Number(req.headers['webhook-timestamp']);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    // Our helper and the library itself both accept it.
    const payload = verifyWebhook(SECRET, req.rawBody, req.headers);
    expect(payload).toEqual({ type: 'alert.triggered', timestamp: event.at, data: { eventId: event.id, seq: 42, alert: event.alert } });
    expect(new Webhook(SECRET).verify(req.rawBody, req.headers as Record<string, string>)).toEqual(payload);
    expect(payload.data.alert.post.author.followers).toBe(312_400);

    // A tampered body or another secret fails.
    expect(() => verifyWebhook(SECRET, req.rawBody.replace('312400', '312401'), req.headers)).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, req.rawBody, req.headers)).toThrow(WebhookVerificationError);
  });

  it('sends the same webhook-id for two sends of the same event, each signed for its own attempt', async () => {
    const notifier = createWebhookNotifier(config(), secrets);
    const event = fixtureEvent();
    await notifier.send(event, captureLogger().logger);
    await notifier.send(event, captureLogger().logger);
    expect(received).toHaveLength(2);
    expect(received[0].headers['webhook-id']).toBe(event.id);
    expect(received[1].headers['webhook-id']).toBe(event.id);
    expect(received[0].rawBody).toBe(received[1].rawBody);
    for (const r of received) expect(() => verifyWebhook(SECRET, r.rawBody, r.headers)).not.toThrow();
  });

  it('410 Gone is RW_ERR_RECEIVER_GONE (not retried) with details.gone', async () => {
    respond = (_req, res) => res.writeHead(410, { 'content-type': 'text/plain' }).end('endpoint removed');
    const err = await failure(createWebhookNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_GONE');
    expect(err.retryable).toBe(false);
    expect(err.details).toEqual({ status: 410, gone: true });
    expect(err.message).toContain('crm-hook');
    expectNoSecret(err);
  });

  it('503 with retry-after: 7 is RW_ERR_RECEIVER_UNAVAILABLE with retryAfterMs 7000', async () => {
    respond = (_req, res) => res.writeHead(503, { 'retry-after': '7' }).end('maintenance');
    const err = await failure(createWebhookNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(7_000);
    expectNoSecret(err);
  });

  it('429 with retry-after is RW_ERR_RECEIVER_RATE_LIMITED', async () => {
    respond = (_req, res) => res.writeHead(429, { 'retry-after': '20' }).end();
    const err = await failure(createWebhookNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(20_000);
  });

  it('another 4xx is RW_ERR_RECEIVER_REJECTED without gone', async () => {
    respond = (_req, res) => res.writeHead(400).end('bad signature');
    const err = await failure(createWebhookNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_REJECTED');
    expect(err.details).toEqual({ status: 400 });
  });

  it('a refused connection (closed port) is RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(
      createWebhookNotifier(config({ url: `http://127.0.0.1:${port}/hooks/repwatch` }), secrets).send(fixtureEvent(), captureLogger().logger),
    );
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expectNoSecret(err);
  });

  it('a receiver that never answers times out after config.timeout as RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    let hanging: http.ServerResponse | undefined;
    respond = (_req, res) => {
      hanging = res; // never answers
    };
    const started = Date.now();
    const err = await failure(createWebhookNotifier(config({ timeout: 200 }), secrets).send(fixtureEvent(), captureLogger().logger));
    hanging?.destroy();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.message).toContain('timed out');
    expectNoSecret(err);
  });

  it('takes the URL from urlEnv and keeps it and the secret out of errors', async () => {
    respond = (_req, res) => res.writeHead(500).end();
    const withUrl = new Secrets([
      ['CRM_WEBHOOK_SECRET', SECRET],
      ['CRM_WEBHOOK_URL', `${baseUrl}/hooks/repwatch?token=s3cr3t-query-token`],
    ]);
    const notifier = createWebhookNotifier(config({ url: undefined, urlEnv: 'CRM_WEBHOOK_URL' }), withUrl);
    const err = await failure(notifier.send(fixtureEvent(), captureLogger().logger));
    expect(received[0].url).toBe('/hooks/repwatch?token=s3cr3t-query-token');
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(JSON.stringify(err)).not.toContain('s3cr3t-query-token');
    expect(String(err)).not.toContain('s3cr3t-query-token');
    expectNoSecret(err);
    expect(JSON.stringify(notifier)).not.toContain(SECRET_KEY);
  });

  it('signs every delivery with each secret while one is rotated: a receiver holding either verifies', async () => {
    const older = `whsec_${randomBytes(24).toString('base64')}`;
    const newer = `whsec_${randomBytes(32).toString('base64')}`;
    const third = `whsec_${randomBytes(32).toString('base64')}`;
    // A list of variables, one of them holding two space-separated secrets.
    const rotating = new Secrets([
      ['HOOK_SECRET_OLD', older],
      ['HOOK_SECRETS_NEW', `${newer}  ${third}`],
    ]);
    const event = fixtureEvent();
    await createWebhookNotifier(config({ secretEnv: ['HOOK_SECRET_OLD', 'HOOK_SECRETS_NEW'] }), rotating).send(event, captureLogger().logger);
    const [req] = received;
    const signatures = String(req.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(3);
    for (const sig of signatures) expect(sig).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    for (const secret of [older, newer, third]) {
      expect(verifyWebhook(secret, req.rawBody, req.headers).data.eventId).toBe(event.id);
      expect(new Webhook(secret).verify(req.rawBody, req.headers as Record<string, string>)).toMatchObject({ type: 'alert.triggered' });
    }
    expect(() => verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, req.rawBody, req.headers)).toThrow(WebhookVerificationError);
  });

  it('refuses a secret shorter than 24 bytes at creation, naming the variable and never the value', () => {
    const short = `whsec_${Buffer.from('only-20-bytes-secret').toString('base64')}`;
    let caught: unknown;
    try {
      createWebhookNotifier(config(), new Secrets([['CRM_WEBHOOK_SECRET', short]]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RepwatchError);
    expect((caught as RepwatchError).code).toBe('RW_ERR_CONFIG_INVALID');
    expect((caught as RepwatchError).message).toContain('CRM_WEBHOOK_SECRET');
    expect((caught as RepwatchError).message).toContain('20 bytes');
    expect(inspect(caught, { depth: 5 })).not.toContain(short.slice(6, 20));
  });

  it('rejects a secret that is not whsec_ + base64 at creation, without echoing it', () => {
    const bad = new Secrets([['CRM_WEBHOOK_SECRET', 'whsec_not*valid*base64!!']]);
    let caught: unknown;
    try {
      createWebhookNotifier(config(), bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RepwatchError);
    expect((caught as RepwatchError).code).toBe('RW_ERR_CONFIG_INVALID');
    expect(String(caught)).not.toContain('not*valid');
  });
});
