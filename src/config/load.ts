import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { RepwatchError } from '../domain/errors';
import { BUILTIN_CONFIG_DIR } from '../paths';
import {
  brandsFileSchema,
  receiversFileSchema,
  settingsSchema,
  type BrandConfig,
  type PolicyConfig,
  type ReceiverConfig,
  type Settings,
} from './schema';
import { checkRouting, defaultRouting, routingFileSchema, type RoutingConfig } from './routing-schema';
import { secretEnvsOf, splitSecrets, webhookSecretProblem } from './webhook-secrets';

export interface ResolvedBrand extends BrandConfig {
  /** The defaults' policy with this brand's overrides applied. */
  effectivePolicy: PolicyConfig;
}

export interface Config {
  /** Folder the brand and receiver files were read from; replay files are relative to it. */
  readonly dir: string;
  readonly settings: Settings;
  readonly brands: readonly ResolvedBrand[];
  /** Receivers that are enabled (an optional receiver whose credential is unset is left out). */
  readonly receivers: readonly ReceiverConfig[];
  readonly disabledReceivers: readonly { id: string; reason: string }[];
  /** routing.yaml: the routing tree, quiet hours and silences (all receivers by default). */
  readonly routing: RoutingConfig;
}

/**
 * Secret values, kept apart from the config so that logging or printing the config can never
 * show them. Built from the environment variables the config names.
 */
export class Secrets {
  readonly #values = new Map<string, string>();
  constructor(entries: Iterable<[string, string]> = []) {
    for (const [k, v] of entries) this.#values.set(k, v);
  }
  get(envName: string): string {
    const v = this.#values.get(envName);
    if (v === undefined) throw new RepwatchError('RW_ERR_SECRET_MISSING', `environment variable ${envName} is not set`);
    return v;
  }
  has(envName: string): boolean {
    return this.#values.has(envName);
  }
  /** Every secret value, for the log redactor; a variable holding several (rotation) gives each too. */
  values(): string[] {
    const all = [...this.#values.values()];
    const parts = all.flatMap((v) => (/\s/.test(v.trim()) ? v.split(/\s+/).filter((p) => p.length >= 16) : []));
    return [...all, ...parts];
  }
  toJSON(): string {
    return '[Secrets]';
  }
}

export interface LoadedConfig {
  config: Config;
  secrets: Secrets;
}


export interface Problem {
  file: string;
  path: string;
  message: string;
}

function readYaml(file: string, problems: Problem[]): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    problems.push({ file, path: '', message: `cannot parse YAML: ${(err as Error).message.split('\n')[0]}` });
    return undefined;
  }
}

function collect<T extends z.ZodType>(schema: T, value: unknown, file: string, problems: Problem[]): z.infer<T> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    problems.push({ file, path: issue.path.map(String).join('.'), message: issue.message });
  }
  return undefined;
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}

