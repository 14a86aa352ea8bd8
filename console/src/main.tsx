import { SourcesView } from './views/Sources';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, whenSignedOut } from './api';
import { startLive, stopLive, useLiveState } from './live';
import { onLinkClick, paths, useRoute, type Route } from './router';
import './style.css';
import { AlertDetailView } from './views/AlertDetail';
import { AlertList } from './views/AlertList';
import { BrandsView } from './views/Brands';
import { ReportView } from './views/Report';
import { SignIn } from './views/SignIn';
import { SilencesView } from './views/Silences';

type Session = { state: 'checking' } | { state: 'signed-out'; notice?: string } | { state: 'signed-in'; name: string } | { state: 'unreachable'; message: string };

function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const route = useRoute();

  const check = () => {
    api.session().then(
      ({ name }) => setSession({ state: 'signed-in', name }),
      (err: unknown) => setSession(err instanceof ApiError && err.status === 401 ? { state: 'signed-out' } : { state: 'unreachable', message: String(err) }),
    );
  };

  useEffect(() => {
    whenSignedOut(() => setSession({ state: 'signed-out', notice: 'Your session ended: sign in again.' }));
    check();
  }, []);

  useEffect(() => {
    if (session.state !== 'signed-in') return;
    // The stream refused (key removed from REPWATCH_API_KEYS): ask the server who we are.
    startLive(check);
    return stopLive;
  }, [session.state === 'signed-in' ? session.name : '']);

  if (session.state === 'checking') return <div class="boot">repwatch…</div>;
  if (session.state === 'unreachable') {
    return (
      <main class="narrow">
        <h1>repwatch</h1>
        <p class="error" role="alert">{session.message}</p>
        <button onClick={check}>Try again</button>
      </main>
    );
  }
  if (session.state === 'signed-out') return <SignIn notice={session.notice} onSignedIn={(name) => setSession({ state: 'signed-in', name })} />;

  const signOut = async () => {
    await api.signOut().catch(() => undefined);
    stopLive();
    setSession({ state: 'signed-out', notice: 'Signed out.' });
  };

  return (
    <div class="shell" onClick={onLinkClick}>
      <Header route={route} name={session.name} onSignOut={signOut} />
      <main>
        <Page route={route} />
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.view) {
    case 'alerts':
      return <AlertList />;
    case 'alert':
      return <AlertDetailView id={route.id} />;
    case 'brands':
      return <BrandsView id={route.id} />;
    case 'silences':
      return <SilencesView />;
    case 'report':
      return <ReportView />;
    case 'sources':
      return <SourcesView />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No such page. <a href={paths.alerts()}>Open alerts</a>
          </p>
        </section>
      );
  }
}

const LIVE_LABEL = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting…', off: 'offline' } as const;

function Header({ route, name, onSignOut }: { route: Route; name: string; onSignOut: () => void }) {
  const live = useLiveState();
  const tab = (view: Route['view'], href: string, label: string, also: Route['view'][] = []) => (
    <a href={href} class={route.view === view || also.includes(route.view) ? 'tab current' : 'tab'} aria-current={route.view === view ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <header class="top">
      <a class="logo" href={paths.alerts()}>
        repwatch
      </a>
      <nav>
        {tab('alerts', paths.alerts(), 'Alerts', ['alert'])}
        {tab('brands', paths.brand(), 'Brands')}
        {tab('silences', paths.silences(), 'Silences')}
        {tab('report', paths.report(), 'Report')}
        {tab('sources', paths.sources(), 'Sources')}
      </nav>
      <span class={`live ${live}`} title="Updates from the alert stream" data-live={live}>
        {LIVE_LABEL[live]}
      </span>
      <span class="who">
        <span class="name">{name}</span>
        <button class="link" onClick={onSignOut}>
          Sign out
        </button>
      </span>
    </header>
  );
}

render(<App />, document.getElementById('app')!);
