import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, type Brand, type Timeline } from '../api';
import { when } from '../format';
import { useAlertEvents, useNow } from '../live';
import { navigate, paths } from '../router';
import { Failure } from './parts';

const MIN_POSTS_FOR_SHARE = 3;

const RANGES = [
  { label: '6 h', since: '6h', bucket: '5m' },
  { label: '24 h', since: '24h', bucket: '10m' },
  { label: '7 days', since: '7d', bucket: '1h' },
] as const;

/** A brand's volume and negative share per bucket, storms shaded: is this a pile-on or a normal day? */
export function BrandsView({ id }: { id?: string }) {
  const [brands, setBrands] = useState<Brand[] | undefined>();
  const [range, setRange] = useState<(typeof RANGES)[number]>(RANGES[1]);
  const [timeline, setTimeline] = useState<Timeline | undefined>();
  const [error, setError] = useState<unknown>();
  const now = useNow(60_000);

  useEffect(() => {
    api.brands().then((b) => setBrands(b.items), setError);
  }, []);

  const brand = brands?.find((b) => b.id === id) ?? brands?.[0];

  const load = () => {
    if (!brand) return;
    api.timeline(brand.id, range.since, range.bucket).then(
      (t) => {
        setTimeline(t);
        setError(undefined);
      },
      setError,
    );
  };
  useEffect(() => {
    setTimeline(undefined);
    load();
  }, [brand?.id, range]);
  // Fresh buckets once a minute, and at once when a storm starts on this brand.
  useEffect(() => {
    const t = setInterval(load, 60_000);
    return () => clearInterval(t);
  }, [brand?.id, range]);
  useAlertEvents((e) => {
    if (brand && e.brandId === brand.id && e.type === 'storm.started') load();
  });

  return (
    <section>
      <div class="heading">
        <h1>{brand ? brand.name : 'Brands'}</h1>
        {brands && brands.length > 1 && (
          <select aria-label="Brand" value={brand?.id} onChange={(e) => navigate(paths.brand((e.target as HTMLSelectElement).value))}>
            {brands.map((b) => (
              <option value={b.id}>{b.name}</option>
            ))}
          </select>
        )}
        <span class="segmented" role="group" aria-label="Range">
          {RANGES.map((r) => (
            <button class={r === range ? 'on' : ''} aria-pressed={r === range} onClick={() => setRange(r)}>
              {r.label}
            </button>
          ))}
        </span>
      </div>
      <Failure error={error} onRetry={load} />
      {brand && (
        <p class="muted">
          Topics: {brand.topics.length ? brand.topics.join(', ') : 'none configured'} · languages: {brand.languages.join(', ')} ·{' '}
          <a href={`/?brand=${encodeURIComponent(brand.id)}`}>open alerts</a>
        </p>
      )}
      {timeline ? <Chart timeline={timeline} /> : !error && <p class="muted">Loading…</p>}
      {timeline && (
        <p class="muted chart-total">
          {timeline.buckets.reduce((n, b) => n + b.posts, 0).toLocaleString('en-US')} posts, {timeline.buckets.reduce((n, b) => n + b.negative, 0).toLocaleString('en-US')} negative
        </p>
      )}
      {timeline && timeline.storms.length > 0 && (
        <section class="card">
          <h2>Storms in this range</h2>
          <ul class="grouped">
            {timeline.storms.map((s) => (
              <li key={s.id}>
                <a href={paths.alert(s.id)}>{s.title}</a> <span class="muted">{when(s.start, now)}–{s.end ? when(s.end, now) : 'ongoing'}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function Chart({ timeline }: { timeline: Timeline }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = timeline.buckets.map((b) => Date.parse(b.start) / 1000);
    const posts = timeline.buckets.map((b) => b.posts);
    const negative = timeline.buckets.map((b) => b.negative);
    // A share of one or two posts says nothing (1 of 2 is 50%): those buckets are left out of the line.
    const share = timeline.buckets.map((b) => (b.posts >= MIN_POSTS_FOR_SHARE ? Math.round(b.negativeShare * 1000) / 10 : null));
    const to = Date.parse(timeline.to) / 1000;
    const bucketS = timeline.bucketMs / 1000;
    // At least one bucket wide, so a storm that started and calmed within a bucket still shows.
    const storms = timeline.storms.map((s) => {
      const start = Date.parse(s.start) / 1000;
      return { start, end: Math.max(s.end ? Date.parse(s.end) / 1000 : to, start + bucketS) };
    });
    const fg = cssVar('--muted', '#667');
    const grid = cssVar('--line', '#ddd');
    const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
    const height = () => Math.max(180, Math.min(320, Math.round(el.clientWidth * 0.45)));

    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: height(),
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        scales: { x: { time: true }, n: { range: (_u, _min, max) => [0, Math.max(4, max)] }, pct: { range: [0, 100] } },
        axes: [
          { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          { scale: 'n', stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 40 },
          { scale: 'pct', side: 1, stroke: fg, grid: { show: false }, values: (_u, v) => v.map((x) => `${x}%`), size: 52 },
        ],
        series: [
          {},
          { label: 'posts', scale: 'n', stroke: '#7f96b2', fill: 'rgba(127,150,178,0.45)', paths: bars, points: { show: false } },
          { label: 'negative', scale: 'n', stroke: '#d9822b', fill: 'rgba(217,130,43,0.7)', paths: bars, points: { show: false } },
          { label: `negative share (${MIN_POSTS_FOR_SHARE}+ posts)`, scale: 'pct', stroke: '#d13b3b', width: 2, spanGaps: false, points: { show: true, size: 4, fill: '#d13b3b' }, value: (_u, v) => (v == null ? '–' : `${v}%`) },
        ],
        hooks: {
          // Storms as shaded bands behind the data, so a pile-on is seen at a glance.
          drawClear: [
            (u) => {
              const { ctx } = u;
              ctx.save();
              ctx.strokeStyle = 'rgba(209,59,59,0.7)';
              ctx.lineWidth = devicePixelRatio;
              ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
              ctx.textBaseline = 'top';
              for (const s of storms) {
                const x0 = Math.max(u.bbox.left, u.valToPos(s.start, 'x', true));
                const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(s.end, 'x', true));
                if (x1 <= x0) continue;
                ctx.fillStyle = 'rgba(209,59,59,0.16)';
                ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
                ctx.beginPath();
                ctx.moveTo(x0, u.bbox.top);
                ctx.lineTo(x0, u.bbox.top + u.bbox.height);
                ctx.stroke();
                ctx.fillStyle = 'rgba(209,59,59,0.95)';
                ctx.fillText('storm', x0 + 3 * devicePixelRatio, u.bbox.top + 2 * devicePixelRatio);
              }
              ctx.restore();
            },
          ],
        },
      },
      [xs, posts, negative, share],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: height() }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [timeline]);

  return (
    <div class="chart" ref={box} role="img" aria-label={`Posts, negative posts and negative share per ${Math.round(timeline.bucketMs / 60_000)} minutes${timeline.storms.length ? `, ${timeline.storms.length} storm(s) shaded` : ''}`} />
  );
}
