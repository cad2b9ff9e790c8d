/**
 * Deterministic formatting of generated files. Options are spelled out here and no config file is
 * looked up, so every machine produces the same bytes.
 *
 * Prettier runs in a worker thread (its standalone build with the TypeScript and estree plugins,
 * the same printer as `prettier`'s main entry): a file is handed over as soon as its generator
 * returns, so formatting (about a third of a run) overlaps the ajv compiling on the main thread
 * and uses the second core.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const TYPESCRIPT = {
  parser: 'typescript',
  printWidth: 120,
  tabWidth: 2,
  useTabs: false,
  semi: true,
  singleQuote: true,
  trailingComma: 'all',
  bracketSpacing: true,
  arrowParens: 'always',
  endOfLine: 'lf',
} as const;

export const ensureNewline = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const prettier = require(workerData.standalone);
const plugins = workerData.plugins.map((p) => require(p));
let queue = Promise.resolve();
// One file at a time, so each reply's time is its own.
parentPort.on('message', ({ id, contents, options }) => {
  queue = queue.then(async () => {
    const started = performance.now();
    try {
      const formatted = await prettier.format(contents, { ...options, plugins });
      parentPort.postMessage({ id, formatted, ms: performance.now() - started });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e && e.message ? e.message : e), ms: performance.now() - started });
    }
  });
});`;

interface Reply {
  id: number;
  formatted?: string;
  error?: string;
  ms: number;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void; path: string }>();
/** Milliseconds the worker spent formatting, summed (codegen/timings.ts). */
export const formatStats = { ms: 0 };

/** Starts the worker (it loads Prettier meanwhile); formatGenerated starts it when needed. */
export function startFormatter(): Worker {
  if (worker) return worker;
  const require = createRequire(import.meta.url);
  const w = new Worker(WORKER, {
    eval: true,
    workerData: {
      standalone: require.resolve('prettier/standalone'),
      plugins: [require.resolve('prettier/plugins/typescript'), require.resolve('prettier/plugins/estree')],
    },
  });
  w.on('message', (r: Reply) => {
    const job = pending.get(r.id);
    if (!job) return;
    pending.delete(r.id);
    formatStats.ms += r.ms;
    if (pending.size === 0) w.unref(); // idle: do not keep the process alive
    if (r.error !== undefined) job.reject(new Error(`Prettier cannot format ${job.path}: ${r.error}`));
    else job.resolve(r.formatted as string);
  });
  const fail = (e: Error) => {
    for (const job of pending.values()) job.reject(e);
    pending.clear();
    worker = undefined;
  };
  w.on('error', fail);
  // A worker that ends without an error event would leave its jobs pending for ever (the process
  // would then exit with nothing printed: a silent pass of --check).
  w.on('exit', (code) => fail(new Error(`the Prettier worker exited (code ${code}) before formatting every file`)));
  w.unref();
  worker = w;
  return w;
}

export async function formatGenerated(path: string, contents: string): Promise<string> {
  if (!path.endsWith('.ts')) return ensureNewline(contents);
  const w = startFormatter();
  const id = nextId++;
  const done = new Promise<string>((resolve, reject) => pending.set(id, { resolve, reject, path }));
  w.ref();
  w.postMessage({ id, contents, options: TYPESCRIPT });
  return done;
}
