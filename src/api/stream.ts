import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AlertEvent } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import { eventsInRange } from '../store/queries';
import { visibleSequenceLimit } from '../store/sequence';
import type { ApiDeps } from './deps';
import { alertEventSchema, errorSchema, eventsQuery, streamQuery } from './schemas';

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_POLL_MS = 500;
const BATCH = 200;

/**
 * Stream events after `after`, oldest first, never past a number that may still fill: sequence
 * numbers are handed out before the insert, so under concurrent ingest 12 can be visible before
 * 11. The limit is read before the events (see visibleSequenceLimit), so what is returned is final.
 */
export async function readStream(deps: ApiDeps, after: number, limit: number): Promise<AlertEvent[]> {
  const upTo = await visibleSequenceLimit(deps.redis, `${deps.prefix}:alert-stream-seq`);
  return eventsInRange(deps.store, after, upTo, limit);
}

/** Where a new client without a position starts: the end of the stream as it stands. */
async function streamEnd(deps: ApiDeps): Promise<number> {
  const upTo = await visibleSequenceLimit(deps.redis, `${deps.prefix}:alert-stream-seq`);
  const last = await deps.store.lastSequence();
  return Math.min(upTo, last);
}

function lastEventIdOf(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[header.length - 1] : header;
  if (text.trim() === '') return undefined;
  if (!/^\d{1,15}$/.test(text.trim())) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'Last-Event-ID: a sequence number this stream sent as id');
  return Number(text.trim());
}

/** GET /api/v1/events (paging) and GET /api/v1/events/stream (Server-Sent Events). */
export async function streamRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const heartbeatMs = deps.stream?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const pollMs = deps.stream?.pollMs ?? DEFAULT_POLL_MS;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const open = new Set<() => void>();

  // Open streams end before the server waits for its connections to close.
  app.addHook('preClose', async () => {
    for (const stop of [...open]) stop();
  });

  r.get(
    '/events',
    {
      schema: {
        summary: 'Alert-stream events after a sequence number, in order',
        description: '`next` is the `after` of the following page. A consumer that was down catches up by paging until `items` is empty.',
        tags: ['events'],
        querystring: eventsQuery,
        response: { 200: z.object({ items: z.array(alertEventSchema), next: z.number() }), 400: errorSchema, 401: errorSchema },
      },
    },
    async (req) => {
      const items = await readStream(deps, req.query.after, req.query.limit);
      return { items, next: items.length ? items[items.length - 1].seq : req.query.after };
    },
  );

  r.get(
    '/events/stream',
    {
      schema: {
        summary: 'The alert stream as Server-Sent Events',
        description:
          'text/event-stream: each event has `id:` its sequence number, `event:` its type and `data:` the event as JSON; `: ping` comments every 15 s. ' +
          'Reconnecting with Last-Event-ID (or `?after=`) resumes strictly after it: every later event once, in order. Without either, the stream starts at its end.',
        tags: ['events'],
        querystring: streamQuery,
        response: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: z.string() } } }, 400: errorSchema, 401: errorSchema },
      },
    },
    async (req, reply) => {
      const fromHeader = lastEventIdOf(req.headers['last-event-id']);
      let cursor = fromHeader ?? req.query.after ?? (await streamEnd(deps));
      const log = req.log;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        // Proxies such as nginx must pass events on at once.
        'X-Accel-Buffering': 'no',
      });
      res.write('retry: 2000\n\n');

      let closed = false;
      let pollTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        if (closed) return;
        closed = true;
        clearTimeout(pollTimer);
        clearInterval(heartbeat);
        open.delete(stop);
        if (!res.writableEnded) res.end();
      };
      open.add(stop);
      res.on('close', stop);
      res.on('error', stop);

      // Waits for a slow client to take what was written, or for it to go.
      const send = async (chunk: string) => {
        if (closed) return;
        if (!res.write(chunk)) await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      };
      const heartbeat = setInterval(() => void send(': ping\n\n'), heartbeatMs);

      const poll = async () => {
        try {
          for (;;) {
            const events = await readStream(deps, cursor, BATCH);
            for (const e of events) {
              if (closed) return;
              // Ids only grow; anything at or below what the client has is never sent again.
              if (e.seq <= cursor) continue;
              await send(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
              cursor = e.seq;
            }
            if (events.length < BATCH || closed) break;
          }
        } catch (err) {
          // The store is unreachable for a moment: the client keeps its connection; the next poll tries again.
          log.warn({ err: (err as Error).message }, 'event stream: reading the store failed');
        }
        if (!closed) pollTimer = setTimeout(poll, pollMs);
      };
      await poll();
    },
  );
}
