/**
 * The ingest API for API Gateway HTTP API (payload 2.0) events without a web framework: the same
 * routes, status codes, headers and bodies as the Hono app behind hono's Lambda adapter, built
 * without the Fetch API's `Request`/`Response`/`Headers`. Those live in undici, which Node loads
 * on first use; in a Lambda cold start that load was ≈ 20 ms (P5, docs/ingest.md). POST
 * /clickstream is app.ts's createIngestHandler; what hono added around it is written out here:
 *
 *   OPTIONS /clickstream  → 204, hono cors() preflight headers
 *   POST /clickstream     → the handler's answer, CORS headers of setCorsHeaders
 *   GET|HEAD /health      → 200 { ok: true } (HEAD: empty body)
 *   anything else         → 404 not_found (CORS headers on /clickstream); a thrown error → 500
 *   an event Request() would refuse (bad header, URL or method) → 400 "Invalid request" (text)
 *
 * Header names are answered lower-case and sorted, as hono's adapter reads them from `Headers`.
 * apigw.test.ts runs both adapters on the same events and compares the results.
 */
import { getPath } from 'hono/utils/url';
import { errorFields } from '../log.ts';
import {
  createIngestHandler,
  EXPOSED_HEADERS,
  type IngestDeps,
  type IngestExchange,
  PREFLIGHT,
  ROUTES,
  setCorsHeaders,
} from './app.ts';

/** The parts of an API Gateway HTTP API v2 event the adapter reads. */
export interface ApiGatewayV2Event {
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { domainName?: string; http: { method: string; sourceIp?: string } };
}

