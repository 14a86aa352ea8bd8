import type { Secrets } from '../config/load';
import type { ReceiverConfig } from '../config/schema';
import type { Notifier } from './notifier';
import { createPagerDutyNotifier } from './pagerduty';
import { createSlackNotifier } from './slack';
import { createWebhookNotifier } from './webhook';

/** One line per channel: config becomes notifiers here and nowhere else. */
export function createNotifier(receiver: ReceiverConfig, secrets: Secrets): Notifier {
  switch (receiver.type) {
    case 'slack':
      return createSlackNotifier(receiver, secrets);
    case 'webhook':
      return createWebhookNotifier(receiver, secrets);
    case 'pagerduty':
      return createPagerDutyNotifier(receiver, secrets);
  }
}

export function createNotifiers(receivers: readonly ReceiverConfig[], secrets: Secrets): Map<string, Notifier> {
  return new Map(receivers.map((r) => [r.id, createNotifier(r, secrets)]));
}
