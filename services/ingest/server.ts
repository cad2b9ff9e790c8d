/**
 * The ingest app on node:http (`clickstream ingest serve`): the Hono app plus what only a
 * long-running server has — the socket peer as client IP, a per-IP rate limit, running counters on
 * GET /metrics, header/body/idle timeouts and a connection cap against slow or numerous clients,
 * JSON answers to what Node's HTTP parser refuses, and a graceful close that stops accepting and
 * drains the lake writer.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Config } from '../config.ts';
import { openLake } from '../lake/open.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { createLogger, type Logger } from '../log.ts';
import { createIngestApp, depsFromConfig } from './app.ts';
import { LakeWriter } from './lake-writer.ts';
import { Counters, type EventCounts } from './metrics.ts';
import { createRateLimiter } from './rate-limit.ts';

export interface IngestServer {
  /** `http://host:port` the server listens on. */
  url: string;
  port: number;
  counters: Counters;
  /** Stops accepting connections, finishes in-flight requests and their lake writes. */
  close(): Promise<void>;
}

export interface StartIngestServerOptions {
  config: Config;
  /** Defaults to the store of config.LAKE_URL. */
  store?: RawStore;
  logger?: Logger;
  /** The receive clock (default: the real one); tests pin it. */
  now?: () => Date;
  /**
   * Counters shared with other processes (the workers of `ingest serve`, cluster.ts): each
   * request's counts go to `add` as well, and GET /metrics answers `snapshot()` (all workers').
   */
  sharedCounters?: { add(counts: EventCounts): void; snapshot(): Promise<Record<string, unknown>> };
}

export async function startIngestServer({
  config,
  store,
  logger,
  now,
  sharedCounters,
}: StartIngestServerOptions): Promise<IngestServer> {
  const log = logger ?? createLogger(config.LOG_LEVEL);
  const lake = store ?? openLake(config);
  const writer = new LakeWriter(lake);
  const counters = new Counters();
  const app = createIngestApp({
    writer,
    logger: log,
    ...(await depsFromConfig(config, { now })),
    clientIp: (c) => getConnInfo(c).remote.address,
    readBody: (c, limit) => readIncoming((c.env as HttpBindings).incoming, limit),
    rateLimiter: createRateLimiter(config.RATE_LIMIT_PER_MINUTE),
    onStored: (counts) => {
      counters.add(counts);
      sharedCounters?.add(counts);
    },
    now,
  });
  app.get('/metrics', async (c) => c.json(sharedCounters ? await sharedCounters.snapshot() : counters.snapshot()));

  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: config.HOST,
    serverOptions: {
      // Slow clients (a body at 1 byte/s) are cut off in seconds, not Node's default 5 minutes.
      headersTimeout: config.INGEST_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeout: config.INGEST_BODY_TIMEOUT_SECONDS * 1000,
      keepAliveTimeout: config.INGEST_IDLE_TIMEOUT_SECONDS * 1000,
      // How often Node checks those two timeouts (default 30 s would make a 10 s timeout 40 s).
      connectionsCheckingInterval: 1000,
    },
  }) as Server;
  server.maxConnections = config.INGEST_MAX_CONNECTIONS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerProtocolError(err, socket, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${port}`;
  log.info('listening', { url, lake: lake.url });

  return {
    url,
    port,
    counters,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      await writer.drain();
      log.info('stopped', { counters: counters.snapshot() });
    },
  };
}

/**
 * A request Node's HTTP parser refuses (bad framing, headers too large, a header or body
 * timeout, a body cut short) gets the same JSON error as every other reject; Node's own answer
 * has an empty body. A connection that is already gone gets nothing.
 */
function answerProtocolError(err: NodeJS.ErrnoException, socket: Duplex, log: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request was not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request headers are too large']
        : [400, 'bad_request', `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`];
  log.warn('protocol error', { status, code, node_code: err.code });
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The body of a node:http request, or 'too_large' (and the rest discarded) past `limit` bytes. */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array | 'too_large'> {
  const declared = Number(incoming.headers['content-length'] ?? Number.NaN);
  if (declared > limit) {
    incoming.resume();
    return Promise.resolve('too_large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        incoming.off('data', onData);
        incoming.resume();
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    // A client that disconnects mid-body: node:http emits 'error' (ECONNRESET, "aborted").
    incoming.once('error', reject);
  });
}