function duplicates(ids: string[]): string[] {
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface LoadOptions {
  /** Folder holding brands.yaml, receivers.yaml and optionally defaults.yaml. */
  dir: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads, validates and freezes the configuration. Every problem in every file is reported at
 * once in one RW_ERR_CONFIG_INVALID error whose `details.problems` lists them with their paths.
 */
export function loadConfig({ dir, env = process.env }: LoadOptions): LoadedConfig {
  const problems: Problem[] = [];
  const absDir = path.resolve(dir);
  const defaultsFile = existsSync(path.join(absDir, 'defaults.yaml'))
    ? path.join(absDir, 'defaults.yaml')
    : path.join(BUILTIN_CONFIG_DIR, 'defaults.yaml');
  const brandsFile = path.join(absDir, 'brands.yaml');
  const receiversFile = path.join(absDir, 'receivers.yaml');
  const routingFile = path.join(absDir, 'routing.yaml');

  if (!existsSync(brandsFile)) problems.push({ file: brandsFile, path: '', message: 'file not found: every deployment lists its brands here' });

  const settings = collect(settingsSchema, readYaml(defaultsFile, problems) ?? {}, defaultsFile, problems);
  const brandsDoc = collect(brandsFileSchema, readYaml(brandsFile, problems), brandsFile, problems);
  const receiversDoc = collect(receiversFileSchema, readYaml(receiversFile, problems) ?? {}, receiversFile, problems);

  const secretEntries: [string, string][] = [];
  const needSecret = (name: string): boolean => {
    const value = env[name];
    if (value === undefined || value === '') return false;
    secretEntries.push([name, value]);
    return true;
  };

  const brands: ResolvedBrand[] = [];
  if (brandsDoc && settings) {
    for (const id of new Set(duplicates(brandsDoc.brands.map((b) => b.id)))) {
      problems.push({ file: brandsFile, path: 'brands', message: `brand id "${id}" is used more than once` });
    }
    brandsDoc.brands.forEach((brand, bi) => {
      for (const id of new Set(duplicates(brand.sources.map((s) => s.id)))) {
        problems.push({ file: brandsFile, path: `brands.${bi}.sources`, message: `source id "${id}" is used more than once in brand "${brand.id}"` });
      }
      brand.sources.forEach((source, si) => {
        const at = `brands.${bi}.sources.${si}`;
        // Every field named …Env names an environment variable the source needs (credentials, or an address that carries them).
        for (const [field, value] of Object.entries(source)) {
          if (!field.endsWith('Env') || typeof value !== 'string') continue;
          if (!needSecret(value)) problems.push({ file: brandsFile, path: `${at}.${field}`, message: `environment variable ${value} is not set (${field} of ${source.platform} source "${source.id}" of brand "${brand.id}")` });
        }
        if (source.platform === 'replay') {
          const file = path.resolve(absDir, source.file);
          if (!existsSync(file)) problems.push({ file: brandsFile, path: `${at}.file`, message: `replay file not found: ${file}` });
        }
      });
      brands.push({ ...brand, effectivePolicy: { ...settings.policy, ...(brand.policy ?? {}) } });
    });
  }

  const receivers: ReceiverConfig[] = [];
  const disabledReceivers: { id: string; reason: string }[] = [];
  if (receiversDoc) {
    for (const id of new Set(duplicates(receiversDoc.receivers.map((r) => r.id)))) {
      problems.push({ file: receiversFile, path: 'receivers', message: `receiver id "${id}" is used more than once` });
    }
    receiversDoc.receivers.forEach((receiver, ri) => {
      const names =
        receiver.type === 'slack'
          ? [receiver.webhookUrlEnv ?? receiver.botTokenEnv!]
          : receiver.type === 'pagerduty'
            ? [receiver.routingKeyEnv, ...(receiver.urlEnv ? [receiver.urlEnv] : [])]
            : [...secretEnvsOf(receiver), ...(receiver.urlEnv ? [receiver.urlEnv] : [])];
      const missing = names.filter((n) => !needSecret(n));
      // A secret that is set but cannot sign is a mistake even on an optional receiver: named, never quoted.
      if (receiver.type === 'webhook') {
        for (const n of secretEnvsOf(receiver).filter((n) => !missing.includes(n))) {
          const secrets = splitSecrets(env[n]!);
          if (secrets.length === 0) missing.push(n);
          secrets.forEach((secret, i) => {
            const problem = webhookSecretProblem(secret);
            const which = secrets.length > 1 ? `the ${ordinal(i + 1)} secret in ${n}` : `environment variable ${n}`;
            if (problem) problems.push({ file: receiversFile, path: `receivers.${ri}.secretEnv`, message: `${which} ${problem} (receiver "${receiver.id}")` });
          });
        }
      }
      if (receiver.type === 'slack' && receiver.channelEnv && !receiver.channel && !env[receiver.channelEnv]) missing.push(receiver.channelEnv);
      if (missing.length === 0)
        receivers.push(receiver.type === 'slack' && receiver.channelEnv && !receiver.channel ? { ...receiver, channel: env[receiver.channelEnv] } : receiver);
      else if (receiver.optional) disabledReceivers.push({ id: receiver.id, reason: `${missing.join(', ')} not set` });
      else
        for (const n of missing)
          problems.push({ file: receiversFile, path: `receivers.${ri}`, message: `environment variable ${n} is not set (receiver "${receiver.id}")` });
    });
  }

  // Digests name receivers by id (configured ones, enabled or not); PagerDuty pages people and takes no digests.
  if (brandsDoc && receiversDoc) {
    brandsDoc.brands.forEach((brand, bi) =>
      brand.digest?.receivers.forEach((id, i) => {
        const receiver = receiversDoc.receivers.find((r) => r.id === id);
        const at = `brands.${bi}.digest.receivers.${i}`;
        if (!receiver) problems.push({ file: brandsFile, path: at, message: `unknown receiver "${id}" (receivers.yaml has: ${receiversDoc.receivers.map((r) => r.id).join(', ') || 'none'})` });
        else if (receiver.type === 'pagerduty') problems.push({ file: brandsFile, path: at, message: `receiver "${id}" is a pagerduty receiver: it pages on-call and takes no digests (use a slack or webhook receiver)` });
      }),
    );
  }

  // Routing refers to receivers by id: every configured one counts, enabled or not (an optional
  // receiver whose credential is unset is skipped at delivery, not an error).
  let routing: RoutingConfig | undefined;
  const routingDoc = existsSync(routingFile) ? collect(routingFileSchema, readYaml(routingFile, problems) ?? {}, routingFile, problems) : undefined;
  if (routingDoc && receiversDoc) {
    for (const p of checkRouting(routingDoc, receiversDoc.receivers.map((r) => r.id))) problems.push({ file: routingFile, ...p });
    routing = routingDoc;
  } else if (!existsSync(routingFile)) {
    routing = defaultRouting((receiversDoc?.receivers ?? []).map((r) => r.id));
  }

  if (problems.length > 0 || !settings || !brandsDoc || !routing) {
    const list = problems.map((p) => `  - ${path.relative(process.cwd(), p.file) || p.file}${p.path ? ` at ${p.path}` : ''}: ${p.message}`).join('\n');
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `configuration has ${problems.length} problem(s):\n${list}`, {
      details: { problems },
    });
  }

  const config: Config = deepFreeze({ dir: absDir, settings, brands, receivers, disabledReceivers, routing });
  return { config, secrets: new Secrets(secretEntries) };
}
