/**
 * The Lambda bundles the stack deploys, built by the real CDK bundling (local esbuild), loaded in
 * this process with the environment the template gives each function. Catches what template
 * assertions cannot: a bundle that fails to load, or env values the services' config rejects.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../services/config.ts';
import { buildApp } from './app.ts';
import { oltpMigrationsHash } from './flows/oltp-setup.ts';
import { CDK_CONTEXT } from './test-app.ts';

// Inside the repository so the bundles resolve the `@aws-sdk/*` the Lambda runtime would provide.
const OUTDIR = path.join(import.meta.dirname, 'cdk.out', `bundle-test-${process.pid}`);
const FIXTURES = path.join(import.meta.dirname, '../services/ingest/fixtures/apigw-v2');

type Env = Record<string, string>;
// biome-ignore lint/suspicious/noExplicitAny: recorded AWS API request bodies are untyped JSON.
type Json = any;
let functions: Record<'ingest' | 'etl' | 'oltpSetup', { bundle: string; env: Env }>;

/** Stand-ins for the values CloudFormation resolves at deploy time, by variable. */
const DEPLOY_TIME: Env = {
  LAKE_URL: 's3://clickstream-raw-lake-test',
  DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:wh-AbCdEf',
  DASHBOARD_READER_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reader-AbCdEf',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
  CORS_ORIGINS: 'https://shop.example,https://main.d1a2b3c4d5e6f7.amplifyapp.com',
  COGNITO_USER_POOL_ID: 'eu-west-1_AbCdEfGhI',
  COGNITO_CLIENT_ID: '3n4b5urk1ft4fl3mg5e62d9ado',
  OLTP_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:clickstream-oltp',
  OLTP_ADMIN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:oltp-AbCdEf',
  SHOP_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf',
};

function concreteEnv(variables: Record<string, unknown>): Env {
  return Object.fromEntries(
    Object.entries(variables).map(([name, v]) => {
      if (typeof v === 'string') return [name, v];
      if (!(name in DEPLOY_TIME)) throw new Error(`no stand-in for ${name}=${JSON.stringify(v)}`);
      return [name, DEPLOY_TIME[name]!];
    }),
  );
}

beforeAll(() => {
  const { app, stack } = buildApp(
    new App({
      context: { ...CDK_CONTEXT, 'clickstream:corsOrigins': 'https://shop.example' },
      outdir: OUTDIR,
      builtinCloudFormationValidation: false,
    }),
  );
  app.synth();
  const resources = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const pick = (part: string) => {
    const [, fn] = Object.entries(resources).find(([id]) => id.startsWith(part))!;
    const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
    return {
      bundle: path.join(OUTDIR, `asset.${hash}`, 'index.mjs'),
      env: concreteEnv(fn.Properties.Environment.Variables),
    };
  };
  functions = {
    ingest: pick('IngestFunction'),
    etl: pick('EtlFunction'),
    oltpSetup: pick('StorefrontOltpSetupFunction'),
  };
}, 60_000);

const savedEnv = { ...process.env };
afterAll(() => {
  process.env = savedEnv;
  rmSync(OUTDIR, { recursive: true, force: true });
});

