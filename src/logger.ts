import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are credentials wherever they appear in a log object. */
const REDACT_PATHS = [
  'token', '*.token', 'secret', '*.secret', 'password', '*.password', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'bearerToken', '*.bearerToken', 'webhookUrl', '*.webhookUrl',
];

/** Removes user info, query strings and the path of a URL, which may carry credentials (Slack webhook URLs do). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/[redacted]`;
  } catch {
    return '[unparseable url]';
  }
}

/** Replaces every occurrence of a secret value in a string. Secrets shorter than 4 chars are ignored (too common). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join('[Redacted]');
  return out;
}

export interface LoggerOptions {
  level?: string;
  /** Secret values to scrub from every line, whatever field or message carries them. */
  secrets?: () => readonly string[];
  /** Where lines go (tests capture them); default: stdout, pretty when it is a terminal. */
  destination?: DestinationStream;
  pretty?: boolean;
}

/**
 * The root logger. Two layers keep secrets out: known credential fields are redacted by path,
 * and every finished line is scrubbed of the actual secret values taken from the environment,
 * so a token echoed inside an error message from a library is caught too.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const secrets = options.secrets ?? (() => []);
  const pretty = options.pretty ?? (!options.destination && process.stdout.isTTY === true && !process.env.CI);
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    hooks: {
      streamWrite: (line: string) => scrubSecrets(line, secrets()),
    },
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
