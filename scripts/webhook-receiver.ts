import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  type: string;
  /** Whether the Standard Webhooks signature verified against the secret. */
  verified: boolean;
  body: any;
  receivedAt: number;
}

/**
 * A local webhook consumer for the demo, tests and benchmark: it verifies each request's
 * Standard Webhooks signature on the raw body, answers 204 (or 401 when the signature is wrong),
 * and records what arrived. Treats webhook-id as the idempotency key, as the spec asks.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly duplicates: string[] = [];
  private readonly seen = new Set<string>();
  private server?: Server;
  private readonly listeners: ((r: ReceivedWebhook) => void)[] = [];

  constructor(private readonly secret: string) {}

  async start(): Promise<string> {
    const wh = new Webhook(this.secret);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = req.headers as IncomingHttpHeaders;
        let verified = false;
        try {
          wh.verify(raw, headers as Record<string, string>);
          verified = true;
        } catch {
          verified = false;
        }
        const id = String(headers['webhook-id'] ?? '');
        let body: any = null;
        try {
          body = JSON.parse(raw);
        } catch {
          body = null;
        }
        if (this.seen.has(id)) this.duplicates.push(id);
        this.seen.add(id);
        const entry = { id, type: body?.type ?? '', verified, body, receivedAt: Date.now() };
        this.received.push(entry);
        for (const l of this.listeners) l(entry);
        res.statusCode = verified ? 204 : 401;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/hooks/repwatch`;
  }

  onReceive(listener: (r: ReceivedWebhook) => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** A fresh Standard Webhooks secret: whsec_ + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
