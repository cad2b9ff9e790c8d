/**
 * Slow, broken and numerous clients against the real Node server (`ingest serve`) over raw TCP:
 * header and body timeouts of seconds, keep-alive idle timeout, the connection cap, and the JSON
 * error body on every reject Node's HTTP parser makes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { SAMPLE_TIME, sampleBatch } from './sample-events.ts';
import { type IngestServer, startIngestServer } from './server.ts';

let server: IngestServer;
let lakeDir: string;
let port: number;

function start(maxConnections: number): Promise<IngestServer> {
  const config = {
    ...loadConfig({
      LAKE_URL: pathToFileURL(lakeDir).href,
      INGEST_HEADERS_TIMEOUT_SECONDS: '1',
      INGEST_BODY_TIMEOUT_SECONDS: '2',
      INGEST_IDLE_TIMEOUT_SECONDS: '1',
      INGEST_MAX_CONNECTIONS: String(maxConnections),
    }),
    PORT: 0,
  };
  return startIngestServer({
    config,
    now: () => new Date(SAMPLE_TIME.getTime() + 5000),
    logger: createLogger('error'),
  });
}

beforeAll(async () => {
  lakeDir = await mkdtemp(path.join(os.tmpdir(), 'slow-clients-'));
  server = await start(50);
  port = server.port;
});
afterAll(async () => {
  await server.close();
  await rm(lakeDir, { recursive: true, force: true });
});

interface Exchange {
  socket: Socket;
  /** Everything the server sent until it closed the connection, and when it closed (ms after open). */
  closed: Promise<{ response: string; ms: number }>;
}

async function open(to = port): Promise<Exchange> {
  const socket = connect(to, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const opened = performance.now();
  let response = '';
  socket.on('data', (d) => {
    response += d.toString();
  });
  socket.on('error', () => {});
  const closed = new Promise<{ response: string; ms: number }>((resolve) =>
    socket.once('close', () => resolve({ response, ms: performance.now() - opened })),
  );
  return { socket, closed };
}

function parse(response: string): { status: number; json: unknown } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), json: body ? JSON.parse(body) : undefined };
}

const errorBody = (code: string) => ({ error: { code, message: expect.any(String) } });

describe('ingest serve against slow and broken clients', () => {
  it.concurrent('answers headers that never finish with 408 JSON after the header timeout', async () => {
    const c = await open();
    c.socket.write('POST /clickstream HTTP/1.1\r\nHost: x\r\nContent-Type: appl');
    const { response, ms } = await c.closed;
    expect(parse(response)).toEqual({ status: 408, json: errorBody('request_timeout') });
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(4000);
  });

  it.concurrent('answers a body trickling at a few bytes a second with 408 JSON after the body timeout', async () => {
    const c = await open();
    c.socket.write(
      'POST /clickstream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    const trickle = setInterval(() => c.socket.writable && c.socket.write('{'), 200);
    const { response, ms } = await c.closed;
    clearInterval(trickle);
    expect(parse(response)).toEqual({ status: 408, json: errorBody('request_timeout') });
    expect(ms).toBeGreaterThan(1900);
    expect(ms).toBeLessThan(5000);
  });

  it.concurrent.each([
    ['bad framing', 'GARBAGE / NOTHTTP\r\n\r\n', 400, 'bad_request'],
    [
      'a conflicting Content-Length',
      'POST /clickstream HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      400,
      'bad_request',
    ],
    [
      'headers over 16 KiB',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
  ])('answers %s with JSON', async (_, request, status, code) => {
    const c = await open();
    c.socket.write(request);
    const { response } = await c.closed;
    expect(parse(response)).toEqual({ status, json: errorBody(code) });
  });

  it.concurrent('answers a body cut short by the client closing its side with 400 JSON', async () => {
    const c = await open();
    c.socket.end(
      'POST /clickstream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"se',
    );
    const { response } = await c.closed;
    expect(parse(response).status).toBeGreaterThanOrEqual(400);
    expect(parse(response).json).toMatchObject({ error: { code: expect.any(String) } });
  });
});

describe('ingest serve connections', () => {
  it('closes an idle keep-alive connection after the idle timeout', async () => {
    const c = await open();
    const body = JSON.stringify(sampleBatch(1, SAMPLE_TIME));
    c.socket.write(
      `POST /clickstream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const { response, ms } = await c.closed;
    expect(response).toMatch(/^HTTP\/1.1 200/);
    expect(response).toContain('"accepted":1');
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(4000);
  });

  it('accepts at most INGEST_MAX_CONNECTIONS connections at once; the next is closed at once', async () => {
    const capped = await start(3);
    const held = await Promise.all([open(capped.port), open(capped.port), open(capped.port)]);
    for (const c of held) c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // unfinished: stays open
    await new Promise((r) => setTimeout(r, 100));
    const extra = await open(capped.port);
    extra.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const { response, ms } = await extra.closed;
    expect(response).toBe('');
    expect(ms).toBeLessThan(900); // dropped, not timed out
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${capped.url}/health`);
    expect(await res.json()).toEqual({ ok: true });
    await capped.close();
  });
});
