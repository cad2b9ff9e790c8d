/**
 * `ingest serve` on every core: a primary process forks INGEST_WORKERS workers (node:cluster; the
 * primary accepts connections and hands them out round-robin), each running the whole server of
 * server.ts with its own lake writer and group commit. GET /metrics, whichever worker answers it,
 * has every worker's totals: the primary asks each running worker for its own (updated before it
 * answers a request, so a client reads its own writes) and adds the counts that workers which
 * exited had reported as they went. The primary replaces a worker that dies.
 *
 * Stopping: on SIGTERM/SIGINT (or its parent gone) the primary tells every worker to drain; each
 * stops accepting, finishes its in-flight requests and their lake writes (nothing it acknowledged
 * is lost, nothing in flight is acknowledged unstored) and exits; the primary exits after the last.
 * A worker whose primary vanished (its IPC channel closed) drains and exits the same way.
 * The rate limit is per worker (see README): connections, not clients, are spread over workers.
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { untilShutdown } from '../shutdown.ts';
import { Counters, type EventCounts } from './metrics.ts';
import { startIngestServer } from './server.ts';

type Totals = Record<string, { accepted: number; rejected: number }>;
type ToPrimary =
  | { type: 'counts'; counts: [string, { accepted: number; rejected: number }][] }
  | { type: 'metrics'; id: number }
  | { type: 'local'; id: number; totals: Totals };
/** More than MAX_RESTARTS unexpected worker exits within RESTART_WINDOW_MS stop `serve` (exit 1). */
const MAX_RESTARTS = 10;
const RESTART_WINDOW_MS = 60_000;

type ToWorker = { type: 'metrics'; id: number; snapshot: Totals } | { type: 'local'; id: number } | { type: 'drain' };

/** How long a /metrics answer waits for a worker's own totals before using what it reported. */
const POLL_TIMEOUT_MS = 2000;

const totalsMap = (t: Totals): EventCounts => new Map(Object.entries(t));

/** Workers `ingest serve` runs: INGEST_WORKERS, or one per core when it is 0 (the default). */
export function workerCount(config: Pick<Config, 'INGEST_WORKERS'>): number {
  return config.INGEST_WORKERS === 0 ? os.availableParallelism() : config.INGEST_WORKERS;
}

