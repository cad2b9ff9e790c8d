/**
 * Test helper: a real HTTP proxy on loopback in front of an S3 API server (s3rver) that fails a
 * share of the requests the way S3 and networks fail — a 503 SlowDown, a connection reset (before
 * the request reaches the server, or after the server did the work, so the client never learns a
 * PUT succeeded), or a slow answer. Decisions come from a seeded generator, so a run is
 * repeatable in what it injects (not in timing). Clients talk plain HTTP to it, like to S3.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../random.ts';

export interface FaultProxyOptions {
  /** Upstream base URL, e.g. s3rver's `http://127.0.0.1:port`. */
  target: string;
  /** Share of requests given a fault (0..1). */
  faultRate: number;
  seed?: number;
  /** Delay of a slow answer, ms. */
  slowMs?: number;
}

export interface FaultCounts {
  requests: number;
  unavailable: number;
  resetBefore: number;
  resetAfter: number;
  slow: number;
}

export interface FaultProxy {
  endpoint: string;
  counts: FaultCounts;
  /** Requests being forwarded right now, by method. */
  inFlight: Map<string, number>;
  /** Stops injecting faults (requests pass through). */
  heal(): void;
  close(): Promise<void>;
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`;

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const rand = prng(opts.seed ?? 1);
  const counts: FaultCounts = { requests: 0, unavailable: 0, resetBefore: 0, resetAfter: 0, slow: 0 };
  const inFlight = new Map<string, number>();
  let rate = opts.faultRate;
  const slowMs = opts.slowMs ?? 800;

  const server = http.createServer((req, res) => {
    counts.requests++;
    const roll = rand() < rate ? rand() : -1;
    const fault =
      roll < 0
        ? 'none'
        : roll < 0.35
          ? 'unavailable'
          : roll < 0.55
            ? 'resetBefore'
            : roll < 0.75
              ? 'resetAfter'
              : 'slow';
    if (fault === 'unavailable') {
      counts.unavailable++;
      req.resume();
      req.once('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' });
        res.end(SLOW_DOWN);
      });
      return;
    }
    if (fault === 'resetBefore') {
      counts.resetBefore++;
      req.socket.destroy();
      return;
    }
    const method = req.method ?? 'GET';
    inFlight.set(method, (inFlight.get(method) ?? 0) + 1);
    const done = () => inFlight.set(method, (inFlight.get(method) ?? 1) - 1);
    const upstream = http.request(
      { host: target.hostname, port: target.port, method, path: req.url, headers: req.headers },
      (up) => {
        const answer = () => {
          if (fault === 'resetAfter') {
            counts.resetAfter++;
            up.resume();
            req.socket.destroy();
            done();
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.once('end', done);
        };
        if (fault === 'slow') {
          counts.slow++;
          setTimeout(answer, slowMs);
        } else {
          answer();
        }
      },
    );
    upstream.once('error', () => {
      done();
      req.socket.destroy();
    });
    req.pipe(upstream);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    inFlight,
    heal() {
      rate = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
