/**
 * The deployed ETL entry point: services/etl/lambda.ts's handler, with the warehouse URL built from
 * the Secrets Manager secret DATABASE_SECRET_ARN instead of a password in the environment. The
 * secret is read on every invocation (hourly, so the cost is nil): after a rotation the next run
 * opens a new pool with the new password and closes the old one.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../services/config.ts';
import { createHandler } from '../../services/etl/lambda.ts';
import { openWarehouse, type Warehouse } from '../../services/etl/warehouse.ts';
import { openRawStore } from '../../services/lake/open.ts';
import { databaseUrlFromSecret } from './database-url.ts';
import { ensureReadonlyRole, readerFromSecret } from './readonly-role.ts';

type Handler = ReturnType<typeof createHandler>;

export interface RotatingHandlerDeps {
  /** The current secret string; read before every invocation. */
  readSecret: () => Promise<string | undefined>;
  /**
   * The dashboard reader's secret, when one is deployed: its role is created/updated when the
   * handler opens the warehouse. A failure there is logged and does not stop the load.
   */
  readReaderSecret?: () => Promise<string | undefined>;
  env?: Record<string, string | undefined>;
}

/** A handler that rebuilds the ETL handler (and its pool) whenever the database URL changes. */
export function createRotatingHandler(deps: RotatingHandlerDeps): Handler {
  let current: { url: string; handler: Handler; close: () => Promise<void> } | undefined;
  return async (event: unknown) => {
    const url = databaseUrlFromSecret(await deps.readSecret());
    if (current?.url !== url) {
      await current?.close().catch(() => {});
      current = { url, ...handlerFor(url, deps.env ?? process.env, deps.readReaderSecret) };
    }
    return current.handler(event);
  };
}

function handlerFor(
  url: string,
  env: Record<string, string | undefined>,
  readReaderSecret?: () => Promise<string | undefined>,
) {
  const config = loadConfig({ ...env, DATABASE_URL: url });
  let warehouse: Promise<Warehouse> | undefined;
  const handler = createHandler({
    config,
    open: async () => {
      warehouse = openWarehouse({ databaseUrl: url });
      const opened = await warehouse;
      if (readReaderSecret) {
        const database = decodeURIComponent(new URL(url).pathname.slice(1));
        try {
          await ensureReadonlyRole(opened, readerFromSecret(await readReaderSecret(), database));
        } catch (err) {
          console.error(
            JSON.stringify({ level: 'warn', msg: 'dashboard reader role not updated', error: (err as Error).message }),
          );
        }
      }
      return {
        warehouse: opened,
        store: openRawStore(config.LAKE_URL, { s3Endpoint: config.S3_ENDPOINT, region: config.AWS_REGION }),
      };
    },
  });
  return { handler, close: async () => (await warehouse)?.close() };
}

const secrets = new SecretsManagerClient({});

export const handler = createRotatingHandler({
  readSecret: async () => {
    const secretId = process.env.DATABASE_SECRET_ARN;
    if (!secretId) throw new Error('DATABASE_SECRET_ARN is not set');
    return (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  },
  readReaderSecret: process.env.DASHBOARD_READER_SECRET_ARN
    ? async () =>
        (await secrets.send(new GetSecretValueCommand({ SecretId: process.env.DASHBOARD_READER_SECRET_ARN })))
          .SecretString
    : undefined,
});
