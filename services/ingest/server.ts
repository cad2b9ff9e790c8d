/**
 * The ingest app on node:http (`clickstream ingest serve`): the Hono app plus what only a
 * long-running server has — the socket peer as client IP, a per-IP rate limit, running counters on
 * GET /metrics, and a graceful close that stops accepting and drains the lake writer.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Config } from '../config.ts';
import { openRawStore } from '../lake/open.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { createIngestApp, depsFromConfig } from './app.ts';
import { LakeWriter } from './lake-writer.ts';
import { createLogger, type Logger } from './log.ts';
import { Counters } from './metrics.ts';
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
}

export async function startIngestServer({
  config,
  store,
  logger,
  now,
}: StartIngestServerOptions): Promise<IngestServer> {
  const log = logger ?? createLogger(config.LOG_LEVEL);
  const lake = store ?? openRawStore(config.LAKE_URL, { s3Endpoint: config.S3_ENDPOINT, region: config.AWS_REGION });
  const writer = new LakeWriter(lake);
  const counters = new Counters();
  const app = createIngestApp({
    writer,
    logger: log,
    ...(await depsFromConfig(config)),
    clientIp: (c) => getConnInfo(c).remote.address,
    readBody: (c, limit) => readIncoming((c.env as HttpBindings).incoming, limit),
    rateLimiter: createRateLimiter(config.RATE_LIMIT_PER_MINUTE),
    onStored: (counts) => counters.add(counts),
    now,
  });
  app.get('/metrics', (c) => c.json(counters.snapshot()));

  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.HOST });
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
