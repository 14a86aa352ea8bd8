import type { Config } from '../config/load';
import type { AlertEvent } from '../domain/alert';
import { atLeast } from '../domain/policy';
import { activeSilence, nextNotificationAt, quietUntil, receiversFor, type RoutableAlert } from '../domain/routing';
import type { Logger } from '../logger';
import type { Store } from '../store/store';
import type { DeliveryRequest } from './ports';

/** Changes of state are told at once; triggers and updates wait for the grouping timers. */
const LIFECYCLE = new Set<AlertEvent['type']>(['alert.escalated', 'alert.acknowledged', 'alert.resolved']);

export function routableOf(event: AlertEvent): RoutableAlert {
  const a = event.alert;
  return { brandId: a.brandId, kind: a.kind, severity: a.severity, lang: a.post.lang, platform: a.post.platform, topic: a.topic, authorHandle: a.post.author.handle };
}

/**
 * Which receivers get an event, and when: the routing tree picks receivers (each once), silences
 * hold back triggers and updates, PagerDuty hears only escalations and what follows them, and
 * the grouping timers and quiet hours set the time. Triggers and updates of one alert to one
 * receiver within a group interval share one delayed job (the coalesce key), which sends the
 * alert's latest event when it runs: five updates in a minute are one message.
 * Alerts that joined a storm are not sent on their own (the storm alert speaks for them); their
 * changes are still events on the stream.
 */
export async function planDeliveries(deps: { config: Config; store: Store; now: () => number; logger: Logger }, events: AlertEvent[]): Promise<DeliveryRequest[]> {
  const { config, store } = deps;
  const now = deps.now();
  const requests: DeliveryRequest[] = [];
  for (const event of events) {
    const alert = event.alert;
    const lifecycle = LIFECYCLE.has(event.type);
    // An alert grouped into a storm is told through the storm, its changes included.
    if (alert.stormId) continue;
    const routable = routableOf(event);
    if (!lifecycle) {
      const silence = activeSilence(config.routing.silences, routable, now);
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
      const stored = await store.getNotificationLog(alert.id, receiverId);
      const log = stored ?? {};
      if (log.firstEventAt === undefined) {
        log.firstEventAt = now;
        await store.saveNotificationLog(alert.id, receiverId, log, !!stored);
      }
      let sendAt = nextNotificationAt(route, log, event.type, now);
      const quiet = route.quietHours ? config.routing.quietHours[route.quietHours] : undefined;
      const until = quiet ? quietUntil(quiet, alert.severity, sendAt) : undefined;
      if (until !== undefined) sendAt = Math.max(sendAt, until);
      requests.push({ eventId: event.id, receiverId, delayMs: Math.max(0, sendAt - now), coalesce: { alertId: alert.id, slot: sendAt }, repeatMs: route.repeatInterval });
    }
  }
  return requests;
}
