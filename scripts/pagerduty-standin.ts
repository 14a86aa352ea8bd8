import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PagedEvent {
  action: string;
  dedupKey: string;
  summary?: string;
  severity?: string;
  receivedAt: number;
}

/**
 * A local stand-in for PagerDuty's Events API v2 (the demo has no PagerDuty account): it accepts
 * what the real endpoint accepts, answers 202 with the same body shape, and records the events so
 * the demo can show who would have been paged.
 */
export class PagerDutyStandIn {
  readonly events: PagedEvent[] = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: any;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        res.setHeader('content-type', 'application/json');
        if (req.url !== '/v2/enqueue' || !body?.routing_key || !body?.event_action || !body?.dedup_key) {
          res.statusCode = 400;
          res.end(JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: ['missing routing_key, event_action or dedup_key'] }));
          return;
        }
        this.events.push({ action: body.event_action, dedupKey: body.dedup_key, summary: body.payload?.summary, severity: body.payload?.severity, receivedAt: Date.now() });
        res.statusCode = 202;
        res.end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: body.dedup_key }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2/enqueue`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
