import { useEffect, useState } from 'preact/hooks';
import { api, SEVERITY_ORDER, type AlertKind, type Brand, type Matcher, type Severity, type Silence } from '../api';
import { describeMatcher, KIND_LABEL, when } from '../format';
import { useNow } from '../live';
import { Failure } from './parts';

const HOUR = 3_600_000;
const KINDS: AlertKind[] = ['complaint', 'negative-post', 'storm', 'opportunity', 'coverage'];

/** A datetime-local input's value (the viewer's clock, minutes). */
function localInput(t: number): string {
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Silences made through the API, Slack or here: what is held back, until when, by whom and why. */
export function SilencesView() {
  const [items, setItems] = useState<Silence[] | undefined>();
  const [brands, setBrands] = useState<Brand[]>([]);
  const [error, setError] = useState<unknown>();
  const [formError, setFormError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [showExpired, setShowExpired] = useState(false);
  const now = useNow(30_000);

  const [brand, setBrand] = useState('');
  const [kind, setKind] = useState('');
  const [minSeverity, setMinSeverity] = useState('');
  const [author, setAuthor] = useState('');
  const [topic, setTopic] = useState('');
  const [endsAt, setEndsAt] = useState(() => localInput(Date.now() + 4 * HOUR));
  const [comment, setComment] = useState('');

  const load = () =>
    api.silences().then(
      (s) => {
        setItems(s.items);
        setError(undefined);
      },
      setError,
    );
  useEffect(() => {
    void load();
    api.brands().then((b) => setBrands(b.items), () => undefined);
  }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    const match: Matcher = {};
    if (brand) match.brand = [brand];
    if (kind) match.kind = [kind as AlertKind];
    if (minSeverity) match.minSeverity = minSeverity as Severity;
    if (author.trim()) match.author = author.split(/[\s,]+/).filter(Boolean).map((a) => a.replace(/^@/, ''));
    if (topic.trim()) match.topic = [topic.trim()];
    const end = new Date(endsAt).getTime();
    setBusy(true);
    setFormError(undefined);
    try {
      // The server checks everything again and answers with a coded error (RW_ERR_INPUT_INVALID) when it disagrees.
      await api.createSilence({ match, endsAt: Number.isFinite(end) ? end : 0, ...(comment.trim() ? { comment: comment.trim() } : {}) });
      setAuthor('');
      setComment('');
      await load();
    } catch (err) {
      setFormError(err);
    } finally {
      setBusy(false);
    }
  };

  const expire = async (id: string) => {
    setBusy(true);
    try {
      await api.expireSilence(id);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const current = items?.filter((s) => s.state !== 'expired') ?? [];
  const expired = items?.filter((s) => s.state === 'expired') ?? [];
  const brandTopics = brands.find((b) => b.id === brand)?.topics ?? [];

  return (
    <section>
      <h1>Silences</h1>
      <p class="muted">Alerts a silence matches are still recorded and shown here, but not sent to Slack, webhooks or PagerDuty until it ends. Silences in routing.yaml are not listed.</p>
      <Failure error={error} onRetry={load} />
      {!items && !error && <p class="muted">Loading…</p>}
      {items && current.length === 0 && <p class="empty">No silence is active or pending.</p>}
      {current.length > 0 && <SilenceList items={current} now={now} onExpire={expire} busy={busy} />}
      {expired.length > 0 && (
        <p>
          <button class="link" onClick={() => setShowExpired(!showExpired)}>
            {showExpired ? 'Hide' : 'Show'} {expired.length} expired
          </button>
        </p>
      )}
      {showExpired && <SilenceList items={expired} now={now} busy={busy} />}

      <form class="card form" onSubmit={create}>
        <h2>New silence</h2>
        <div class="fields">
          <label>
            Brand
            <select value={brand} onChange={(e) => setBrand((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              {brands.map((b) => (
                <option value={b.id}>{b.name}</option>
              ))}
            </select>
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              {KINDS.map((k) => (
                <option value={k}>{KIND_LABEL[k]}</option>
              ))}
            </select>
          </label>
          <label>
            Severity
            <select value={minSeverity} onChange={(e) => setMinSeverity((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              {SEVERITY_ORDER.map((s) => (
                <option value={s}>{s} or above</option>
              ))}
            </select>
          </label>
          <label>
            Author
            <input type="text" placeholder="@handle" value={author} onInput={(e) => setAuthor((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Topic
            <input type="text" list="silence-topics" placeholder="any" value={topic} onInput={(e) => setTopic((e.target as HTMLInputElement).value)} />
            <datalist id="silence-topics">
              {brandTopics.map((t) => (
                <option value={t} />
              ))}
            </datalist>
          </label>
          <label>
            Ends
            <input type="datetime-local" required value={endsAt} onInput={(e) => setEndsAt((e.target as HTMLInputElement).value)} />
          </label>
          <label class="wide">
            Comment
            <input type="text" maxLength={1000} placeholder="Why (the team sees this)" value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
          </label>
        </div>
        <button type="submit" class="primary" disabled={busy}>
          Create silence
        </button>
        <Failure error={formError} />
      </form>
    </section>
  );
}

function SilenceList({ items, now, onExpire, busy }: { items: Silence[]; now: number; onExpire?: (id: string) => void; busy: boolean }) {
  return (
    <ul class="silences">
      {items.map((s) => (
        <li key={s.id} class={`silence state-${s.state}`} data-silence-id={s.id}>
          <div>
            <strong>{describeMatcher(s.match)}</strong>
            <span class={`tag state-${s.state}`}>{s.state}</span>
          </div>
          <div class="muted">
            {s.state === 'pending' ? `from ${when(s.startsAt, now)} ` : ''}
            {s.state === 'expired' ? `ended ${when(s.expiredAt ?? s.endsAt, now)}${s.expiredBy ? ` (expired by ${s.expiredBy})` : ''}` : `until ${when(s.endsAt, now)}`} · by {s.createdBy}
          </div>
          {s.comment && <div class="comment-text">{s.comment}</div>}
          {onExpire && (
            <button onClick={() => onExpire(s.id)} disabled={busy}>
              Expire
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
