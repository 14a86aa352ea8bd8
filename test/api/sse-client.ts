import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import ts from 'typescript';
import type * as EventSourceParser from 'eventsource-parser';

/**
 * eventsource-parser ships only as an ES module, which jest's CommonJS runtime cannot require on
 * Node 20. Its three small files are compiled to CommonJS here, unchanged otherwise.
 */
function loadEventSourceParser(): typeof EventSourceParser {
  const dist = path.join(path.dirname(require.resolve('eventsource-parser/package.json')), 'dist');
  const cache = new Map<string, unknown>();
  const load = (file: string): any => {
    if (cache.has(file)) return cache.get(file);
    const source = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    const module = { exports: {} as any };
    cache.set(file, module.exports);
    const localRequire = (spec: string) => (spec.startsWith('.') ? load(path.join(path.dirname(file), spec)) : require(spec));
    new Function('exports', 'require', 'module', source)(module.exports, localRequire, module);
    cache.set(file, module.exports);
    return module.exports;
  };
  return load(path.join(dist, 'index.js'));
}

const { createParser } = loadEventSourceParser();

export interface StreamClient {
  events: { id?: string; event?: string; data: string }[];
  comments: string[];
  status: number;
  /** Resolves once `n` events have arrived (fails after `timeoutMs`). */
  waitForEvents(n: number, timeoutMs?: number): Promise<void>;
  waitForComment(timeoutMs?: number): Promise<void>;
  /** The client goes away (the server must notice and stop). */
  close(): void;
  closed: Promise<void>;
}

/** A raw HTTP request to an SSE endpoint, parsed as a browser's EventSource would. */
export function openStream(url: string, headers: Record<string, string>): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let notify = () => undefined as void;
      const client: StreamClient = {
        events: [],
        comments: [],
        status: res.statusCode ?? 0,
        waitForEvents: (n, timeoutMs = 10_000) => until(() => client.events.length >= n, timeoutMs, `${n} events (have ${client.events.length})`),
        waitForComment: (timeoutMs = 10_000) => until(() => client.comments.length > 0, timeoutMs, 'a comment'),
        close: () => req.destroy(),
        closed: new Promise<void>((done) => res.on('close', () => done())),
      };
      const waiters = new Set<() => void>();
      notify = () => waiters.forEach((w) => w());
      const until = (ok: () => boolean, timeoutMs: number, what: string) =>
        new Promise<void>((done, fail) => {
          if (ok()) return done();
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`timed out waiting for ${what}`));
          }, timeoutMs);
          const check = () => {
            if (!ok()) return;
            clearTimeout(timer);
            waiters.delete(check);
            done();
          };
          waiters.add(check);
        });
      const parser = createParser({
        onEvent: (e) => {
          client.events.push({ id: e.id, event: e.event, data: e.data });
          notify();
        },
        onComment: (c) => {
          client.comments.push(c);
          notify();
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('error', () => undefined);
      resolve(client);
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
  });
}
