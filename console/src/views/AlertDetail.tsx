import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Alert, type AlertDetail, type Case, type PagerDutyState, type Silence } from '../api';
import { activeSilenceFor, ago, compact, describeMatcher, KIND_LABEL, silenceMatcherFor, tomorrowMorning, when } from '../format';
import { useAlertEvents, useNow } from '../live';
import { paths } from '../router';
import { Failure, SeverityBadge, StatusBadge } from './parts';

const HOUR = 3_600_000;
const SILENCE_CHOICES = [
  { label: '1 hour', end: (now: number) => now + HOUR, note: 'for 1 hour' },
  { label: '4 hours', end: (now: number) => now + 4 * HOUR, note: 'for 4 hours' },
  { label: 'Until tomorrow', end: tomorrowMorning, note: 'until tomorrow 09:00' },
] as const;

const EVENT_LABEL: Record<string, string> = {
  'alert.triggered': 'Triggered',
  'alert.updated': 'Updated',
  'alert.escalated': 'Escalated to on-call',
  'alert.acknowledged': 'Acknowledged',
  'alert.resolved': 'Resolved',
  'storm.started': 'Storm started',
};

/** One alert: why, the posts, the customer's case, the storm, PagerDuty, and what on-call can do about it. */
export function AlertDetailView({ id }: { id: string }) {
  const [detail, setDetail] = useState<AlertDetail | undefined>();
  const [silences, setSilences] = useState<Silence[]>([]);
  const [error, setError] = useState<unknown>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState<string | undefined>();
  const [comment, setComment] = useState('');
  const now = useNow(15_000);

  const load = () =>
    Promise.all([api.alert(id), api.silences('active').catch(() => ({ items: [] as Silence[] }))]).then(
      ([d, s]) => {
        setDetail(d);
        setSilences(s.items);
        setError(undefined);
      },
      setError,
    );

  useEffect(() => {
    setDetail(undefined);
    setActionError(undefined);
    void load();
  }, [id]);

  // Someone else acts on this alert (Slack, the CLI, another console), or the pipeline updates it: show it.
  useAlertEvents(
    (event) => {
      if (!detail) return;
      const related = event.alertId === id || event.alertId === detail.alert.stormId || detail.grouped?.some((g) => g.id === event.alertId) || event.alert.stormId === id;
      if (related) void load();
    },
    () => void load(),
  );

  if (error && !detail) {
    return (
      <section>
        <BackLink />
        <Failure error={error} onRetry={error instanceof ApiError && error.status === 404 ? undefined : load} />
      </section>
    );
  }
  if (!detail) {
    return (
      <section>
        <BackLink />
        <p class="muted">Loading…</p>
      </section>
    );
  }

  const { alert } = detail;
  const silence = activeSilenceFor(silences, alert, Date.now());

  const act = async (verb: 'acknowledge' | 'resolve') => {
    setBusy(verb);
    setActionError(undefined);
    try {
      const { alert: changed } = await api.act(alert.id, verb, comment.trim() || undefined);
      // The state changes at once; the events and PagerDuty state follow with the reload.
      setDetail((d) => (d ? { ...d, alert: changed } : d));
      setComment('');
      await load();
    } catch (err) {
      setActionError(err);
      // Someone got there first (RW_ERR_ALERT_STATE): show the state as it is now.
      if (err instanceof ApiError && err.code === 'RW_ERR_ALERT_STATE') void load();
    } finally {
      setBusy(undefined);
    }
  };

  const silenceFor = async (choice: (typeof SILENCE_CHOICES)[number]) => {
    setBusy(`silence-${choice.label}`);
    setActionError(undefined);
    try {
      const at = Date.now();
      const note = comment.trim();
      const { silence: created } = await api.createSilence({
        match: silenceMatcherFor(alert),
        endsAt: choice.end(at),
        comment: `${note ? `${note} (` : ''}${choice.note}, from the console, on alert ${alert.id}${note ? ')' : ''}`,
      });
      setSilences((list) => [created, ...list]);
      setComment('');
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(undefined);
    }
  };

  const expire = async (s: Silence) => {
    setBusy('expire');
    setActionError(undefined);
    try {
      await api.expireSilence(s.id);
      setSilences((list) => list.filter((x) => x.id !== s.id));
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(undefined);
    }
  };

  const posts = detail.posts.length
    ? detail.posts.map((p) => ({ key: p._id, url: p.url, platform: p.platform, text: p.text, createdAt: p.createdAt, author: p.author, sentiment: p.judgement?.sentiment?.label, complaint: p.judgement?.complaint?.label }))
    : [{ key: alert.post.postId, url: alert.post.url, platform: alert.post.platform, text: alert.post.text, createdAt: alert.post.createdAt, author: alert.post.author, sentiment: alert.post.sentiment?.label, complaint: alert.post.complaint?.label }];

  return (
    <article class={`detail sev-${alert.severity}`} data-alert-id={alert.id}>
      <BackLink />
      <header class="detail-head">
        <div class="badges">
          <SeverityBadge severity={alert.severity} />
          <StatusBadge status={alert.status} />
          {silence && <span class="tag silenced">silenced</span>}
        </div>
        <h1>{alert.title}</h1>
        <p class="meta">
          <a href={paths.brand(alert.brandId)}>{alert.brandName}</a> · {KIND_LABEL[alert.kind] ?? alert.kind}
          {alert.topic !== 'general' && <> · topic {alert.topic}</>} · {alert.count} {alert.count === 1 ? 'post' : 'posts'} · raised{' '}
          <time dateTime={alert.createdAt} title={new Date(alert.createdAt).toLocaleString()}>
            {ago(alert.createdAt, now)}
          </time>
        </p>
        <StateLine alert={alert} now={now} />
      </header>

      <div class="actions" role="group" aria-label="Actions">
        {alert.status === 'triggered' && (
          <button class="primary" onClick={() => act('acknowledge')} disabled={!!busy}>
            {busy === 'acknowledge' ? 'Acknowledging…' : 'Acknowledge'}
          </button>
        )}
        {alert.status !== 'resolved' && (
          <button class={alert.status === 'acknowledged' ? 'primary' : ''} onClick={() => act('resolve')} disabled={!!busy}>
            {busy === 'resolve' ? 'Resolving…' : 'Resolve'}
          </button>
        )}
        <span class="silence-group">
          <span class="label">Silence</span>
          {SILENCE_CHOICES.map((c) => (
            <button onClick={() => silenceFor(c)} disabled={!!busy} title={`${c.note === 'until tomorrow 09:00' ? 'Until 09:00 tomorrow: h' : 'H'}old back alerts matching ${describeMatcher(silenceMatcherFor(alert))}`}>
              {c.label}
            </button>
          ))}
        </span>
        <input
          class="comment"
          type="text"
          maxLength={1000}
          placeholder="Comment (optional)"
          aria-label="Comment"
          value={comment}
          onInput={(e) => setComment((e.target as HTMLInputElement).value)}
        />
      </div>
      <Failure error={actionError} />
      {silence && (
        <p class="notice">
          Silenced until {when(silence.endsAt, now)} by {silence.createdBy}: {describeMatcher(silence.match)}.{' '}
          <button class="link" onClick={() => expire(silence)} disabled={!!busy}>
            Expire now
          </button>
        </p>
      )}

      <section class="card">
        <h2>Why</h2>
        <p class="reason">{alert.reason}</p>
      </section>

      {alert.storm && <StormPanel alert={alert} grouped={detail.grouped} />}
      {detail.storm && (
        <section class="card">
          <h2>Part of a storm</h2>
          <p>
            <a href={paths.alert(detail.storm.id)}>{detail.storm.title}</a> <StatusBadge status={detail.storm.status} />
          </p>
          {detail.storm.storm && <Terms terms={detail.storm.storm.topTerms} />}
        </section>
      )}

      <section class="card">
        <h2>{posts.length === 1 ? 'Post' : `Posts (${posts.length})`}</h2>
        <ul class="posts">
          {posts.map((p) => (
            <li key={p.key} class="post">
              <div class="post-head">
                <strong>@{p.author.handle.replace(/^@/, '')}</strong>
                {p.author.name && <span class="muted"> {p.author.name}</span>}
                {p.author.verified && <span class="verified" title="verified"> ✓</span>}
                <span class="followers"> · {compact(p.author.followers)} followers</span>
                <span class="muted"> · {p.platform}</span>
                {p.sentiment && <span class={`sentiment s-${p.sentiment}`}>{p.sentiment}</span>}
                {p.complaint && <span class="tag">complaint</span>}
              </div>
              <p class="post-text">{p.text}</p>
              <div class="post-foot">
                <time dateTime={p.createdAt}>{when(p.createdAt, now)}</time> ·{' '}
                <a href={p.url} target="_blank" rel="noopener noreferrer">
                  open on {p.platform}
                </a>
              </div>
            </li>
          ))}
        </ul>
      </section>

      {detail.case && <CasePanel theCase={detail.case} now={now} />}
      {detail.pagerduty && <PagerDutyPanel pd={detail.pagerduty} now={now} />}

      <section class="card">
        <h2>Timeline</h2>
        <ol class="timeline">
          {detail.events.map((e) => (
            <li key={e.id}>
              <time dateTime={e.at}>{when(e.at, now)}</time> <span class={`ev ev-${e.type.split('.')[1]}`}>{EVENT_LABEL[e.type] ?? e.type}</span>
              {e.by && e.by !== 'repwatch' && <> by {e.by}</>}
              {e.comment && <q>{e.comment}</q>}
              <span class="muted"> #{e.seq}</span>
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}

function BackLink() {
  return (
    <p class="back">
      <a href={paths.alerts()}>← Open alerts</a>
    </p>
  );
}

function StateLine({ alert, now }: { alert: Alert; now: number }) {
  const parts: string[] = [];
  if (alert.acknowledgedAt) parts.push(`Acknowledged by ${alert.acknowledgedBy ?? 'someone'} ${ago(alert.acknowledgedAt, now)}`);
  if (alert.resolvedAt) parts.push(`resolved by ${alert.resolvedBy ?? 'someone'} ${ago(alert.resolvedAt, now)}`);
  if (alert.escalatedAt) parts.push(`paged on-call ${ago(alert.escalatedAt, now)}`);
  else if (alert.status === 'triggered' && alert.slaDeadline) {
    const left = Date.parse(alert.slaDeadline) - now;
    parts.push(left > 0 ? `pages on-call at ${when(alert.slaDeadline, now)} unless acknowledged` : 'acknowledgement overdue: on-call is being paged');
  }
  if (!parts.length) return null;
  const text = parts.join('; ');
  return <p class="state-line" data-testid="state-line">{text.charAt(0).toUpperCase() + text.slice(1)}.</p>;
}

function Terms({ terms }: { terms: { term: string; count: number }[] }) {
  if (!terms.length) return null;
  return (
    <ul class="terms">
      {terms.map((t) => (
        <li>
          {t.term} <span class="muted">{t.count}</span>
        </li>
      ))}
    </ul>
  );
}

function StormPanel({ alert, grouped }: { alert: Alert; grouped?: Alert[] }) {
  const storm = alert.storm!;
  return (
    <section class="card">
      <h2>Storm</h2>
      <p>
        {storm.trigger === 'spike' ? 'Sudden spike' : 'Sustained climb'}: {storm.because}. {storm.negativePosts} negative posts
        {storm.endedAt ? `; volume back to normal since ${new Date(storm.endedAt).toLocaleTimeString()}` : ''}.
      </p>
      <h3>Top terms</h3>
      <Terms terms={storm.topTerms} />
      {storm.topPosts.length > 0 && (
        <>
          <h3>Top posts</h3>
          <ul class="posts compact">
            {storm.topPosts.map((p) => (
              <li class="post" key={p.postId}>
                <div class="post-head">
                  <strong>@{p.handle}</strong> <span class="followers">· {compact(p.followers)} followers · impact {p.impact.toFixed(2)}</span>
                </div>
                <p class="post-text">{p.text}</p>
                <a href={p.url} target="_blank" rel="noopener noreferrer">
                  open on {p.platform}
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      {storm.topAuthors.length > 0 && (
        <p class="muted">
          Most active: {storm.topAuthors.map((a) => `@${a.handle} (${a.posts}, ${compact(a.followers)} followers)`).join(', ')}
        </p>
      )}
      {grouped && grouped.length > 0 && (
        <>
          <h3>Grouped alerts ({grouped.length})</h3>
          <ul class="grouped">
            {grouped.map((g) => (
              <li key={g.id}>
                <SeverityBadge severity={g.severity} /> <a href={paths.alert(g.id)}>{g.title}</a> <StatusBadge status={g.status} />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

const CASE_ENTRY: Record<string, string> = {
  post: 'Post',
  alert: 'Alert',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  recovered: 'Recovered',
  'not-recovered': 'Did not recover',
  'follow-up': 'Follow-up post',
};

function CasePanel({ theCase, now }: { theCase: Case; now: number }) {
  const recovery = theCase.recovery;
  return (
    <section class="card">
      <h2>Case</h2>
      <p>
        {theCase.handles.map((h) => `@${h.replace(/^@/, '')}`).join(', ')} on {theCase.platforms.join(', ')} · {theCase.posts} {theCase.posts === 1 ? 'post' : 'posts'} · {theCase.state}
        {recovery && <> · recovery: {recovery.state === 'watching' ? `watching until ${when(recovery.until, now)}` : recovery.state}</>}
      </p>
      {theCase.timeline && theCase.timeline.length > 0 && (
        <ol class="timeline">
          {theCase.timeline.map((t, i) => (
            <li key={`${t.at}-${i}`}>
              <time>{when(t.at, now)}</time> <span class={`ev ev-${t.type}`}>{CASE_ENTRY[t.type] ?? t.type}</span>
              {t.platform && <> on {t.platform}</>}
              {t.handle && <> by @{t.handle.replace(/^@/, '')}</>}
              {t.sentiment && <span class={`sentiment s-${t.sentiment}`}>{t.sentiment}</span>}
              {t.by && <> by {t.by}</>}
              {t.note && <span class="muted"> {t.note}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function PagerDutyPanel({ pd, now }: { pd: PagerDutyState; now: number }) {
  return (
    <section class="card">
      <h2>PagerDuty</h2>
      <p>
        <span class={`pd pd-${pd.state}`} data-testid="pagerduty-state">
          {pd.state === 'none' ? 'not paged' : pd.state}
        </span>
      </p>
      {pd.deliveries.length > 0 && (
        <ul class="deliveries">
          {pd.deliveries.map((d) => (
            <li key={`${d.eventId}-${d.receiverId}`}>
              {EVENT_LABEL[d.type] ?? d.type} → {d.receiverId}: {d.status}
              {d.at && <> at {when(d.at, now)}</>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
