import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';

/** The API key goes to the server once and comes back as an HttpOnly cookie; the page never keeps it. */
export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (name: string) => void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!key.trim() || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.signIn(key.trim());
      setKey('');
      const { name } = await api.session();
      onSignedIn(name);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'RW_ERR_UNEXPECTED', String(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="narrow signin">
      <h1>repwatch</h1>
      <p class="muted">On-call console. Sign in with an API key from REPWATCH_API_KEYS; it is kept in an HttpOnly cookie for 7 days.</p>
      {notice && !error && <p class="notice">{notice}</p>}
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="key"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          autoFocus
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        <button type="submit" class="primary" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error && (
        <p id="sign-in-error" class="error" role="alert">
          <code>{error.code}</code> {error.message}
        </p>
      )}
    </main>
  );
}
