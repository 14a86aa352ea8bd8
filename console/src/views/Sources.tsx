import { useEffect, useState } from 'preact/hooks';
import { api, type ReceiverState, type SourceOverview } from '../api';
import { paths } from '../router';
import { Failure } from './parts';

const STATE_LABEL: Record<SourceOverview['state'], string> = {
  ok: 'hearing',
  refused: 'refused',
  failing: 'failing',
  stale: 'not polled',
  silent: 'silent',
  disconnected: 'disconnected',
};

function ago(ms: number | undefined): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Is repwatch hearing every source, and is every receiver still being sent to? */
export function SourcesView() {
  const [sources, setSources] = useState<SourceOverview[] | undefined>();
  const [receivers, setReceivers] = useState<ReceiverState[] | undefined>();
  const [error, setError] = useState<unknown>();
  const load = () =>
    Promise.all([api.sources(), api.receivers()]).then(([s, r]) => {
      setSources(s.items);
      setReceivers(r.items);
      setError(undefined);
    }, setError);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 30_000);
    return () => clearInterval(t);
  }, []);
  const enable = (id: string) => api.enableReceiver(id).then(load, setError);

  return (
    <section>
      <div class="heading">
        <h1>Sources</h1>
      </div>
      <Failure error={error} onRetry={load} />
      {!sources && !error && <p class="muted">Loading…</p>}
      {sources && (
        <table class="sources" data-testid="sources">
          <thead>
            <tr>
              <th>Brand / source</th>
              <th>Platform</th>
              <th>State</th>
              <th>Last success</th>
              <th>Posts (4 h)</th>
              <th>Usual / h</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {sources.map((s) => (
              <tr key={`${s.brandId}/${s.sourceId}`} class={s.state === 'ok' ? '' : 'blind'}>
                <td>
                  <a href={paths.brand(s.brandId)}>{s.brandId}</a> / {s.sourceId}
                </td>
                <td>{s.platform}</td>
                <td data-state={s.state}>{STATE_LABEL[s.state]}</td>
                <td>{ago(s.health.lastSuccessAt)}</td>
                <td>{s.health.postsRecent}</td>
                <td>{s.health.usualPerHour.toFixed(1)}</td>
                <td>
                  {s.reason ?? (s.health.lastError ? `last error ${s.health.lastError.code}` : '')}
                  {s.coverageAlertId && (
                    <>
                      {' '}
                      <a href={paths.alert(s.coverageAlertId)}>coverage alert</a>
                    </>
                  )}
                  {s.quota && ` quota ${s.quota.used}/${s.quota.limit} ${s.quota.unit} a day`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Receivers</h2>
      {receivers && (
        <table class="sources" data-testid="receivers">
          <tbody>
            {receivers.map((r) => (
              <tr key={r.id} class={r.state === 'disabled' ? 'blind' : ''}>
                <td>{r.id}</td>
                <td>{r.type}</td>
                <td data-state={r.state}>{r.state}</td>
                <td>{r.state === 'disabled' ? `${r.code ?? ''} since ${new Date(r.since).toLocaleString()}: ${r.reason}` : r.by ? `enabled again by ${r.by}` : ''}</td>
                <td>
                  {r.state === 'disabled' && (
                    <button onClick={() => void enable(r.id)} title="Send to this receiver again (new events only)">
                      Enable
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