export interface LambdaResult {
  body: string;
  statusCode: number;
  isBase64Encoded: boolean;
  headers: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NON_ASCII = /[\u0080-\uffff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what Headers refuses in a value.
const FORBIDDEN_IN_VALUE = /[\u0000\r\n]/;
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain;charset=UTF-8';

/** What `new Request()` refuses; hono's adapter answers those 400 "Invalid request". */
class InvalidRequest extends Error {}

/** Answer headers as `Headers` keeps them: lower-case names, `append` joins with ", ". */
class AnswerHeaders {
  private readonly map = new Map<string, string>();
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const old = this.map.get(key);
    this.map.set(key, old === undefined ? value : `${old}, ${value}`);
  }
  /** Sorted by name, as Headers iterates. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of [...this.map.keys()].sort()) out[name] = this.map.get(name)!;
    return out;
  }
}

/** The request as `new Request()` would normalise it, or InvalidRequest. */
function parseRequest(event: ApiGatewayV2Event) {
  const headers = new Map<string, string>();
  if (Array.isArray(event.cookies)) headers.set('cookie', event.cookies.join('; '));
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (!value) continue;
    // hono's adapter percent-encodes non-ASCII values (encodeURIComponent throws on a lone surrogate).
    const sanitised = NON_ASCII.test(value) ? encodeURIComponent(value) : value;
    const normalised = sanitised.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
    if (!TOKEN.test(name) || FORBIDDEN_IN_VALUE.test(normalised)) throw new InvalidRequest(`header ${name}`);
    headers.set(name.toLowerCase(), normalised);
  }
  // In the order hono's adapter and `new Request()` check: body decoding, URL, method, GET body.
  const body = event.body
    ? event.isBase64Encoded
      ? decodeBase64(event.body)
      : Buffer.from(event.body, 'utf8')
    : undefined;
  if (body) headers.set('content-length', String(body.length));
  const domain =
    event.requestContext && 'domainName' in event.requestContext
      ? event.requestContext.domainName
      : headers.get('host');
  const query = event.rawQueryString;
  let url: URL;
  try {
    url = new URL(`https://${domain}${event.rawPath}${query ? `?${query}` : ''}`);
  } catch {
    throw new InvalidRequest('url');
  }
  let method = event.requestContext.http.method;
  if (!TOKEN.test(method) || FORBIDDEN_METHODS.has(method.toUpperCase())) throw new InvalidRequest('method');
  if (NORMALISED_METHODS.has(method.toUpperCase())) method = method.toUpperCase();
  if (body && (method === 'GET' || method === 'HEAD')) throw new InvalidRequest('body on GET/HEAD');
  return { method, path: getPath({ url: url.href } as Request), headers, body };
}

/** hono's decodeBase64: `atob`, so what it refuses (a DOMException) is a 500 there too. */
function decodeBase64(text: string): Uint8Array {
  return Buffer.from(atob(text), 'latin1');
}

export function createApiGatewayHandler(
  deps: IngestDeps & { clientIp?: (event: ApiGatewayV2Event) => string | undefined },
): (event: ApiGatewayV2Event) => Promise<LambdaResult> {
  const allowed = new Set(deps.corsOrigins ?? []);
  const handle = createIngestHandler(deps);

  const result = (status: number, headers: AnswerHeaders, body: string, type?: string): LambdaResult => {
    if (type) headers.set('content-type', type);
    return { body, statusCode: status, isBase64Encoded: false, headers: headers.toObject() };
  };
  const json = (status: number, headers: AnswerHeaders, value: unknown, head = false) =>
    result(status, headers, head ? '' : JSON.stringify(value), JSON_TYPE);

  return async (event) => {
    let request: ReturnType<typeof parseRequest>;
    try {
      request = parseRequest(event);
    } catch (err) {
      console.error('Error processing request:', err);
      const invalid = err instanceof InvalidRequest;
      return result(
        invalid ? 400 : 500,
        new AnswerHeaders(),
        invalid ? 'Invalid request' : 'Internal Server Error',
        TEXT_TYPE,
      );
    }
    const { method, path, headers: requestHeaders } = request;
    const headers = new AnswerHeaders();
    const head = method === 'HEAD';
    const notFound = () =>
      json(404, headers, { error: { code: 'not_found', message: `no route ${method} ${path}` } }, head);
    const origin = requestHeaders.get('origin');
    try {
      if (route(path, ROUTES.ingest)) {
        if (method === 'OPTIONS') return preflight(origin ?? '', allowed);
        setCorsHeaders({ setHeader: (name, value) => headers.set(name, value) }, origin, allowed);
        if (method !== 'POST') return notFound();
        const x: IngestExchange = {
          header: (name) => requestHeaders.get(name.toLowerCase()),
          setHeader: (name, value) => headers.set(name, value),
          ip: deps.clientIp?.(event),
          readBody: async (limit) => {
            const body = request.body ?? new Uint8Array();
            return body.byteLength > limit ? 'too_large' : body;
          },
        };
        const answer = await handle(x);
        return json(answer.status, headers, answer.body);
      }
      if (route(path, ROUTES.health) && (method === 'GET' || head)) return json(200, headers, { ok: true }, head);
      return notFound();
    } catch (err) {
      deps.logger.error('unhandled error', errorFields(err));
      return json(500, headers, { error: { code: 'internal_error', message: 'internal error' } }, head);
    }
  };
}

/** hono's PatternRouter matches a route with or without one trailing slash. */
const route = (path: string, name: string) => path === name || path === `${name}/`;

/** hono cors()'s preflight answer with the app's settings (app.ts PREFLIGHT). */
function preflight(origin: string, allowed: Set<string>): LambdaResult {
  const headers = new AnswerHeaders();
  if (allowed.has(origin)) headers.set('Access-Control-Allow-Origin', origin);
  headers.set('Access-Control-Allow-Credentials', 'true');
  headers.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  headers.append('Vary', 'Origin');
  headers.set('Access-Control-Max-Age', String(PREFLIGHT.maxAge));
  headers.set('Access-Control-Allow-Methods', PREFLIGHT.allowMethods.join(','));
  headers.set('Access-Control-Allow-Headers', PREFLIGHT.allowHeaders.join(','));
  headers.append('Vary', 'Access-Control-Request-Headers');
  return { body: '', statusCode: 204, isBase64Encoded: false, headers: headers.toObject() };
}
