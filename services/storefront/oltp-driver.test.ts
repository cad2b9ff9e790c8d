/**
 * The OLTP driver seam: configuration selects the RDS Data API, a PostgreSQL URL or PGlite, and
 * the Data API driver sends the shop's SQL with the cluster, secret and database. No Data API is
 * reachable from here, so its endpoint is a local HTTP server recording what the real AWS SDK
 * client sends (the only stand-in, for a service that cannot run locally).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { openOltp } from './db/open.ts';
import { oltpOptions } from './server.ts';

const CLUSTER = 'arn:aws:rds:eu-west-1:123456789012:cluster:clickstream-oltp';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:oltp-AbCdEf';

describe('OLTP driver selection', () => {
  it("picks the Data API (in the cluster's region) when its ARNs are set, else the URL, else PGlite", () => {
    expect(
      oltpOptions(
        loadConfig({ OLTP_DATA_API_RESOURCE_ARN: CLUSTER, OLTP_DATA_API_SECRET_ARN: SECRET, AWS_REGION: 'us-east-1' }),
      ),
    ).toEqual({ dataApi: { resourceArn: CLUSTER, secretArn: SECRET, database: 'shop', region: 'eu-west-1' } });
    expect(oltpOptions(loadConfig({ OLTP_DATABASE_URL: 'postgres://u@h/shop' }))).toEqual({
      databaseUrl: 'postgres://u@h/shop',
    });
    expect(oltpOptions(loadConfig({ DATA_DIR: '/tmp/d' }))).toEqual({ pgliteDir: path.resolve('/tmp/d', 'oltp') });
  });

  it('refuses half a Data API configuration, both drivers at once, and malformed ARNs', () => {
    expect(() => loadConfig({ OLTP_DATA_API_RESOURCE_ARN: CLUSTER })).toThrow(/set both \(RDS Data API\) or neither/);
    expect(() =>
      loadConfig({
        OLTP_DATA_API_RESOURCE_ARN: CLUSTER,
        OLTP_DATA_API_SECRET_ARN: SECRET,
        OLTP_DATABASE_URL: 'postgres://u@h/shop',
      }),
    ).toThrow(/OLTP_DATABASE_URL: set it or the OLTP_DATA_API_\* variables, not both/);
    expect(() =>
      loadConfig({ OLTP_DATA_API_RESOURCE_ARN: 'arn:aws:rds:eu-west-1:123:db:x', OLTP_DATA_API_SECRET_ARN: SECRET }),
    ).toThrow(ConfigError);
    expect(() => loadConfig({ OLTP_DATA_API_DATABASE: 'Shop-DB' })).toThrow(/OLTP_DATA_API_DATABASE/);
  });
});

describe('the Data API driver', () => {
  const requests: { path: string; body: Record<string, unknown> }[] = [];
  let server: ReturnType<typeof createServer>;
  let endpoint: string;
  const read = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return JSON.parse(text || '{}');
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await read(req);
      requests.push({ path: req.url ?? '', body });
      res.setHeader('content-type', 'application/json');
      if (String(body.sql ?? '').startsWith('CREATE SCHEMA')) {
        // What the Data API answers a refused statement with (HTTP 400, BadRequestException).
        res.statusCode = 400;
        res.setHeader('x-amzn-errortype', 'BadRequestException');
        res.end(JSON.stringify({ message: 'ERROR: permission denied for database shop' }));
        return;
      }
      res.end(
        JSON.stringify({
          columnMetadata: [{ name: 'n', label: 'n', typeName: 'int4' }],
          records: [[{ longValue: 42 }]],
          numberOfRecordsUpdated: 0,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends each statement to ExecuteStatement with the cluster, secret and database', async () => {
    const client = new RDSDataClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const oltp = await openOltp({ dataApi: { resourceArn: CLUSTER, secretArn: SECRET, database: 'shop', client } });
    expect(oltp.kind).toBe('data-api');
    expect(oltp.location).toBe(`${CLUSTER}/shop`);
    const result = await oltp.db.execute(sql`select ${42}::int as n`);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.path).toBe('/Execute');
    expect(requests[0]!.body).toMatchObject({
      resourceArn: CLUSTER,
      secretArn: SECRET,
      database: 'shop',
      sql: 'select :1::int as n',
      parameters: [{ name: '1', value: { longValue: 42 } }],
    });
    expect(JSON.stringify(result)).toContain('42');
    await oltp.close();
  });

  it('reports a failed migration once, with its own error, and does not retry it', async () => {
    requests.length = 0;
    const client = new RDSDataClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const oltp = await openOltp({ dataApi: { resourceArn: CLUSTER, secretArn: SECRET, database: 'shop', client } });
    const failure = await oltp.migrate().then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(`${failure?.message} ${(failure?.cause as Error | undefined)?.message}`).toMatch(
      /permission denied for database shop/,
    );
    expect(requests.filter((r) => String(r.body.sql).startsWith('CREATE SCHEMA'))).toHaveLength(1);
    await oltp.close();
  });
});
