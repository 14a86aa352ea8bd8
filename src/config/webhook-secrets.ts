/**
 * Standard Webhooks signing secrets: `whsec_` and the base64 of at least 24 random bytes (the
 * specification's minimum; repwatch's own `newSecret()` makes 32). For rotation a receiver may
 * hold several at once, named by a list of variables and/or space-separated in one variable;
 * every delivery is signed with each of them (`webhook-signature: v1,<a> v1,<b>`), so a receiver
 * holding either verifies.
 */

export const MIN_WEBHOOK_SECRET_BYTES = 24;

/** The environment variables a webhook receiver's `secretEnv` names (one or a list). */
export function secretEnvsOf(receiver: { secretEnv: string | readonly string[] }): string[] {
  return typeof receiver.secretEnv === 'string' ? [receiver.secretEnv] : [...receiver.secretEnv];
}

/** The secrets one variable holds: one, or several separated by spaces. */
export function splitSecrets(value: string): string[] {
  return value.split(/\s+/).filter((s) => s !== '');
}

/** Why this value cannot sign, in words that never quote it; undefined when it can. */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return 'does not start with whsec_';
  const body = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 === 1) return 'is not whsec_ followed by base64';
  const bytes = Buffer.from(body, 'base64').length;
  if (bytes < MIN_WEBHOOK_SECRET_BYTES) return `is ${bytes} bytes long after base64-decoding; Standard Webhooks asks for at least ${MIN_WEBHOOK_SECRET_BYTES}`;
  return undefined;
}
