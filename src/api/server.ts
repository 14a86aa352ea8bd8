import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isRepwatchError, RepwatchError, type ErrorCode } from '../domain/errors';
import { authenticate, clearSessionCookie, keyNameOf, setSessionCookie } from './auth';
import type { ApiDeps } from './deps';
import { apiRoutes } from './routes';
import { errorSchema, sessionBody } from './schemas';
import { slackActions } from './slack-actions';
import { metaWebhooks } from './webhooks';
import { streamRoutes } from './stream';

export { parseApiKeys, parseListen, type ApiDeps } from './deps';

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  RW_ERR_INPUT_INVALID: 400,
  RW_ERR_UNAUTHORIZED: 401,
  RW_ERR_UNKNOWN_REFERENCE: 404,
  RW_ERR_ALERT_STATE: 409,
  RW_ERR_STORE_UNAVAILABLE: 503,
  RW_ERR_CONFIG_INVALID: 400,
};

const API_VERSION = '/api/v1';
const CHECK_TIMEOUT_MS = 2000;

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="repwatch"');
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

/** Driver and connection errors: the store is unreachable, worth retrying. */
function isStoreError(err: Error): boolean {
  return /^Mongo|^MaxRetriesPerRequestError$|^ReplyError$/.test(err.name) || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection is closed/.test(err.message);
}

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)))]).finally(() => clearTimeout(timer));
}

/** The HTTP API, the Slack endpoint and the console, ready to listen (nothing is kept in memory between requests). */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }),
    // One short line per request at debug level instead of fastify's two at info; never headers or cookies.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024,
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('actor', '');

  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith(`${API_VERSION}/events/stream`)) return;
    req.log.debug({ method: req.method, route: req.routeOptions.url ?? 'not found', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'request';
      const problems = err.validation
        .map((v) => {
          const at = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
          return `${where}${at ? `.${at}` : ''}: ${v.message}`;
        })
        .join('; ');
      return sendError(reply, 400, 'RW_ERR_INPUT_INVALID', problems);
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err: err.message, route: req.routeOptions.url, issues: JSON.stringify(err.cause.issues).slice(0, 2000) }, 'response does not match its schema');
      return sendError(reply, 503, 'RW_ERR_STORE_UNAVAILABLE', 'a stored document did not have the expected shape; see the server log');
    }
    if (isRepwatchError(err)) {
      const status = (err as { statusCode?: number }).statusCode ?? STATUS_OF[err.code] ?? 500;
      // Who was refused, never with what: the header and cookie are not logged.
      if (err.code === 'RW_ERR_UNAUTHORIZED') req.log.info({ method: req.method, route: req.routeOptions.url, ip: req.ip, status }, 'request refused: no valid API key');
      if (status >= 500) req.log.warn({ code: err.code, err: err.message }, 'request failed');
      return sendError(reply, status, err.code, err.message);
    }
    // fastify's own 4xx (malformed JSON, wrong content type, body too large): the request's fault.
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, 'RW_ERR_INPUT_INVALID', err.message);
    }
    req.log.error({ err: err.message, name: err.name, route: req.routeOptions.url }, isStoreError(err) ? 'store unreachable' : 'request failed');
    // Unknown failures are treated as the store's, as the workers do (retryable): the client may try again.
    return sendError(reply, 503, 'RW_ERR_STORE_UNAVAILABLE', isStoreError(err) ? 'MongoDB or Redis could not be reached; try again' : 'the request failed; try again (details in the server log)');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'repwatch API', version: '1', description: 'Alerts, the alert stream, silences, cases, storms and reports. Send `Authorization: Bearer <API key>` (REPWATCH_API_KEYS).' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' }, consoleCookie: { type: 'apiKey', in: 'cookie', name: 'rw_key' } } },
      security: [{ apiKey: [] }, { consoleCookie: [] }],
    },
    transform: jsonSchemaTransform,
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  const open = { security: [] as Record<string, string[]>[] };

  // ---- no key needed ----

  r.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  r.get('/healthz', { schema: { ...open, summary: 'The process is up', tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  r.get(
    '/readyz',
    {
      schema: {
        ...open,
        summary: 'Redis and MongoDB answer (503 names the one that does not)',
        tags: ['health'],
        response: {
          200: z.object({ status: z.literal('ready'), checks: z.object({ redis: z.enum(['ok', 'down']), mongodb: z.enum(['ok', 'down']) }) }),
          503: z.object({ status: z.literal('unavailable'), checks: z.object({ redis: z.enum(['ok', 'down']), mongodb: z.enum(['ok', 'down']) }), error: errorSchema.shape.error }),
        },
      },
    },
    async (_req, reply) => {
      const ping = async (fn: () => Promise<unknown>) => within(CHECK_TIMEOUT_MS, fn()).then(() => 'ok' as const, () => 'down' as const);
      const [redis, mongodb] = await Promise.all([
        // A disconnected client would queue the PING until Redis is back: answer at once instead.
        deps.redis.status === 'ready' ? ping(() => deps.redis.ping()) : Promise.resolve('down' as const),
        ping(() => deps.store.conn.db!.admin().command({ ping: 1 })),
      ]);
      const checks = { redis, mongodb };
      if (redis === 'ok' && mongodb === 'ok') return { status: 'ready' as const, checks };
      const down = Object.entries(checks).filter(([, v]) => v === 'down').map(([k]) => (k === 'redis' ? 'Redis' : 'MongoDB'));
      return reply.code(503).send({ status: 'unavailable' as const, checks, error: { code: 'RW_ERR_STORE_UNAVAILABLE', message: `${down.join(' and ')} not reachable` } });
    },
  );

  r.get('/metrics', { schema: { ...open, summary: 'Prometheus metrics (text exposition format)', tags: ['health'] } }, async (_req, reply) => {
    if (!deps.metrics) return sendError(reply, 503, 'RW_ERR_STORE_UNAVAILABLE', 'metrics are not set up in this process');
    const { contentType, body } = await deps.metrics.render();
    return reply.type(contentType).send(body);
  });

  // ---- the console's session: the key goes into an HttpOnly cookie ----

  await app.register(async (scope) => {
    const s = scope.withTypeProvider<ZodTypeProvider>();
    s.post(
      '/session',
      { schema: { ...open, summary: 'Sign in to the console: sets the HttpOnly cookie rw_key', tags: ['session'], body: sessionBody, response: { 204: z.undefined(), 400: errorSchema, 401: errorSchema } } },
      async (req, reply) => {
        const name = keyNameOf(deps.apiKeys, req.body.key);
        if (!name) return sendError(reply, 401, 'RW_ERR_UNAUTHORIZED', 'unknown API key');
        setSessionCookie(reply, req, req.body.key);
        req.log.info({ by: name }, 'console sign-in');
        return reply.code(204).send();
      },
    );
    s.get('/session', { schema: { summary: 'Who the session (or key) is', tags: ['session'], response: { 200: z.object({ name: z.string() }), 401: errorSchema, 403: errorSchema } } }, async (req) => ({
      name: authenticate(deps.apiKeys, req),
    }));
    s.delete('/session', { schema: { ...open, summary: 'Sign out: clears the cookie', tags: ['session'], response: { 204: z.undefined() } } }, async (req, reply) => {
      clearSessionCookie(reply, req);
      return reply.code(204).send();
    });
  }, { prefix: API_VERSION });

  // ---- everything else under /api/v1 needs a key ----

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req) => {
      req.actor = authenticate(deps.apiKeys, req);
    });
    await apiRoutes(scope, deps);
    await streamRoutes(scope, deps);
  }, { prefix: API_VERSION });

  if (deps.slack) await app.register(async (scope) => slackActions(scope, deps), { prefix: '/slack' });
  const webhooks = deps.webhooks;
  if (webhooks) await app.register(async (scope) => metaWebhooks(scope, { ...deps, webhooks }), { prefix: '/webhooks' });

  // ---- the console: static files, and index.html for its own paths (a single-page app) ----

  const consoleRoot = deps.consoleDir && existsSync(path.join(deps.consoleDir, 'index.html')) ? path.resolve(deps.consoleDir) : undefined;

  app.setNotFoundHandler((req, reply) => {
    const pathname = req.url.split('?')[0];
    const apiPath = /^\/(api|slack|webhooks|metrics|openapi\.json|healthz|readyz)(\/|$)/.test(pathname);
    if (consoleRoot && !apiPath && (req.method === 'GET' || req.method === 'HEAD')) {
      const file = consoleFile(consoleRoot, pathname) ?? path.join(consoleRoot, 'index.html');
      return sendFile(reply, file, req.method === 'HEAD');
    }
    return sendError(reply, 404, 'RW_ERR_UNKNOWN_REFERENCE', `no route ${req.method} ${pathname.slice(0, 200)}`);
  });

  return app as unknown as FastifyInstance;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** A file of the built console for a URL path; undefined when there is none (or the path leaves the folder). */
