/**
 * The chaos run's own processes: a redis-server and a FerretDB of its own (the machine's stay
 * untouched) and repwatch workers spawned from the built CLI, each a child that can be killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitForPort(port: number, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export async function waitForExit(child: ChildProcess, timeoutMs = 10_000): Promise<boolean> {
  if (exited(child)) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A child process with its name and log file; every child of the run is tracked so none outlives it. */
export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
}

export class Procs {
  private readonly all: Proc[] = [];
  constructor(private readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
  }

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
    const log = createWriteStream(path.join(this.logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    const proc = { name, child, pid: child.pid };
    this.all.push(proc);
    return proc;
  }

  /** kill -9, and wait until it is gone. */
  async kill9(proc: Proc): Promise<void> {
    if (!exited(proc.child)) proc.child.kill('SIGKILL');
    await waitForExit(proc.child);
  }

  /** Ends every child still running: SIGTERM (a SIGSTOPped one is continued first), SIGKILL after a grace period. */
  async stopAll(graceMs = 8000, except: readonly Proc[] = []): Promise<void> {
    const running = this.all.filter((p) => !exited(p.child) && !except.includes(p));
    for (const p of running) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGTERM');
    }
    await Promise.all(
      running.map(async (p) => {
        if (!(await waitForExit(p.child, graceMs))) {
          p.child.kill('SIGKILL');
          await waitForExit(p.child, 2000);
        }
      }),
    );
  }

  /** Synchronous last resort on an unexpected exit of the runner. */
  killAllNow(): void {
    for (const p of this.all) if (!exited(p.child)) p.child.kill('SIGKILL');
  }
}

/** redis-server on its own port that keeps nothing: a restart is a Redis that lost everything. */
export async function startRedis(procs: Procs, port: number, dir: string, generation: number): Promise<Proc> {
  mkdirSync(dir, { recursive: true });
  const proc = procs.start(`redis-${generation}`, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'], process.env);
  await waitForPort(port, 'redis-server');
  return proc;
}

/** FerretDB as scripts/services.sh starts it (the binary it builds), with its own data, state dir and port. */
export async function startFerretDb(procs: Procs, port: number, dir: string): Promise<Proc> {
  const bin = path.join(PROJECT_ROOT, '.local', 'bin', 'ferretdb');
  if (!existsSync(bin)) throw new Error(`${bin} not found: run "bash scripts/services.sh up" once to build FerretDB`);
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  const proc = procs.start('ferretdb', bin, [
    '--handler=sqlite',
    `--sqlite-url=file:${path.join(dir, 'data')}/`,
    `--listen-addr=127.0.0.1:${port}`,
    '--telemetry=disable',
    `--state-dir=${path.join(dir, 'state')}`,
    '--debug-addr=-',
    '--log-level=warn',
  ], process.env);
  await waitForPort(port, 'FerretDB');
  return proc;
}

/**
 * The heap bound workers run with, as the README, the Dockerfile and `npm start` run them: an
 * unbounded heap grows far ahead of what a worker holds (ingest peaked at 295 MB against 174 MB
 * with this bound over 150,000 posts, at the same throughput).
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256'];

/**
 * A repwatch worker process from the built CLI: `node --max-old-space-size=256 bin/repwatch.js run --config DIR --roles …`.
 * `nodeFlags`: more flags for node (the bench's `--cpu-prof DIR` gives each worker a CPU profile).
 */
export function startWorker(procs: Procs, cliRoot: string, name: string, configDir: string, roles: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Proc {
  return procs.start(name, process.execPath, [...WORKER_NODE_FLAGS, ...nodeFlags, path.join(cliRoot, 'bin', 'repwatch.js'), 'run', '--config', configDir, '--roles', roles], env);
}
