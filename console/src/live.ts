import { useEffect, useRef, useState } from 'preact/hooks';
import { ALERT_EVENT_TYPES, type AlertEvent } from './api';

/**
 * The alert stream (GET /api/v1/events/stream) for every view: one EventSource while signed in.
 * The browser reconnects by itself with Last-Event-ID, so nothing is missed or repeated; after a
 * reconnect views are told to reload too, in case the server restarted without the stream's place.
 */

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'off';

type Listener = (event: AlertEvent) => void;
const listeners = new Set<Listener>();
const reconnectListeners = new Set<() => void>();
const stateListeners = new Set<(s: LiveState) => void>();

let source: EventSource | undefined;
let state: LiveState = 'off';
let everOpen = false;

function setState(next: LiveState): void {
  if (next === state) return;
  state = next;
  for (const fn of stateListeners) fn(next);
}

export function startLive(onGone: () => void): void {
  stopLive();
  everOpen = false;
  setState('connecting');
  const es = new EventSource('/api/v1/events/stream', { withCredentials: true });
  source = es;
  es.onopen = () => {
    if (everOpen) for (const fn of reconnectListeners) fn();
    everOpen = true;
    setState('live');
  };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // The server refused the stream (a 401 after the key was removed): the session is over.
      setState('off');
      onGone();
    } else setState('reconnecting');
  };
  const deliver = (msg: MessageEvent) => {
    let event: AlertEvent;
    try {
      event = JSON.parse(msg.data);
    } catch {
      return;
    }
    for (const fn of listeners) fn(event);
  };
  // Events are named by type (event: alert.triggered …), so onmessage alone would hear none.
  for (const type of ALERT_EVENT_TYPES) es.addEventListener(type, deliver as EventListener);
}

export function stopLive(): void {
  source?.close();
  source = undefined;
  setState('off');
}

/** Calls `fn` for every stream event (and `onReconnect` after a reconnect) while the component is mounted. */
export function useAlertEvents(fn: Listener, onReconnect?: () => void): void {
  const latest = useRef({ fn, onReconnect });
  latest.current = { fn, onReconnect };
  useEffect(() => {
    const onEvent: Listener = (e) => latest.current.fn(e);
    const onAgain = () => latest.current.onReconnect?.();
    listeners.add(onEvent);
    reconnectListeners.add(onAgain);
    return () => {
      listeners.delete(onEvent);
      reconnectListeners.delete(onAgain);
    };
  }, []);
}

export function useLiveState(): LiveState {
  const [s, set] = useState(state);
  useEffect(() => {
    stateListeners.add(set);
    set(state);
    return () => void stateListeners.delete(set);
  }, []);
  return s;
}

/** Re-renders every `ms` so ages ("4m") stay true. */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