describe('deployed Lambda bundles', () => {
  it('gives both functions an environment the services config accepts', () => {
    expect(loadConfig(functions.ingest.env)).toMatchObject({
      LAKE_URL: 's3://clickstream-raw-lake-test',
      COGNITO_USER_POOL_ID: 'eu-west-1_AbCdEfGhI',
      // The configured origin and the shop's Amplify origin.
      CORS_ORIGINS: 'https://shop.example,https://main.d1a2b3c4d5e6f7.amplifyapp.com',
    });
    expect(loadConfig(functions.etl.env)).toMatchObject({
      LAKE_URL: 's3://clickstream-raw-lake-test',
      ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      ETL_LOOKBACK_HOURS: 24,
    });
  });

  it('the ingest bundle starts with its environment and answers API Gateway v2 events', async () => {
    Object.assign(process.env, functions.ingest.env, { AWS_REGION: 'eu-west-1' });
    const { handler } = await import(pathToFileURL(functions.ingest.bundle).href);
    const event = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

    const preflight = await handler(event('options-preflight.json'), {});
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://shop.example');

    const wrongType = await handler(event('post-wrong-content-type.json'), {});
    expect(wrongType.statusCode).toBe(415);
  });

  it('the ETL bundle loads and exports the rotating handler', async () => {
    const etl = await import(pathToFileURL(functions.etl.bundle).href);
    expect(typeof etl.handler).toBe('function');
  });

  it('the OLTP setup bundle loads, and ships migrations/oltp/ where its migrator reads them', async () => {
    const setup = await import(pathToFileURL(functions.oltpSetup.bundle).href);
    expect(typeof setup.handler).toBe('function');
    const shipped = path.join(path.dirname(functions.oltpSetup.bundle), 'migrations-oltp');
    expect(oltpMigrationsHash(shipped)).toBe(oltpMigrationsHash());
    expect(readFileSync(path.join(shipped, 'meta', '_journal.json'), 'utf8')).toContain('"entries"');
  });

  it('the OLTP setup bundle, invoked by hand, migrates from its shipped folder as admin and sends a verifier, never the password', async () => {
    // Local stand-ins for Secrets Manager and the Data API (neither runs offline), reached through
    // the SDK's AWS_ENDPOINT_URL; they answer what the step asks with what Aurora would.
    const password = 'ShopAppPassword0123456789abcdefghijklmn';
    const calls: { target: string; body: Json }[] = [];
    const server = createServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const body = JSON.parse(text || '{}');
      const target = String(req.headers['x-amz-target'] ?? req.url);
      calls.push({ target, body });
      res.setHeader('content-type', 'application/json');
      const sql = String(body.sql ?? '');
      let out: Json = { records: [], columnMetadata: [], numberOfRecordsUpdated: 0 };
      if (target === 'secretsmanager.GetSecretValue')
        out = { ARN: body.SecretId, SecretString: JSON.stringify({ username: 'shop_app', password }) };
      else if (target === '/BeginTransaction') out = { transactionId: 'tx-1' };
      else if (target === '/CommitTransaction') out = { transactionStatus: 'Transaction Committed' };
      else if (body.formatRecordsAs === 'JSON') {
        const rows = sql.startsWith('SELECT format(')
          ? [{ sql: 'SELECT 1' }]
          : sql.includes('shobj_description')
            ? [{ comment: null }]
            : sql.includes('current_database')
              ? [{ database: 'shop' }]
              : sql.includes('FROM pg_roles')
                ? []
                : [{ '?column?': 1 }];
        out = { formattedRecords: JSON.stringify(rows) };
      }
      res.end(JSON.stringify(out));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      Object.assign(process.env, functions.oltpSetup.env, {
        AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
      });
      const { handler } = await import(pathToFileURL(functions.oltpSetup.bundle).href);
      expect(await handler({})).toEqual({ role: 'shop_app' });

      expect(calls[0]).toEqual({
        target: 'secretsmanager.GetSecretValue',
        body: { SecretId: DEPLOY_TIME.SHOP_SECRET_ARN },
      });
      const dataApi = calls.slice(1);
      for (const c of dataApi) {
        expect(c.body.secretArn).toBe(DEPLOY_TIME.OLTP_ADMIN_SECRET_ARN);
        expect(c.body.resourceArn).toBe(DEPLOY_TIME.OLTP_CLUSTER_ARN);
      }
      const executed = dataApi.filter((c) => c.target === '/Execute');
      // The shipped migration, applied inside one transaction, before any role statement.
      const createShop = executed.findIndex((c) => c.body.sql.trim() === 'CREATE SCHEMA "shop";');
      expect(createShop).toBeGreaterThan(0);
      expect(executed[createShop]!.body.transactionId).toBe('tx-1');
      const firstRole = executed.findIndex((c) => String(c.body.sql).includes('FROM pg_roles'));
      expect(firstRole).toBeGreaterThan(createShop);
      const alter = executed.find((c) => String(c.body.sql).includes("format('ALTER ROLE %I PASSWORD %L'"));
      expect(alter?.body.parameters.map((p: Json) => p.value.stringValue)).toEqual([
        'shop_app',
        expect.stringMatching(/^SCRAM-SHA-256\$4096:[^$]+\$[^:]+:.+$/),
      ]);
      expect(JSON.stringify(calls.slice(1))).not.toContain(password);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
