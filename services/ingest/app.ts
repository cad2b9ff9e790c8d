/**
 * The ingest HTTP API as a Hono app, shared by the Node server and the Lambda adapter:
 *
 *   POST /clickstream   { sent_at, events: [...] } → 200 { accepted, rejected: [...], token? }
 *   GET  /health        → 200 { ok: true }
 *
 * HTTP concerns only (content type, encoding, size, CORS, rate limit, identity header); the
 * decisions about events are the core's, the durability is the lake writer's. POST /clickstream
 * itself is createIngestHandler, free of Hono, so the Lambda's API Gateway adapter (apigw.ts)
 * answers the same without building Fetch API objects.
 */
import { gunzipSync } from 'node:zlib';
import type { Context } from 'hono';
import { cors } from 'hono/cors';
import { Hono } from 'hono/tiny';
import type { Config } from '../config.ts';
import { errorFields, type Logger } from '../log.ts';
import { truncateCodePoints } from '../storable.ts';
import { DEFAULT_LIMITS, type EventError, type IngestLimits, processBody, type RejectedEvent } from './core.ts';
import { createIdentityResolver, type IdentityResolver } from './identity.ts';
import type { LakeWriter } from './lake-writer.ts';
import { countEvents, type EventCounts } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';

/** What the request handling needs, whatever carries the request (Hono, the Lambda adapter). */
export interface IngestDeps {
  writer: LakeWriter;
  resolveIdentity: IdentityResolver;
  logger: Logger;
  limits?: IngestLimits;
  /** Browser origins allowed to post (exact `scheme://host[:port]`); others get 403. */
  corsOrigins?: string[];
  /** Per-client throttle; the Node server has one, API Gateway throttles for the Lambda. */
  rateLimiter?: RateLimiter;
  /** Called with each stored request's per-event-name counts (metrics). */
  onStored?: (counts: EventCounts) => void;
  now?: () => Date;
}

export interface IngestAppDeps extends IngestDeps {
  /** The client's address as the platform reports it (socket peer, API Gateway sourceIp). */
  clientIp?: (c: Context) => string | undefined;
  /**
   * Reads the request body, 'too_large' past `limit` bytes. Default: the web-standard body
   * stream; the Node server reads its IncomingMessage directly, which skips building a web
   * Request and stream per request (measurable at thousands of requests per second).
   */
  readBody?: (c: Context, limit: number) => Promise<Uint8Array | 'too_large'>;
}

/** One POST /clickstream as the handling sees it: request headers in, answer headers out. */
export interface IngestExchange {
  /** A request header (case-insensitive name), or undefined. */
  header(name: string): string | undefined;
  /** Sets an answer header. */
  setHeader(name: string, value: string): void;
  ip: string | undefined;
  readBody(limit: number): Promise<Uint8Array | 'too_large'>;
}

/** The answer: a status and the JSON body (the carrier adds `Content-Type: application/json`). */
export interface IngestAnswer {
  status: 200 | ErrorStatus;
  body: unknown;
}

type ErrorStatus = 400 | 403 | 404 | 413 | 415 | 429 | 503;

const ACCEPTED_TYPES = new Set(['application/json', 'text/plain']);
export const EXPOSED_HEADERS = 'Retry-After';

/** The CORS preflight's settings (hono's cors() in the app; the Lambda adapter writes the same headers). */
export const PREFLIGHT = {
  allowMethods: ['POST', 'OPTIONS'],
  allowHeaders: ['Content-Type', 'Content-Encoding', 'Authorization'],
  maxAge: 600,
} as const;

/** The headers every non-preflight answer on /clickstream carries, set before the handling runs. */
/** The ingest's routes, answered by this Hono app and by the Lambda adapter (apigw.ts). */
export const ROUTES = { ingest: '/clickstream', health: '/health' } as const;

export function setCorsHeaders(x: Pick<IngestExchange, 'setHeader'>, origin: string | undefined, allowed: Set<string>) {
  if (origin !== undefined && allowed.has(origin)) x.setHeader('Access-Control-Allow-Origin', origin);
  x.setHeader('Access-Control-Allow-Credentials', 'true');
  x.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  x.setHeader('Vary', 'Origin');
}

