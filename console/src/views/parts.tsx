import type { AlertStatus, Severity } from '../api';
import { ApiError } from '../api';

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span class={`sev sev-${severity}`}>{severity}</span>;
}

export function StatusBadge({ status }: { status: AlertStatus }) {
  return (
    <span class={`status status-${status}`} data-testid="status">
      {status}
    </span>
  );
}

/** A failed request in the API's own words (its RW_ERR_ code), with a retry when one makes sense. */
export function Failure({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <p class="error" role="alert">
      {e ? (
        <>
          <code>{e.code}</code> {e.message}
        </>
      ) : (
        String(error)
      )}
      {onRetry && (
        <>
          {' '}
          <button class="link" onClick={onRetry}>
            Try again
          </button>
        </>
      )}
    </p>
  );
}
