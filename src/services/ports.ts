import type { Mention } from '../domain/mention';

/** A page of posts from one poll, on its way to analysis and storage. */
export interface IngestPage {
  brandId: string;
  sourceId: string;
  /** When the poll fetched the page (ms since epoch): alert latency is measured from here. */
  polledAt: number;
  mentions: Mention[];
}

export interface DeliveryRequest {
  eventId: string;
  receiverId: string;
}

/**
 * What services hand on to the queues. Services do not know BullMQ; the worker layer implements
 * this with deterministic job ids, so handing the same thing on twice is harmless.
 */
export interface Dispatch {
  ingest(page: IngestPage, key: string): Promise<void>;
  /** Polls the source again, at once or after `delayMs`. */
  pollAgain(brandId: string, sourceId: string, key: string, delayMs?: number): Promise<void>;
  deliver(requests: DeliveryRequest[]): Promise<void>;
  /** Pages waiting for ingest: polls hold back while this is high (back-pressure). */
  ingestBacklog(): Promise<number>;
}