/** POST /clickstream without a web framework: the Hono app and the Lambda adapter both call it. */
export function createIngestHandler(deps: IngestDeps): (x: IngestExchange) => Promise<IngestAnswer> {
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const allowed = new Set(deps.corsOrigins ?? []);
  const now = deps.now ?? (() => new Date());
  const fail = (status: ErrorStatus, code: string, message: string): IngestAnswer => ({
    status,
    body: { error: { code, message } },
  });

  return async (x) => {
    // process.hrtime, not performance.now(): the `performance` global loads perf_hooks (11 modules,
    // ≈ 10 ms of a Lambda cold start) on first use.
    const started = process.hrtime.bigint();
    const receivedAt = now();
    const ip = x.ip;
    const origin = x.header('origin');
    const log = (status: number, fields: Record<string, unknown> = {}) =>
      deps.logger.info('request', {
        method: 'POST',
        path: ROUTES.ingest,
        status,
        ms: Math.round(Number(process.hrtime.bigint() - started) / 10_000) / 100,
        ...fields,
      });

    if (origin !== undefined && !allowed.has(origin)) {
      log(403, { origin });
      return fail(403, 'origin_not_allowed', `origin ${origin} is not in CORS_ORIGINS`);
    }
    if (deps.rateLimiter && ip !== undefined) {
      const retryAfter = deps.rateLimiter.take(ip, receivedAt.getTime());
      if (retryAfter > 0) {
        x.setHeader('Retry-After', String(retryAfter));
        log(429);
        return fail(429, 'rate_limited', `too many requests; retry after ${retryAfter} s`);
      }
    }
    const mediaType = (x.header('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (!ACCEPTED_TYPES.has(mediaType)) {
      log(415, { content_type: mediaType });
      return fail(415, 'unsupported_media_type', 'Content-Type must be application/json or text/plain');
    }
    const encoding = (x.header('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') {
      log(415, { content_encoding: encoding });
      return fail(415, 'unsupported_encoding', 'Content-Encoding must be gzip or absent');
    }

    let raw: Uint8Array | 'too_large';
    try {
      raw = await x.readBody(limits.maxBodyBytes);
    } catch (err) {
      // The client went away mid-body; nobody will read the answer.
      deps.logger.warn('request body aborted', errorFields(err));
      return fail(400, 'body_aborted', 'the request body was not received completely');
    }
    if (raw === 'too_large') {
      log(413);
      return fail(413, 'body_too_large', `body is larger than ${limits.maxBodyBytes} bytes`);
    }
    let body: Uint8Array = raw;
    if (encoding === 'gzip') {
      try {
        // The output cap stops gzip bombs before they are inflated in memory.
        body = gunzipSync(raw, { maxOutputLength: limits.maxBodyBytes });
      } catch (err) {
        const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        log(tooLarge ? 413 : 400);
        return tooLarge
          ? fail(413, 'body_too_large', `decompressed body is larger than ${limits.maxBodyBytes} bytes`)
          : fail(400, 'invalid_gzip', 'body is not valid gzip');
      }
    }

    const { identity, token } = await deps.resolveIdentity(x.header('authorization'));
    const result = processBody(body, { receivedAt, identity, userAgent: x.header('user-agent'), ip }, limits);
    if (!result.ok) {
      log(result.status, { code: result.code });
      return fail(result.status, result.code, result.message);
    }

    try {
      await deps.writer.write(
        result.accepted.map((a) => a.line),
        result.rejected.map((r) => r.line),
        receivedAt,
      );
    } catch (err) {
      deps.logger.error('lake write failed', errorFields(err));
      log(503, { events: result.accepted.length + result.rejected.length });
      return fail(503, 'store_unavailable', 'events could not be stored; retry with the same event_ids');
    }
    const counts = countEvents(result.accepted, result.rejected);
    deps.onStored?.(counts);
    log(200, {
      accepted: result.accepted.length,
      rejected: result.rejected.length,
      user_login_state: identity.user_login_state,
      ...(result.trackerDropped ? { tracker_dropped: result.trackerDropped } : {}),
      ...(token && !token.accepted ? { token_rejected: token.reason } : {}),
    });
    return {
      status: 200,
      body: {
        accepted: result.accepted.length,
        ...rejectionDetail(result.rejected, raw.byteLength),
        ...(token ? { token } : {}),
      },
    };
  };
}

export function createIngestApp(deps: IngestAppDeps): Hono {
  const allowed = new Set(deps.corsOrigins ?? []);
  const read = deps.readBody ?? ((c: Context, limit: number) => readBody(c.req.raw, limit));
  const handle = createIngestHandler(deps);
  const app = new Hono();

  const fail = (c: Context, status: ErrorStatus, code: string, message: string) =>
    c.json({ error: { code, message } }, status);

  const preflight = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: [...PREFLIGHT.allowMethods],
    allowHeaders: [...PREFLIGHT.allowHeaders],
    // The tracker honours Retry-After on 429/503; a cross-origin page can only read it if exposed.
    exposeHeaders: [EXPOSED_HEADERS],
    // sendBeacon always sends credentials; the allowlist is exact origins, never `*`.
    credentials: true,
    maxAge: PREFLIGHT.maxAge,
  });
  app.use(ROUTES.ingest, (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    // The headers hono's cors() sets on every other request, set before the handler answers:
    // cors() touches c.res first, so hono builds a placeholder undici Response and copies it
    // into the answer — ~10% of the server's CPU per request (node --cpu-prof, P2).
    setCorsHeaders({ setHeader: (name, value) => c.header(name, value) }, c.req.header('origin'), allowed);
    return next();
  });

  app.get(ROUTES.health, (c) => c.json({ ok: true }));

  app.post(ROUTES.ingest, async (c) => {
    const answer = await handle({
      header: (name) => c.req.header(name),
      setHeader: (name, value) => c.header(name, value),
      ip: deps.clientIp?.(c),
      readBody: (limit) => read(c, limit),
    });
    return c.json(answer.body, answer.status);
  });

  app.notFound((c) => fail(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    deps.logger.error('unhandled error', errorFields(err));
    return c.json({ error: { code: 'internal_error', message: 'internal error' } }, 500);
  });
  return app;
}

