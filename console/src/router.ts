import { useEffect, useState } from 'preact/hooks';

/** Paths of the single-page console; the server answers index.html for each, so reloads and links work. */
export type Route =
  | { view: 'alerts' }
  | { view: 'alert'; id: string }
  | { view: 'brands'; id?: string }
  | { view: 'silences' }
  | { view: 'report' }
  | { view: 'sources' }
  | { view: 'not-found' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean);
  try {
    if (parts.length === 0 || (parts.length === 1 && parts[0] === 'alerts')) return { view: 'alerts' };
    // Alert ids hold slashes (brand/platform/post): encoded as one path segment.
    if (parts[0] === 'alerts' && parts.length === 2) return { view: 'alert', id: decodeURIComponent(parts[1]) };
    if (parts[0] === 'brands' && parts.length <= 2) return { view: 'brands', id: parts[1] ? decodeURIComponent(parts[1]) : undefined };
    if (parts[0] === 'silences' && parts.length === 1) return { view: 'silences' };
    if (parts[0] === 'report' && parts.length === 1) return { view: 'report' };
    if (parts[0] === 'sources' && parts.length === 1) return { view: 'sources' };
  } catch {
    // a malformed escape: not a page of ours
  }
  return { view: 'not-found' };
}

export const paths = {
  alerts: () => '/',
  alert: (id: string) => `/alerts/${encodeURIComponent(id)}`,
  brand: (id?: string) => (id ? `/brands/${encodeURIComponent(id)}` : '/brands'),
  silences: () => '/silences',
  report: () => '/report',
  sources: () => '/sources',
};

const NAVIGATE = 'rw:navigate';

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE));
  window.scrollTo(0, 0);
}

/** Follows in-app links without a reload; modified clicks (new tab) stay the browser's. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.origin !== location.origin || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return route;
}
