import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RepwatchError } from '../domain/errors';

/** The console's sign-in cookie: holds the API key itself (HttpOnly: page scripts never see it). */
export const SESSION_COOKIE = 'rw_key';
/** Cookie requests that change something must carry this header: another site's form cannot set it (CSRF). */
export const CONSOLE_HEADER = 'x-repwatch-console';
export const SESSION_MAX_AGE_S = 7 * 24 * 3600;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the API key the request carried: who acted. */
    actor: string;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The name of the key whose secret this is, or undefined. Both sides are hashed to the same length
 * first and every key is compared, so the time taken says nothing about any secret.
 */
export function keyNameOf(keys: ReadonlyMap<string, string>, presented: string): string | undefined {
  const given = digest(presented);
  let found: string | undefined;
  for (const [name, secret] of keys) {
    if (timingSafeEqual(given, digest(secret)) && found === undefined) found = name;
  }
  return found;
}

function unauthorized(message: string): RepwatchError {
  return new RepwatchError('RW_ERR_UNAUTHORIZED', message);
}

/**
 * Who is asking: `Authorization: Bearer <secret>`, else the console's cookie. A cookie request
 * that changes state needs the console header too. Throws RW_ERR_UNAUTHORIZED (nothing is done).
 */
export function authenticate(keys: ReadonlyMap<string, string>, req: FastifyRequest): string {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthorized('Authorization must be "Bearer <API key>"');
    const name = keyNameOf(keys, m[1]);
    if (!name) throw unauthorized('unknown API key');
    return name;
  }
  const cookie = cookieOf(req, SESSION_COOKIE);
  if (cookie) {
    const name = keyNameOf(keys, cookie);
    if (!name) throw unauthorized('the console session is no longer valid: sign in again');
    if (!SAFE_METHODS.has(req.method) && req.headers[CONSOLE_HEADER] !== '1') {
      throw Object.assign(unauthorized(`a change through the console session needs the header X-Repwatch-Console: 1`), { statusCode: 403 });
    }
    return name;
  }
  throw unauthorized('send an API key: Authorization: Bearer <key> (keys come from REPWATCH_API_KEYS)');
}

/**
 * One cookie's value from the Cookie header (RFC 6265 pairs). Parsed here rather than by a plugin:
 * the console needs one cookie, and the cookie plugins load ES-only modules the test runner cannot.
 */
export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function sessionCookie(req: FastifyRequest, value: string, maxAge: number): string {
  const parts = [`${SESSION_COOKIE}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAge}`];
  if (maxAge === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  // Behind TLS (or a proxy that says so), the cookie never travels in clear text.
  if (req.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}

export function setSessionCookie(reply: FastifyReply, req: FastifyRequest, secret: string): void {
  reply.header('Set-Cookie', sessionCookie(req, secret, SESSION_MAX_AGE_S));
}

export function clearSessionCookie(reply: FastifyReply, req: FastifyRequest): void {
  reply.header('Set-Cookie', sessionCookie(req, '', 0));
}