/** The primary: forks `workers` copies of this command, returns its exit code once all stopped. */
export async function runPrimary(config: Config, workers: number): Promise<number> {
  const log = createLogger(config.LOG_LEVEL);
  /** Counts each running worker reported as it stored them, and those of workers that exited. */
  const reported = new Map<Worker, Counters>();
  const retired = new Counters();
  const polls = new Map<number, { pending: Set<Worker>; sum: Counters; finish: () => void }>();
  let nextPoll = 0;
  const settle = (w: Worker) => {
    for (const poll of polls.values()) {
      if (!poll.pending.delete(w)) continue;
      poll.sum.add(totalsMap(reported.get(w)?.snapshot() ?? {}));
      if (poll.pending.size === 0) poll.finish();
    }
  };
  const metrics = (asker: Worker, id: number) => {
    const sum = new Counters();
    sum.add(totalsMap(retired.snapshot()));
    const asked = [...ready].filter((w) => w.isConnected());
    for (const w of live) if (!asked.includes(w)) sum.add(totalsMap(reported.get(w)?.snapshot() ?? {}));
    const pollId = nextPoll++;
    const timer = setTimeout(() => {
      for (const w of [...(polls.get(pollId)?.pending ?? [])]) settle(w);
    }, POLL_TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      polls.delete(pollId);
      if (asker.isConnected()) asker.send({ type: 'metrics', id, snapshot: sum.snapshot() } satisfies ToWorker);
    };
    polls.set(pollId, { pending: new Set(asked), sum, finish });
    if (asked.length === 0) finish();
    for (const w of asked) w.send({ type: 'local', id: pollId } satisfies ToWorker);
  };
  const live = new Set<Worker>();
  const ready = new Set<Worker>();
  let stopping = false;
  let failure: string | undefined;
  let allExited: () => void = () => {};
  let allListening: () => void = () => {};
  let startFailed: (reason: string) => void = () => {};
  let crashLoop: () => void = () => {};
  let startedUp = false;
  const restarts: number[] = [];

  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    // A worker that stops on its own signal (a process-group SIGTERM) closes its channel first.
    worker.on('error', (err) => log.debug('worker channel', { pid: worker.process.pid, error: err.message }));
    reported.set(worker, new Counters());
    worker.on('message', (msg: ToPrimary) => {
      if (msg.type === 'counts') reported.get(worker)?.add(new Map(msg.counts));
      else if (msg.type === 'metrics') metrics(worker, msg.id);
      else if (msg.type === 'local') {
        const poll = polls.get(msg.id);
        if (poll?.pending.delete(worker)) {
          poll.sum.add(totalsMap(msg.totals));
          if (poll.pending.size === 0) poll.finish();
        }
      }
    });
    worker.once('listening', () => {
      ready.add(worker);
      if (ready.size >= workers) allListening();
    });
    worker.once('exit', (code, signal) => {
      settle(worker);
      retired.add(totalsMap(reported.get(worker)?.snapshot() ?? {}));
      reported.delete(worker);
      live.delete(worker);
      const wasReady = ready.delete(worker);
      if (code !== 0) failure ??= `worker ${worker.process.pid} exited with ${signal ?? code}`;
      if (live.size === 0 && stopping) allExited();
      if (stopping) return;
      if (!wasReady && !startedUp) {
        // A first worker that could not start (port taken, bad lake): the others stop too.
        startFailed(failure ?? `worker ${worker.process.pid} exited before listening`);
        return;
      }
      // A worker that keeps dying (say, a lake that fails every write) is not restarted forever.
      const now = Date.now();
      restarts.push(now);
      while (restarts.length && (restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        log.error('workers keep dying; stopping', { restarts: restarts.length, window_ms: RESTART_WINDOW_MS });
        crashLoop();
        return;
      }
      log.error('worker died; starting another', { pid: worker.process.pid, code, signal });
      failure = undefined;
      fork();
    });
  };

  const started = new Promise<string | undefined>((resolve) => {
    allListening = () => resolve(undefined);
    startFailed = (reason) => resolve(reason);
  });
  // Listening for SIGTERM from the start: a worker may already serve (and its client stop the
  // server) while the others are still starting, and an unhandled SIGTERM would kill the primary
  // without draining the one that serves.
  const shutdown = untilShutdown();
  for (let i = 0; i < workers; i++) fork();
  const startError = await started;
  startedUp = true;
  if (!startError) log.info('workers listening', { workers, pids: [...live].map((w) => w.process.pid) });
  const reason =
    startError ??
    (await Promise.race([
      shutdown,
      new Promise<string>((resolve) => {
        crashLoop = () => {
          failure = 'workers kept dying';
          resolve(failure);
        };
      }),
    ]));
  if (!startError) console.error(`${reason}: draining ${live.size} workers`);
  stopping = true;
  const exited = new Promise<void>((resolve) => {
    allExited = resolve;
    if (live.size === 0) resolve();
  });
  const drain = (w: Worker) => {
    if (w.isConnected()) w.send({ type: 'drain' } satisfies ToWorker);
  };
  // A replacement still starting cannot hear the message yet: it is told once it listens.
  for (const w of live)
    if (ready.has(w)) drain(w);
    else w.once('listening', () => drain(w));
  await exited;
  if (startError) console.error(startError);
  return startError || failure ? 1 : 0;
}

/** A worker: the server of server.ts, counting into the primary, until told (or forced) to stop. */
export async function runWorker(config: Config): Promise<number> {
  let nextId = 0;
  const waiting = new Map<number, (snapshot: Totals) => void>();
  let server: Awaited<ReturnType<typeof startIngestServer>> | undefined;
  let drain: () => void = () => {};
  const drainRequested = new Promise<string>((resolve) => {
    drain = () => resolve('drain');
  });
  process.on('message', (msg: ToWorker) => {
    if (msg.type === 'metrics') {
      waiting.get(msg.id)?.(msg.snapshot);
      waiting.delete(msg.id);
    } else if (msg.type === 'local') {
      send({ type: 'local', id: msg.id, totals: server?.counters.snapshot() ?? {} });
    } else if (msg.type === 'drain') drain();
  });
  const orphaned = new Promise<string>((resolve) =>
    process.once('disconnect', () => {
      // /metrics requests waiting on the primary get what this worker knows: nothing shared.
      for (const answer of waiting.values()) answer({});
      waiting.clear();
      resolve('primary gone');
    }),
  );
  const send = (msg: ToPrimary) => {
    if (process.connected) process.send?.(msg);
  };
  try {
    server = await startIngestServer({
      config,
      sharedCounters: {
        add: (counts: EventCounts) => send({ type: 'counts', counts: [...counts] }),
        snapshot: () =>
          new Promise((resolve) => {
            if (!process.connected) return resolve({});
            const id = nextId++;
            waiting.set(id, resolve);
            send({ type: 'metrics', id });
          }),
      },
    });
  } catch (err) {
    // The open channel would keep this process alive; the primary sees the exit and stops.
    if (process.connected) process.disconnect();
    throw err;
  }
  await Promise.race([drainRequested, orphaned, untilShutdown()]);
  await server.close();
  if (process.connected) process.disconnect();
  return 0;
}
