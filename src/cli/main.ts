import path from 'node:path';
import { analyze } from '../analysis';
import type { AnalysisInput } from '../analysis/judgement';
import { loadConfig, type LoadedConfig } from '../config/load';
import { isRepwatchError } from '../domain/errors';
import { createLogger } from '../logger';
import { durationSchema } from '../config/schema';
import { buildReport, formatReport } from '../domain/report';
import { DLQ_USAGE, dlqCommand } from './dlq';
import { SOURCES_USAGE, receiversCommand, sourcesCommand } from './sources';
import { boundedLines } from './lines';
import { connectorFor } from '../connectors';

const USAGE = `usage: repwatch <command> [options]

commands:
  analyze [--languages nl,en]
                             read JSONL posts ({"id","text","lang"?,"languages"?,"rating"?}) on stdin,
                             write one judgement per line; --languages is the prior for untagged posts
  run [--config DIR] [--roles schedule,poll,ingest,deliver,sla,stream,api]
                             run the workers (REDIS_URL and MONGODB_URI from the environment);
                             api serves HTTP on REPWATCH_HTTP (default 127.0.0.1:8080) with the keys
                             in REPWATCH_API_KEYS (name=secret,…); it is started only when named
  config check [--config DIR]
                             validate the configuration and list every problem
  alerts list [--brand ID] [--status triggered|acknowledged|resolved] [--limit N]
                             the newest alerts, one line each
  alerts ack ID [--by NAME]  acknowledge an alert (and its case); NAME defaults to $USER
  alerts resolve ID [--by NAME]
                             resolve an alert; its case is then watched for recovery
  report [--brand ID] [--since 7d]
                             per brand: alerts by kind and severity, time to acknowledge and to
                             resolve (median, p90), escalations and the recovery rate
${DLQ_USAGE}
${SOURCES_USAGE}

The config folder defaults to ./config (REPWATCH_CONFIG). Secrets come from environment variables
named in the config. Exit codes: 0 ok, 1 failure, 2 bad usage or invalid input/config.`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function configDir(args: string[]): string {
  return path.resolve(option(args, '--config') ?? process.env.REPWATCH_CONFIG ?? 'config');
}

function loadOrReport(dir: string): LoadedConfig | null {
  try {
    return loadConfig({ dir });
  } catch (err) {
    if (isRepwatchError(err)) {
      process.stderr.write(`repwatch: ${err.code}: ${err.message}\n`);
      return null;
    }
    throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'analyze': {
      const languages = option(rest, '--languages')?.split(',').map((l) => l.trim()).filter(Boolean);
      return analyzeCommand(process.stdin, languages);
    }
    case 'run':
      return runCommand(rest);
    case 'config':
      if (rest[0] === 'check') return configCheck(rest.slice(1));
      break;
    case 'alerts':
      if (rest[0] === 'list' || rest[0] === 'ack' || rest[0] === 'resolve') return alertsCommand(rest[0], rest.slice(1));
      break;
    case 'report':
      return reportCommand(rest);
    case 'dlq':
      if (rest[0] === 'list' || rest[0] === 'retry') return dlqCommand(rest[0], rest.slice(1), withRepwatch);
      break;
    case 'sources':
      return sourcesCommand(rest, withRepwatch);
    case 'receivers':
      if (rest[0] === undefined || rest[0] === 'list' || rest[0] === 'enable' || rest[0].startsWith('--')) return receiversCommand(rest[0] === 'list' ? rest.slice(1) : rest, withRepwatch);
      break;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
  }
  process.stderr.write(`repwatch: unknown command "${argv.join(' ')}"\n\n${USAGE}\n`);
  return 2;
}

function configCheck(args: string[]): number {
  const dir = configDir(args);
  const loaded = loadOrReport(dir);
  if (!loaded) return 2;
  const { config } = loaded;
  process.stdout.write(
    `configuration in ${dir} is valid: ${config.brands.length} brand(s), ` +
      `${config.brands.reduce((n, b) => n + b.sources.length, 0)} source(s), ${config.receivers.length} receiver(s)` +
      (config.disabledReceivers.length ? `; disabled: ${config.disabledReceivers.map((r) => `${r.id} (${r.reason})`).join(', ')}` : '') +
      '\n',
  );
  // Platforms with a daily quota (YouTube): what this config will spend of it.
  for (const brand of config.brands) {
    for (const source of brand.sources) {
      const quota = connectorFor(source).dailyQuota?.(source, brand);
      if (quota) process.stdout.write(`  ${brand.id}/${source.id} (${source.platform}): about ${quota.used} of ${quota.limit} ${quota.unit} a day\n`);
    }
  }
  return 0;
}