/** Rejected events described in one answer; `rejected_count` says how many there were in all. */
export const MAX_REJECTED_IN_ANSWER = 50;
/** Errors listed per rejected event; `errors_count` says how many it had. */
export const MAX_ERRORS_PER_REJECTED = 5;
/** Characters of an error's path or message in the answer (the quarantine keeps them whole). */
const MAX_DETAIL_CHARS = 200;
/** Bytes of rejection detail any answer may carry, however small the request. */
const MIN_DETAIL_BUDGET = 2048;

/**
 * The `rejected` part of a 200 answer, bounded: at most MAX_REJECTED_IN_ANSWER events with at
 * most MAX_ERRORS_PER_REJECTED errors each, and no more bytes than the request had (or 2 KiB),
 * so an answer is never a multiple of its request (500 invalid events once got 9.6 MiB for
 * 0.98 MB). Counts say what was left out; the quarantine holds every error.
 */
export function rejectionDetail(
  rejected: RejectedEvent[],
  requestBytes: number,
): { rejected: RejectedDetail[]; rejected_count?: number } {
  const budget = Math.max(requestBytes, MIN_DETAIL_BUDGET);
  const out: RejectedDetail[] = [];
  let bytes = 0;
  for (const r of rejected.slice(0, MAX_REJECTED_IN_ANSWER)) {
    const detail: RejectedDetail = {
      index: r.index,
      event_id: r.event_id,
      errors: r.errors.slice(0, MAX_ERRORS_PER_REJECTED).map((e) => ({
        path: shorten(e.path),
        rule: shorten(e.rule),
        message: shorten(e.message),
      })),
      ...(r.errors.length > MAX_ERRORS_PER_REJECTED ? { errors_count: r.errors.length } : {}),
    };
    bytes += Buffer.byteLength(JSON.stringify(detail)) + 1;
    if (bytes > budget) break;
    out.push(detail);
  }
  return out.length < rejected.length ? { rejected: out, rejected_count: rejected.length } : { rejected: out };
}

export interface RejectedDetail {
  index: number;
  event_id?: string;
  errors: EventError[];
  errors_count?: number;
}

function shorten(s: string): string {
  return s.length <= MAX_DETAIL_CHARS ? s : `${truncateCodePoints(s, MAX_DETAIL_CHARS - 1)}…`;
}

/** The app settings both adapters (Node server, Lambda) take from the configuration. */
export async function depsFromConfig(
  config: Config,
  opts: { now?: () => Date } = {},
): Promise<Pick<IngestAppDeps, 'resolveIdentity' | 'limits' | 'corsOrigins'>> {
  return {
    resolveIdentity: await createIdentityResolver(config, opts),
    limits: {
      maxBodyBytes: config.MAX_BODY_BYTES,
      maxEventBytes: config.MAX_EVENT_BYTES,
      maxEventsPerRequest: config.MAX_EVENTS_PER_REQUEST,
    },
    corsOrigins: parseOrigins(config.CORS_ORIGINS),
  };
}

/** `CORS_ORIGINS`: comma-separated exact origins; `*` is refused (the API sends credentials). */
export function parseOrigins(value: string): string[] {
  const origins = value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    if (o === '*' || !/^https?:\/\/[^/\s]+$/.test(o)) {
      throw new Error(`CORS_ORIGINS: ${JSON.stringify(o)} is not an origin like https://shop.example (no * allowed)`);
    }
  }
  return origins;
}

/** The body bytes, or 'too_large' as soon as more than `limit` bytes arrived (never buffers more). */
async function readBody(req: Request, limit: number): Promise<Uint8Array | 'too_large'> {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) return 'too_large';
  if (!req.body) return new Uint8Array();
  if (Number.isFinite(declared)) {
    const whole = new Uint8Array(await req.arrayBuffer());
    return whole.byteLength > limit ? 'too_large' : whole;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return 'too_large';
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
