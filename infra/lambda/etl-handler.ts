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
  /** The dashboard reader's secret, when one is deployed (its role is kept in step before each run). */
  readReaderSecret?: () => Promise<string | undefined>;
  env?: Record<string, string | undefined>;
}

/**
 * A handler that rebuilds the ETL handler (and its pool) whenever the database URL changes, and
 * before each run applies the dashboard reader's secret to its role (so a new reader password is
 * live in the warehouse within the hour; a failure there is logged and does not stop the load).
 */
export function createRotatingHandler(deps: RotatingHandlerDeps): Handler {
  let current: (ReturnType<typeof handlerFor> & { url: string }) | undefined;
  return async (event: unknown) => {
    const url = databaseUrlFromSecret(await deps.readSecret());
    if (current?.url !== url) {
      await current?.close().catch(() => {});
      current = { url, ...handlerFor(url, deps.env ?? process.env) };
    }
    if (deps.readReaderSecret) {
      try {
        const database = decodeURIComponent(new URL(url).pathname.slice(1));
        const reader = readerFromSecret(await deps.readReaderSecret(), database);
        await ensureReadonlyRole(await current.warehouse(), reader);
      } catch (err) {
        console.error(
          JSON.stringify({ level: 'warn', msg: 'dashboard reader role not updated', error: (err as Error).message }),
        );
      }
    }
    return current.handler(event);
  };
}

function handlerFor(url: string, env: Record<string, string | undefined>) {
  const config = loadConfig({ ...env, DATABASE_URL: url });
  let opened: Promise<Warehouse> | undefined;
  const warehouse = () => {
    opened ??= openWarehouse({ databaseUrl: url });
    return opened;
  };
  const handler = createHandler({
    config,
    open: async () => ({
      warehouse: await warehouse(),
      store: openRawStore(config.LAKE_URL, { s3Endpoint: config.S3_ENDPOINT, region: config.AWS_REGION }),
    }),
  });
  return { handler, warehouse, close: async () => (await opened)?.close() };
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