function consoleFile(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const file = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  if (!file.startsWith(root + path.sep)) return undefined;
  try {
    const stat = statSync(file);
    if (stat.isFile()) return file;
    if (stat.isDirectory() && existsSync(path.join(file, 'index.html'))) return path.join(file, 'index.html');
  } catch {
    // no such file: the caller falls back to index.html
  }
  return undefined;
}

function sendFile(reply: FastifyReply, file: string, headOnly: boolean): FastifyReply {
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  // Vite names built assets by content hash: they never change. index.html must be re-read to find new ones.
  const hashed = /[.-][A-Za-z0-9_-]{8,}\.(js|css|mjs|woff2|svg|png)$/.test(path.basename(file));
  reply.header('Cache-Control', file.endsWith('.html') ? 'no-cache' : hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
  reply.header('X-Content-Type-Options', 'nosniff');
  if (file.endsWith('.html')) {
    // The console talks only to this server; no framing (clickjacking on the Acknowledge button).
    reply.header('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    reply.header('Referrer-Policy', 'no-referrer');
  }
  reply.type(type);
  if (headOnly) return reply.header('Content-Length', statSync(file).size).send();
  return reply.send(createReadStream(file));
}

/** Builds the API and listens; `url` is where it listens (port 0 picks a free port). */
export async function startApi(deps: ApiDeps, listen: { host: string; port: number }): Promise<{ url: string; close(): Promise<void> }> {
  const app = await buildApi(deps);
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new RepwatchError('RW_ERR_CONFIG_INVALID', `REPWATCH_HTTP: cannot listen on ${listen.host}:${listen.port} (${code})`);
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${port}`;
  deps.logger.info({ url, keys: deps.apiKeys.size, console: !!deps.consoleDir, slack: !!deps.slack }, 'api listening');
  if (deps.apiKeys.size === 0) deps.logger.warn('no API keys (REPWATCH_API_KEYS): every /api/v1 request is refused');
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => (closing ??= app.close()),
  };
}
