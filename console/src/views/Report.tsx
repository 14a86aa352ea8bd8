import { useEffect, useState } from 'preact/hooks';
import { api, type BrandReport } from '../api';
import { duration, KIND_LABEL } from '../format';
import { paths } from '../router';
import { Failure } from './parts';

const PERIODS = ['7d', '30d', '90d'] as const;

/** Per brand: how much came in, how fast the team answered, and whether customers came back happy. */
export function ReportView() {
  const [since, setSince] = useState<(typeof PERIODS)[number]>('30d');
  const [report, setReport] = useState<{ from: string; to: string; brands: BrandReport[] } | undefined>();
  const [error, setError] = useState<unknown>();

  const load = () =>
    api.report(since).then(
      (r) => {
        setReport(r);
        setError(undefined);
      },
      setError,
    );
  useEffect(() => {
    setReport(undefined);
    void load();
  }, [since]);

  return (
    <section>
      <div class="heading">
        <h1>Report</h1>
        <span class="segmented" role="group" aria-label="Period">
          {PERIODS.map((p) => (
            <button class={p === since ? 'on' : ''} aria-pressed={p === since} onClick={() => setSince(p)}>
              {p.replace('d', ' days')}
            </button>
          ))}
        </span>
      </div>
      <Failure error={error} onRetry={load} />
      {!report && !error && <p class="muted">Loading…</p>}
      {report && report.brands.length === 0 && <p class="empty">No alerts in this period.</p>}
      <div class="report">
        {report?.brands.map((b) => (
          <section class="card" key={b.brandId}>
            <h2>
              <a href={paths.brand(b.brandId)}>{b.brandName}</a>
            </h2>
            <dl class="figures">
              <div>
                <dt>Alerts</dt>
                <dd>{b.alerts}</dd>
              </div>
              <div>
                <dt>Open</dt>
                <dd>{b.open}</dd>
              </div>
              <div>
                <dt>Escalated</dt>
                <dd>{b.escalated}</dd>
              </div>
              <div>
                <dt>Time to acknowledge</dt>
                <dd>
                  {duration(b.timeToAcknowledge.medianMs)} <small>median</small>
                  <br />
                  {duration(b.timeToAcknowledge.p90Ms)} <small>p90 · {b.timeToAcknowledge.count}</small>
                </dd>
              </div>
              <div>
                <dt>Time to resolve</dt>
                <dd>
                  {duration(b.timeToResolve.medianMs)} <small>median</small>
                  <br />
                  {duration(b.timeToResolve.p90Ms)} <small>p90 · {b.timeToResolve.count}</small>
                </dd>
              </div>
              <div>
                <dt>Recovery</dt>
                <dd>
                  {b.recovery.rate === undefined ? '–' : `${Math.round(b.recovery.rate * 100)}%`}{' '}
                  <small>
                    {b.recovery.recovered} of {b.recovery.recovered + b.recovery.notRecovered} · {b.recovery.watching} watching
                  </small>
                </dd>
              </div>
            </dl>
            <p class="muted">
              {Object.entries(b.bySeverity)
                .filter(([, n]) => n > 0)
                .map(([s, n]) => `${n} ${s}`)
                .join(' · ')}
              {' — '}
              {Object.entries(b.byKind)
                .filter(([, n]) => n > 0)
                .map(([k, n]) => `${n} ${KIND_LABEL[k] ?? k}`)
                .join(' · ')}
              {` · ${b.cases} cases`}
            </p>
          </section>
        ))}
      </div>
    </section>
  );
}