/** Input lines longer than this (UTF-8 bytes) are refused: a post is at most a few KiB. */
export const MAX_ANALYZE_LINE_BYTES = 64 * 1024;

/**
 * Streams the input (stdin) in batches so any input size runs in bounded memory; a line over
 * MAX_ANALYZE_LINE_BYTES is refused without being read into memory whole.
 */
export async function analyzeCommand(input: AsyncIterable<Buffer | string> = process.stdin, languages?: string[]): Promise<number> {
  const BATCH = 2000;
  let lineNo = 0;
  let invalid = 0;
  let batch: { id: string; input: AnalysisInput }[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const judgements = analyze(batch.map((b) => b.input));
    const out = batch.map((b, i) => {
      const j = judgements[i];
      return JSON.stringify({ id: b.id, lang: j.lang, langConfidence: j.langConfidence, sentiment: j.sentiment, complaint: j.complaint, evidence: j.evidence, ...(j.situation ? { situation: j.situation } : {}) });
    });
    batch = [];
    if (!process.stdout.write(`${out.join('\n')}\n`)) await new Promise((r) => process.stdout.once('drain', r));
  };
  const reject = (why: string) => {
    invalid++;
    process.stderr.write(`repwatch analyze: RW_ERR_INPUT_INVALID: line ${lineNo}: ${why}\n`);
  };
  for await (const read of boundedLines(input, MAX_ANALYZE_LINE_BYTES)) {
    lineNo = read.lineNo;
    if ('tooLong' in read) {
      reject(`longer than ${MAX_ANALYZE_LINE_BYTES / 1024} KiB; skipped`);
      continue;
    }
    const line = read.text;
    if (!line.trim()) continue;
    let value: any;
    try {
      value = JSON.parse(line);
    } catch {
      reject('not valid JSON');
      continue;
    }
    if (!value || typeof value !== 'object' || (typeof value.id !== 'string' && typeof value.id !== 'number')) reject('needs an "id" (string or number)');
    else if (typeof value.text !== 'string') reject('needs a "text" string');
    else if (value.languages !== undefined && !(Array.isArray(value.languages) && value.languages.every((l: unknown) => typeof l === 'string'))) reject('"languages" must be a list of language codes');
    else if (value.rating !== undefined && !(typeof value.rating?.stars === 'number' && typeof value.rating?.outOf === 'number' && value.rating.outOf > 0)) reject('"rating" must be {"stars": n, "outOf": m} with m > 0');
    else {
      const langHint = typeof value.lang === 'string' ? value.lang : undefined;
      batch.push({ id: String(value.id), input: { text: value.text, langHint, languages: value.languages ?? languages, rating: value.rating } });
      if (batch.length >= BATCH) await flush();
    }
  }
  await flush();
  if (invalid) process.stderr.write(`repwatch analyze: ${invalid} line(s) skipped\n`);
  return invalid ? 2 : 0;
}

