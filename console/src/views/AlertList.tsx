import { useEffect, useState } from 'preact/hooks';
import { api, type Alert, type Brand } from '../api';
import { age, byUrgency, KIND_LABEL } from '../format';
import { useAlertEvents, useNow } from '../live';
import { paths } from '../router';
import { Failure, SeverityBadge, StatusBadge } from './parts';

/** Open alerts (triggered or acknowledged), most severe first then newest, kept current by the stream. */
export function AlertList() {
  const [alerts, setAlerts] = useState<Alert[] | undefined>();
  const [brands, setBrands] = useState<Brand[]>([]);
  const [brand, setBrand] = useState(() => new URLSearchParams(location.search).get('brand') ?? '');
  const [error, setError] = useState<unknown>();
  const [more, setMore] = useState(false);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const now = useNow();

  const load = () =>
    api.openAlerts(brand || undefined).then(
      (page) => {
        setAlerts(page.items);
        setMore(page.more);
        setError(undefined);
      },
      setError,
    );

  useEffect(() => {
    void load();
  }, [brand]);
  useEffect(() => {
    api.brands().then((b) => setBrands(b.items), () => undefined);
  }, []);

  useAlertEvents(
    (event) => {
      const next = event.alert;
      if (brand && next.brandId !== brand) return;
      setAlerts((list) => {
        if (!list) return list;
        const existing = list.find((a) => a.id === next.id);
        // An older version arriving late (the list was read after it) changes nothing.
        if (existing && existing.version > next.version) return list;
        const rest = list.filter((a) => a.id !== next.id);
        return next.status === 'resolved' ? rest : [...rest, next];
      });
      if (event.type === 'alert.triggered' || event.type === 'storm.started') {
        setFresh((s) => new Set(s).add(next.id));
        setTimeout(() => setFresh((s) => {
          const copy = new Set(s);
          copy.delete(next.id);
          return copy;
        }), 10_000);
      }
    },
    () => void load(),
  );

  const chooseBrand = (id: string) => {
    setBrand(id);
    history.replaceState(null, '', id ? `/?brand=${encodeURIComponent(id)}` : '/');
  };

  const sorted = alerts ? [...alerts].sort(byUrgency) : undefined;
  const counts = sorted?.reduce<Record<string, number>>((acc, a) => ((acc[a.severity] = (acc[a.severity] ?? 0) + 1), acc), {});

  return (
    <section>
      <div class="heading">
        <h1>
          Open alerts {sorted && <span class="count" data-testid="open-count">{sorted.length}</span>}
        </h1>
        <select aria-label="Brand" value={brand} onChange={(e) => chooseBrand((e.target as HTMLSelectElement).value)}>
          <option value="">All brands</option>
          {brands.map((b) => (
            <option value={b.id}>{b.name}</option>
          ))}
        </select>
      </div>
      {counts && sorted!.length > 0 && (
        <p class="summary">
          {Object.entries(counts)
            .map(([s, n]) => `${n} ${s}`)
            .join(' · ')}
        </p>
      )}
      <Failure error={error} onRetry={load} />
      {more && <p class="notice">More than 1,000 alerts are open: the newest 1,000 are shown. Filter by brand, or resolve in bulk with the API.</p>}
      {!sorted && !error && <p class="muted">Loading…</p>}
      {sorted && sorted.length === 0 && <p class="empty">Nothing open. New alerts appear here as they happen.</p>}
      {sorted && sorted.length > 0 && (
        <ul class="alerts" aria-label="Open alerts">
          {sorted.map((a) => (
            <li key={a.id} class={`alert-row sev-${a.severity}${fresh.has(a.id) ? ' fresh' : ''}`} data-alert-id={a.id} data-status={a.status}>
              <a href={paths.alert(a.id)}>
                <span class="row-top">
                  <SeverityBadge severity={a.severity} />
                  <span class="brand">{a.brandName}</span>
                  <span class="kind">{KIND_LABEL[a.kind] ?? a.kind}</span>
                  {a.escalatedAt && <span class="tag paged">paged</span>}
                  <StatusBadge status={a.status} />
                  <time class="age" dateTime={a.createdAt} title={new Date(a.createdAt).toLocaleString()}>
                    {age(a.createdAt, now)}
                  </time>
                </span>
                <span class="title">{a.title}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
