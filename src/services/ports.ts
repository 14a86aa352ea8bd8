import type { AlertEvent } from '../domain/alert';
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
  /** Wait this long before sending (grouping timers, quiet hours). */
  delayMs?: number;
  /**
   * Triggers and updates of one alert for one receiver due at the same time share one job; it
   * sends the alert's latest event when it runs.
   */
  coalesce?: { alertId: string; slot: number };
  /** The route's repeatInterval: sent again this long after it went out while nobody acknowledges it. */
  repeatMs?: number;
  /** This request is reminder n of the event (eventId) as sent before. */
  reminder?: number;
  /** The event itself (eventId), carried in the job so the delivery need not read it. */
  event?: AlertEvent;
}

export interface RecheckRequest {
  brandId: string;
  sourceId: string;
  /** The stored mention's key (mentionKey). */
  postKey: string;
  /** Which of the configured rechecks this is (0 = the first). */
  round: number;
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
  /** Checks the alert's acknowledgement SLA at `deadline` (ms since epoch, on the service clock). */
  slaTimer(alertId: string, deadline: number): Promise<void>;
  /** Measures a post's engagement again at `at` (ms since epoch, on the service clock). */
  recheck(request: RecheckRequest, at: number): Promise<void>;
  /** Pages waiting for ingest: polls hold back while this is high (back-pressure). */
  ingestBacklog(): Promise<number>;
}
