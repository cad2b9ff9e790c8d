/**
 * The deploy-time OLTP function's two seams with AWS: the custom resource protocol (its response
 * PUT to a real local HTTP server standing in for CloudFormation's pre-signed S3 URL) and the
 * Data API adapter of the role statements (the real SDK client against a local HTTP server
 * recording what it sends; no Data API runs locally). The SQL itself is tested on real
 * PostgreSQL in shop-role.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSetupHandler, dataApiQueryable } from './oltp-setup.ts';

const CLUSTER = 'arn:aws:rds:eu-west-1:123456789012:cluster:clickstream-oltp';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:oltp-admin-AbCdEf';

interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const requests: Recorded[] = [];
let reply: (r: Recorded) => { status: number; body: string } = () => ({ status: 200, body: '' });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
    requests.push(recorded);
    const { status, body: out } = reply(recorded);
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  requests.length = 0;
  reply = () => ({ status: 200, body: '' });
});

const event = (RequestType: 'Create' | 'Update' | 'Delete') => ({
  RequestType,
  ResponseURL: `${base}/cfn-response?X-Amz-Signature=abc`,
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Clickstream/1',
  RequestId: 'req-1',
  LogicalResourceId: 'OltpSetupResource',
});

describe('the OLTP setup custom resource', () => {
  it('runs on Create and Update and reports SUCCESS with the role to the response URL', async () => {
    let runs = 0;
    const handler = createSetupHandler(async () => {
      runs++;
      return { role: 'shop_app' };
    });
    await handler(event('Create'));
    await handler({ ...event('Update'), PhysicalResourceId: 'oltp-setup' });
    expect(runs).toBe(2);
    expect(requests.map((r) => [r.method, r.path])).toEqual([
      ['PUT', '/cfn-response?X-Amz-Signature=abc'],
      ['PUT', '/cfn-response?X-Amz-Signature=abc'],
    ]);
    expect(requests[0]!.headers['content-type']).toBe('');
    expect(JSON.parse(requests[0]!.body)).toEqual({
      Status: 'SUCCESS',
      Data: { role: 'shop_app' },
      PhysicalResourceId: 'oltp-setup',
      StackId: event('Create').StackId,
      RequestId: 'req-1',
      LogicalResourceId: 'OltpSetupResource',
    });
  });

  it('reports a failure as FAILED with its message, and does nothing on Delete', async () => {
    let runs = 0;
    const failing = createSetupHandler(async () => {
      runs++;
      throw new Error('relation "shop.products" already exists');
    });
    await failing(event('Create'));
    expect(JSON.parse(requests[0]!.body)).toMatchObject({
      Status: 'FAILED',
      Reason: 'oltp setup: relation "shop.products" already exists',
    });
    await failing({ ...event('Delete'), PhysicalResourceId: 'oltp-setup' });
    expect(runs).toBe(1);
    expect(JSON.parse(requests[1]!.body)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'oltp-setup' });
  });

  it('answers FAILED at its deadline instead of letting Lambda time out without an answer', async () => {
    const hanging = createSetupHandler(() => new Promise(() => {}), { deadlineMs: 50 });
    await hanging(event('Create'));
    expect(JSON.parse(requests[0]!.body)).toMatchObject({
      Status: 'FAILED',
      Reason: 'oltp setup: not done after 0.05 s',
    });
  });

  it('runs and returns its result when invoked by hand (no ResponseURL), and fails when the response is refused', async () => {
    const handler = createSetupHandler(async () => ({ role: 'shop_app' }));
    expect(await handler({})).toEqual({ role: 'shop_app' });
    expect(requests).toHaveLength(0);
    reply = () => ({ status: 403, body: '<Error>SignatureDoesNotMatch</Error>' });
    await expect(handler(event('Create'))).rejects.toThrow(/HTTP 403/);
  });
});

describe('the Data API adapter of the role statements', () => {
  it('sends $n parameters as named text parameters and reads the JSON rows', async () => {
    reply = () => ({
      status: 200,
      body: JSON.stringify({ formattedRecords: '[{"sql":"CREATE ROLE \\"shop_app\\""}]' }),
    });
    const client = new RDSDataClient({
      endpoint: base,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const db = dataApiQueryable(client, { resourceArn: CLUSTER, secretArn: SECRET, database: 'shop' });
    const rows = await db.query('SELECT format($1::text, $2::text) AS sql', ['CREATE ROLE %I', 'shop_app']);
    expect(rows).toEqual([{ sql: 'CREATE ROLE "shop_app"' }]);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.path).toBe('/Execute');
    expect(JSON.parse(requests[0]!.body)).toEqual({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: 'shop',
      sql: 'SELECT format(:p1::text, :p2::text) AS sql',
      parameters: [
        { name: 'p1', value: { stringValue: 'CREATE ROLE %I' } },
        { name: 'p2', value: { stringValue: 'shop_app' } },
      ],
      formatRecordsAs: 'JSON',
    });
    reply = () => ({ status: 200, body: JSON.stringify({ numberOfRecordsUpdated: 0 }) });
    expect(await db.query('CREATE ROLE "shop_app" LOGIN')).toEqual([]);
    client.destroy();
  });
});
