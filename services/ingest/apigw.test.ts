/**
 * The framework-free API Gateway adapter (apigw.ts) answers every event exactly as the Hono app
 * behind hono's Lambda adapter does: the shipped API Gateway fixtures and generated variants
 * (methods, paths, origins, content types and encodings, header values, base64 or not, identity
 * failures) go through both, and the results — status, headers, body, isBase64Encoded — must be equal.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { handle } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileRawStore } from '../lake/file-store.ts';
import { createLogger } from '../log.ts';
import { type ApiGatewayV2Event, createApiGatewayHandler } from './apigw.ts';
import { createIngestApp, type IngestDeps } from './app.ts';
import { GUEST } from './core.ts';
import { LakeWriter } from './lake-writer.ts';
import { SAMPLE_TIME, sampleBatch } from './sample-events.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures/apigw-v2');
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as ApiGatewayV2Event;
const NAMES = ['post-beacon-text-plain', 'post-json-gzip-base64', 'options-preflight', 'post-wrong-content-type'];

let dir: string;
let viaHono: (event: unknown) => Promise<unknown>;
let direct: (event: ApiGatewayV2Event) => Promise<unknown>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'apigw-'));
  const deps = (): IngestDeps => ({
    writer: new LakeWriter(new FileRawStore(dir)),
    logger: createLogger('error', () => {}),
    resolveIdentity: async (authorization) => {
      if (authorization === 'Bearer boom') throw new Error('identity provider down');
      return { identity: GUEST };
    },
    corsOrigins: ['https://shop.example'],
    limits: { maxBodyBytes: 4096, maxEventBytes: 2048, maxEventsPerRequest: 10 },
    now: () => new Date(SAMPLE_TIME.getTime() + 5000),
  });
  const app = createIngestApp({
    ...deps(),
    clientIp: (c) => (c.env as { requestContext?: { http?: { sourceIp?: string } } }).requestContext?.http?.sourceIp,
  });
  viaHono = handle(app) as unknown as (event: unknown) => Promise<unknown>;
  direct = createApiGatewayHandler({ ...deps(), clientIp: (event) => event.requestContext.http.sourceIp });
  // Both adapters log refused events to the console the same way.
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function expectSame(event: ApiGatewayV2Event): Promise<void> {
  const expected = await viaHono(structuredClone(event));
  const actual = await direct(structuredClone(event));
  expect(actual, JSON.stringify(event).slice(0, 400)).toEqual(expected);
}

describe('API Gateway adapter without Fetch objects', () => {
  it('answers the shipped API Gateway events as the Hono app does', async () => {
    for (const name of NAMES) await expectSame(fixture(name));
  });

  it('answers generated events as the Hono app does', async () => {
    const base = fixture('post-beacon-text-plain');
    const body = JSON.stringify(sampleBatch(2));
    const header = fc.option(
      fc.constantFrom(
        'https://shop.example',
        'https://evil.example',
        ' https://shop.example ',
        'https://shöp.example',
        '',
      ),
      { nil: undefined },
    );
    const event = fc
      .record({
        method: fc.constantFrom(
          'POST',
          'GET',
          'HEAD',
          'OPTIONS',
          'PUT',
          'post',
          'patch',
          'DELETE',
          'TRACE',
          'BAD METHOD',
        ),
        rawPath: fc.constantFrom(
          '/clickstream',
          '/health',
          '/clickstream/',
          '/nope',
          '/click%73tream',
          '/a/../health',
          '/%zz',
          '/Clickstream',
        ),
        rawQueryString: fc.constantFrom('', 'a=1', 'x=%zz'),
        origin: header,
        contentType: fc.option(
          fc.constantFrom(
            'application/json',
            'text/plain;charset=UTF-8',
            'TEXT/PLAIN',
            'application/xml',
            ' application/json ',
          ),
          { nil: undefined },
        ),
        encoding: fc.option(fc.constantFrom('gzip', 'identity', 'br', ' GZIP'), { nil: undefined }),
        authorization: fc.option(fc.constantFrom('Bearer boom', 'Bearer x'), { nil: undefined }),
        userAgent: fc.option(fc.constantFrom('UA/1.0', 'Ünïcode/2', '  padded  ', 'bad\nvalue'), { nil: undefined }),
        payload: fc.constantFrom('batch', 'gzip', 'empty', 'not-json', 'too-large', 'bad-base64', 'absent'),
        base64: fc.boolean(),
      })
      .map((v): ApiGatewayV2Event => {
        const headers: Record<string, string | undefined> = { host: base.headers!.host };
        if (v.origin !== undefined) headers.origin = v.origin;
        if (v.contentType !== undefined) headers['content-type'] = v.contentType;
        if (v.encoding !== undefined) headers['content-encoding'] = v.encoding;
        if (v.authorization !== undefined) headers.authorization = v.authorization;
        if (v.userAgent !== undefined) headers['user-agent'] = v.userAgent;
        const bytes =
          v.payload === 'batch'
            ? Buffer.from(body)
            : v.payload === 'gzip'
              ? gzipSync(body)
              : v.payload === 'not-json'
                ? Buffer.from('{"sent_at":')
                : v.payload === 'too-large'
                  ? Buffer.alloc(5000, 0x20)
                  : Buffer.alloc(0);
        const text = v.base64 ? bytes.toString('base64') : bytes.toString('latin1');
        return {
          rawPath: v.rawPath,
          rawQueryString: v.rawQueryString,
          headers,
          requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method: v.method } },
          ...(v.payload === 'absent' ? {} : { body: v.payload === 'bad-base64' ? '%%%' : text }),
          isBase64Encoded: v.base64,
        };
      });
    await fc.assert(
      fc.asyncProperty(event, (e) => expectSame(e)),
      { seed: 20261201, numRuns: 400 },
    );
  });
});