async function runCommand(args: string[]): Promise<number> {
  const loaded = loadOrReport(configDir(args));
  if (!loaded) return 2;
  const { config, secrets } = loaded;
  // The API's keys and Slack's secrets are scrubbed from every log line too, whatever the roles.
  const httpSecrets = [...apiKeySecrets(process.env.REPWATCH_API_KEYS), process.env.SLACK_SIGNING_SECRET, process.env.SLACK_BOT_TOKEN].filter((v): v is string => !!v);
  const logger = createLogger({ secrets: () => [...secrets.values(), ...httpSecrets] });
  const mongoUri = process.env.MONGODB_URI;
  if (!mongoUri) {
    process.stderr.write('repwatch: MONGODB_URI is not set (for a local FerretDB: eval "$(scripts/services.sh up)")\n');
    return 2;
  }
  const rolesArg = option(args, '--roles');
  const { startRepwatch, ALL_ROLES, KNOWN_ROLES } = await import('../../workers/app');
  const roles = rolesArg ? rolesArg.split(',') : [...ALL_ROLES];
  const unknown = roles.filter((r) => !(KNOWN_ROLES as readonly string[]).includes(r));
  if (unknown.length) {
    process.stderr.write(`repwatch: unknown role(s) ${unknown.join(', ')}; known: ${KNOWN_ROLES.join(', ')}\n`);
    return 2;
  }
  for (const r of config.disabledReceivers) logger.warn({ receiver: r.id, reason: r.reason }, 'receiver disabled');
  let app: import('../../workers/app').Repwatch;
  try {
    app = await startRepwatch({
      config,
      secrets,
      logger,
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      mongoUri,
      roles: roles as (typeof KNOWN_ROLES)[number][],
      ...(roles.includes('api') ? { api: await apiOptions() } : {}),
    });
  } catch (err) {
    if (isRepwatchError(err) && !err.retryable) {
      process.stderr.write(`repwatch: ${err.code}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  logger.info({ brands: config.brands.length, receivers: config.receivers.length, roles }, 'repwatch running');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing running jobs');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await app.close();
  return 0;
}

/** Secrets of REPWATCH_API_KEYS for the log scrubber, even when the value is malformed (then the api role refuses it). */
function apiKeySecrets(value: string | undefined): string[] {
  return (value ?? '').split(',').map((e) => e.slice(e.indexOf('=') + 1).trim()).filter((v) => v.length >= 4);
}

/** The api role's settings from the environment: REPWATCH_HTTP, REPWATCH_API_KEYS, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN. */
async function apiOptions(): Promise<NonNullable<import('../../workers/app').StartOptions['api']>> {
  const { parseApiKeys, parseListen } = await import('../api/deps');
  const { PROJECT_ROOT } = await import('../paths');
  const signingSecret = process.env.SLACK_SIGNING_SECRET;
  const botToken = process.env.SLACK_BOT_TOKEN;
  return {
    listen: parseListen(process.env.REPWATCH_HTTP),
    apiKeys: parseApiKeys(process.env.REPWATCH_API_KEYS),
    consoleDir: path.join(PROJECT_ROOT, 'dist', 'console'),
    ...(signingSecret ? { slack: { signingSecret, ...(botToken ? { botToken } : {}) } } : {}),
  };
}

/** Connects to Redis and MongoDB without running any worker: for commands that read or change alerts. */
async function withRepwatch<T>(args: string[], fn: (app: import('../../workers/app').Repwatch, loaded: LoadedConfig) => Promise<T>): Promise<T | number> {
  const loaded = loadOrReport(configDir(args));
  if (!loaded) return 2;
  const mongoUri = process.env.MONGODB_URI;
  if (!mongoUri) {
    process.stderr.write('repwatch: MONGODB_URI is not set (for a local FerretDB: eval "$(scripts/services.sh up)")\n');
    return 2;
  }
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', secrets: () => loaded.secrets.values(), destination: process.stderr as any, pretty: false });
  const { startRepwatch } = await import('../../workers/app');
  const app = await startRepwatch({ ...loaded, logger, redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', mongoUri, roles: [] });
  try {
    return await fn(app, loaded);
  } finally {
    await app.close();
  }
}

async function alertsCommand(verb: 'list' | 'ack' | 'resolve', args: string[]): Promise<number> {
  const id = verb === 'list' ? undefined : args[0];
  if (verb !== 'list' && (!id || id.startsWith('--'))) {
    process.stderr.write(`repwatch: alerts ${verb} needs an alert id (see: repwatch alerts list)\n`);
    return 2;
  }
  try {
    const result = await withRepwatch(args, async (app) => {
      if (verb === 'list') {
        const limit = Number(option(args, '--limit') ?? 20);
        const alerts = await app.store.listAlerts({ brandId: option(args, '--brand'), status: option(args, '--status'), limit: Number.isFinite(limit) && limit > 0 ? limit : 20 });
        for (const a of alerts) process.stdout.write(`${a.id}\t${a.status}\t${a.severity}\t${a.kind}\t${a.title}\n`);
        if (alerts.length === 0) process.stdout.write('no alerts\n');
        return 0;
      }
      const by = option(args, '--by') ?? process.env.REPWATCH_USER ?? process.env.USER ?? '';
      const alert = verb === 'ack' ? await app.alerts.acknowledge(id!, by) : await app.alerts.resolve(id!, by);
      process.stdout.write(`${alert.id}: ${alert.status} by ${verb === 'ack' ? alert.acknowledgedBy : alert.resolvedBy}\n`);
      return 0;
    });
    return result;
  } catch (err) {
    if (isRepwatchError(err)) {
      process.stderr.write(`repwatch: ${err.code}: ${err.message}\n`);
      return err.retryable ? 1 : 2;
    }
    throw err;
  }
}

async function reportCommand(args: string[]): Promise<number> {
  const since = option(args, '--since') ?? '30d';
  const parsed = durationSchema.safeParse(since);
  if (!parsed.success) {
    process.stderr.write(`repwatch: --since takes a duration such as 7d or 12h, not "${since}"\n`);
    return 2;
  }
  return withRepwatch(args, async (app) => {
    const brand = option(args, '--brand');
    const from = Date.now() - parsed.data;
    const alerts = await app.store.listAlerts({ brandId: brand, since: from });
    const cases = await app.store.listCases(brand);
    process.stdout.write(`${formatReport(buildReport(alerts, cases, { from }))}\n`);
    return 0;
  });
}
