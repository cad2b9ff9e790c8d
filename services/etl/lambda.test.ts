import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { FileRawStore } from '../lake/file-store.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { alertOnFailure } from './alert.ts';
import { createHandler, InvalidPayloadError, planInvocation } from './lambda.ts';
import { sampleEvents, writeSampleLake } from './sample-lake.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

describe('lambda payloads', () => {
  it('runs the scheduled event with look-back and manual payloads for an hour, a day or a range', () => {
    expect(
      planInvocation({ source: 'aws.events', 'detail-type': 'Scheduled Event', time: '2026-11-20T10:00:00Z' }),
    ).toEqual({ trigger: 'schedule' });
    expect(planInvocation({ hour: '2026-11-20T10:42:00Z' })).toEqual({
      trigger: 'manual',
      window: { start: new Date('2026-11-20T10:00:00Z'), end: new Date('2026-11-20T11:00:00Z') },
    });
    expect(planInvocation({ day: '2026-11-20' }).window).toEqual({
      start: new Date('2026-11-20T00:00:00Z'),
      end: new Date('2026-11-21T00:00:00Z'),
    });
    expect(planInvocation({ targetUtcHour: '2026-11-20T10:00:00Z', scope: 'day' }).window?.start).toEqual(
      new Date('2026-11-20T00:00:00Z'),
    );
    expect(planInvocation({ from: '2026-11-01', to: '2026-11-03' })).toMatchObject({ trigger: 'backfill' });
  });

  it('refuses a payload it does not understand, naming the accepted shapes', () => {
    expect(() => planInvocation({ hour: 'yesterday' })).toThrow(InvalidPayloadError);
    expect(() => planInvocation({ from: '2026-11-03', to: '2026-11-01' })).toThrow('from must be before to');
    expect(() => planInvocation({ scope: 'day' })).toThrow(/Scheduled Event or one of/);
  });
});

describe('lambda handler on embedded PGlite', () => {
  let lakeDir: string;
  let warehouse: Warehouse;
  let sns: Server;
  const published: string[] = [];

  beforeAll(async () => {
    lakeDir = await mkdtemp(path.join(os.tmpdir(), 'etl-lambda-'));
    warehouse = await openWarehouse({ pgliteDir: 'memory://' });
    await warehouse.migrate();
    // No SNS emulator is installed: a loopback endpoint records the Publish call the SDK makes.
    sns = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        published.push(body);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>',
        );
      });
    });
    await new Promise<void>((r) => sns.listen(0, '127.0.0.1', r));
  });
  const recorderClient = () =>
    new SNSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(sns.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  afterAll(async () => {
    await warehouse.close();
    await new Promise((r) => sns.close(r));
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('loads the requested day and prints EMF metrics; a failed run alerts and fails the invocation', async () => {
    const store = new FileRawStore(lakeDir);
    await writeSampleLake(store, sampleEvents(120, { start: new Date('2026-11-20T20:00:00Z'), spanHours: 8 }), 30);
    const lines: string[] = [];
    const config = loadConfig({ DATA_DIR: lakeDir, ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:etl-alerts' });
    const handler = createHandler({
      config,
      open: async () => ({ warehouse, store }),
      write: (l) => lines.push(l),
      sns: recorderClient(),
    });

    const out = await handler({ day: '2026-11-20' });
    expect(out).toMatchObject({ status: 'succeeded', trigger: 'manual', rows_inserted: 60 });
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => '_aws' in l);
    expect(emf).toMatchObject({ Trigger: 'manual', RowsInserted: 60, Failed: 0 });
    expect(JSON.stringify(emf?._aws)).toContain('Clickstream/ETL');

    // An S3 error on every GET (a fault s3rver cannot produce on demand).
    const broken: RawStore = {
      url: store.url,
      list: (p) => store.list(p),
      put: (k, b) => store.put(k, b),
      delete: (k) => store.delete(k),
      get: async () => {
        throw new Error('AccessDenied: injected');
      },
    };
    const failing = createHandler({
      config,
      open: async () => ({ warehouse, store: broken }),
      write: (l) => lines.push(l),
      sns: recorderClient(),
    });
    const before = published.length;
    await expect(failing({ day: '2026-11-21' })).rejects.toThrow(/AccessDenied/);
    expect(published.length).toBe(before + 1);
    expect(new URLSearchParams(published.at(-1)).get('TopicArn')).toBe(config.ALERT_TOPIC_ARN);
    const failedEmf = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => '_aws' in l)
      .at(-1);
    expect(failedEmf).toMatchObject({ Failed: 1, status: 'failed' });
    const failLog = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'etl run failed');
    expect(failLog).toMatchObject({ level: 'error', status: 'failed' });
  });

  it('publishes a failed run summary to the alert topic', async () => {
    const client = recorderClient();
    const failed = {
      status: 'failed' as const,
      runId: 'r-1',
      trigger: 'schedule' as const,
      objects: 1,
      lines: 10,
      rowsInserted: 10,
      rowsUpdated: 0,
      duplicates: 0,
      quarantined: 0,
      alreadyDone: 0,
      skipped: 0,
      skippedKeys: [],
      daysTouched: [],
      durationMs: 5,
      error: 'get events/x failed after 4 attempts',
    };
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:etl-alerts';
    expect(await alertOnFailure(failed, { topicArn, region: 'us-east-1', client })).toBe(true);
    const params = new URLSearchParams(published.at(-1));
    expect(params.get('Action')).toBe('Publish');
    expect(params.get('TopicArn')).toBe(topicArn);
    expect(JSON.parse(params.get('Message') ?? '{}')).toMatchObject({ run_id: 'r-1', status: 'failed' });
    expect(await alertOnFailure({ ...failed, status: 'succeeded' }, { topicArn, region: 'us-east-1', client })).toBe(
      false,
    );
  });
});
