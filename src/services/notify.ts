import type { Config } from '../config/load';
import type { ReceiverConfig } from '../config/schema';
import type { AlertEvent } from '../domain/alert';
import { atLeast } from '../domain/policy';
import { activeSilence, nextNotificationAt, quietUntil, receiversFor, type RoutableAlert } from '../domain/routing';
import type { Logger } from '../logger';
import { SilenceStore } from '../store/silences';
import { notificationLogKey, type FirstEvent, type Store } from '../store/store';
import type { DeliveryRequest } from './ports';

/** Changes of state are told at once; triggers and updates wait for the grouping timers. */
const LIFECYCLE = new Set<AlertEvent['type']>(['alert.escalated', 'alert.acknowledged', 'alert.resolved']);

export type DeliveryMode = 'every' | 'latest';

/** What a receiver gets of an alert: every event in order, or the latest state per grouping interval. */
export const DEFAULT_DELIVERY_MODES: Record<ReceiverConfig['type'], DeliveryMode> = { webhook: 'every', slack: 'latest', pagerduty: 'every' };

export function deliveryModeOf(receiver: Pick<ReceiverConfig, 'type'> & { deliveryMode?: DeliveryMode }): DeliveryMode {
  return receiver.deliveryMode ?? DEFAULT_DELIVERY_MODES[receiver.type];
}

export function routableOf(event: AlertEvent): RoutableAlert {
  const a = event.alert;
  return { brandId: a.brandId, kind: a.kind, severity: a.severity, lang: a.post.lang, platform: a.post.platform, topic: a.topic, authorHandle: a.post.author.handle };
}

/**
 * Which receivers get an event, and when: the routing tree picks receivers (each once), silences
 * hold back triggers and updates, PagerDuty hears only escalations and what follows them, and
 * the grouping timers and quiet hours set the time. For a `latest` receiver, triggers and updates
 * of one alert within a group interval share one delayed job (the coalesce key), which sends the
 * alert's latest event when it runs: five updates in a minute are one message. An `every`
 * receiver gets one job per event (deliver.ts keeps them in order).
 * Alerts that joined a storm are not sent on their own (the storm alert speaks for them); their
 * changes are still events on the stream.
 */
/** A plan: the delivery jobs, and the (alert, receiver) pairs whose grouping timers start now. */
export interface DeliveryPlan {
  requests: DeliveryRequest[];
  /** To record with the open deliveries, before the jobs exist (Store.openDeliveries). */
  firstEvents: FirstEvent[];
}

export async function planDeliveries(deps: { config: Config; store: Store; now: () => number; logger: Logger }, events: AlertEvent[]): Promise<DeliveryPlan> {
  const { config, store } = deps;
  const now = deps.now();
  const requests: DeliveryRequest[] = [];
  const firstEvents: FirstEvent[] = [];
  // Silences made at run time (API, Slack) count as much as routing.yaml's; read once per plan,
  // and only when something here can be silenced.
  const silenceable = events.some((e) => !e.alert.stormId && !LIFECYCLE.has(e.type));
  // The grouping timers of every (alert, receiver) the plan may need, read with the silences: one round trip each.
  const [runtimeSilences, logs] = await Promise.all([
    silenceable ? new SilenceStore(store).active(now) : [],
    store.getNotificationLogs(silenceable ? groupedPairsOf(config, events) : []),
  ]);
  const silences = [...config.routing.silences, ...runtimeSilences];
  for (const event of events) {
    const alert = event.alert;
    const lifecycle = LIFECYCLE.has(event.type);
    // An alert grouped into a storm is told through the storm, its changes included.
    if (alert.stormId) continue;
    const routable = routableOf(event);
    if (!lifecycle) {
      const silence = activeSilence(silences, routable, now);
      if (silence) {
        deps.logger.info({ alert: alert.id, silence: silence.id }, 'silenced');
        continue;
      }
    }
    for (const [receiverId, route] of receiversFor(config.routing.route, routable)) {
      const receiver = config.receivers.find((r) => r.id === receiverId);
      // A disabled optional receiver (its credential unset) is skipped, as is one below its minimum severity.
      if (!receiver || !atLeast(alert.severity, receiver.minSeverity)) continue;
      if (receiver.type === 'pagerduty') {
        const paged = event.type === 'alert.escalated' || (!!alert.escalatedAt && (event.type === 'alert.acknowledged' || event.type === 'alert.resolved'));
        if (paged) requests.push({ eventId: event.id, receiverId, delayMs: 0 });
        continue;
      }
      if (lifecycle) {
        requests.push({ eventId: event.id, receiverId, delayMs: 0 });
        continue;
      }
      const key = notificationLogKey(alert.id, receiverId);
      const log = logs.get(key) ?? {};
      if (log.firstEventAt === undefined) {
        log.firstEventAt = now;
        logs.set(key, log);
        firstEvents.push({ alertId: alert.id, receiverId, at: now });
      }
      let sendAt = nextNotificationAt(route, log, event.type, now);
      const quiet = route.quietHours ? config.routing.quietHours[route.quietHours] : undefined;
      const until = quiet ? quietUntil(quiet, alert.severity, sendAt) : undefined;
      if (until !== undefined) sendAt = Math.max(sendAt, until);
      const coalesce = deliveryModeOf(receiver) === 'latest' ? { coalesce: { alertId: alert.id, slot: sendAt } } : {};
      requests.push({ eventId: event.id, receiverId, delayMs: Math.max(0, sendAt - now), ...coalesce, repeatMs: route.repeatInterval });
    }
  }
  return { requests, firstEvents };
}

/** The (alert, receiver) pairs whose grouping timers decide when an event goes out (neither lifecycle nor PagerDuty). */
function groupedPairsOf(config: Config, events: AlertEvent[]): { alertId: string; receiverId: string }[] {
  const pairs = new Map<string, { alertId: string; receiverId: string }>();
  for (const event of events) {
    if (event.alert.stormId || LIFECYCLE.has(event.type)) continue;
    for (const [receiverId] of receiversFor(config.routing.route, routableOf(event))) {
      if (config.receivers.find((r) => r.id === receiverId)?.type === 'pagerduty') continue;
      pairs.set(notificationLogKey(event.alert.id, receiverId), { alertId: event.alert.id, receiverId });
    }
  }
  return [...pairs.values()];
}
