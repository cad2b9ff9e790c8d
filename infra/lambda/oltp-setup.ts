/**
 * The deploy-time OLTP step: a CloudFormation custom resource (infra/flows/oltp-setup.ts) whose
 * function signs in to Aurora through the RDS Data API with the cluster's admin secret, applies
 * migrations/oltp/ and then creates or updates the shop's DML-only login `shop_app` from its own
 * secret (infra/lambda/shop-role.ts). The storefront itself never holds the admin secret and
 * never migrates on AWS. It runs outside the VPC: the Data API and Secrets Manager are reached
 * over their public HTTPS endpoints, and the response goes to CloudFormation's pre-signed URL.
 *
 * Invoked without a CloudFormation event (`aws lambda invoke --payload '{}'`), it runs the same
 * step and returns its result: that is how a changed shop_app password is applied without a
 * deploy.
 */
import { fileURLToPath } from 'node:url';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loginFromSecret, type Queryable } from '../../services/db/role-password.ts';
import { type Oltp, openOltp } from '../../services/storefront/db/open.ts';
import { ensureShopRole } from './shop-role.ts';

export interface OltpSetupResult {
  role: string;
}

/** Migrations first (as admin), then the login: the grants then cover every migrated table. */
export async function setupOltp(oltp: Oltp, db: Queryable, shopSecret: string | undefined): Promise<OltpSetupResult> {
  const login = loginFromSecret(shopSecret, 'shop secret');
  await oltp.migrate();
  await ensureShopRole(db, login);
  return { role: login.role };
}

/**
 * Queryable over ExecuteStatement (`$n` placeholders → `:pn`, text parameters, rows as JSON), for
 * the role statements; the migrations go through Drizzle's own Data API driver.
 */
export function dataApiQueryable(
  client: RDSDataClient,
  target: { resourceArn: string; secretArn: string; database: string },
): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const out = await client.send(
        new ExecuteStatementCommand({
          ...target,
          sql: sql.replace(/\$(\d+)/g, ':p$1'),
          parameters: params.map((v, i) => ({ name: `p${i + 1}`, value: { stringValue: String(v) } })),
          formatRecordsAs: 'JSON',
        }),
      );
      return out.formattedRecords ? (JSON.parse(out.formattedRecords) as T[]) : [];
    },
  };
}

export interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
}

const PHYSICAL_ID = 'oltp-setup';

/**
 * The custom resource protocol around `run`: Create/Update run it, Delete does nothing (the role
 * and the tables go with the cluster), and the outcome is PUT to the ResponseURL — a failure as
 * FAILED with its message, so the deploy stops and rolls back instead of waiting an hour.
 */
export function createSetupHandler(run: () => Promise<OltpSetupResult>, opts: { deadlineMs?: number } = {}) {
  // Answer FAILED before Lambda's 5-minute timeout would cut the function off without an answer
  // (CloudFormation would then wait an hour).
  const deadlineMs = opts.deadlineMs ?? 270_000;
  return async (event: Partial<CustomResourceEvent>): Promise<OltpSetupResult | undefined> => {
    if (!event.ResponseURL) return run();
    let response: Record<string, unknown>;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not done after ${deadlineMs / 1000} s`)), deadlineMs);
    });
    try {
      const data = event.RequestType === 'Delete' ? undefined : await Promise.race([run(), deadline]);
      response = { Status: 'SUCCESS', Data: data };
    } catch (err) {
      console.error(JSON.stringify({ level: 'error', msg: 'oltp setup failed', error: (err as Error).message }));
      response = { Status: 'FAILED', Reason: `oltp setup: ${(err as Error).message}`.slice(0, 1000) };
    } finally {
      clearTimeout(timer);
    }
    const body = JSON.stringify({
      ...response,
      PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    });
    const res = await fetch(event.ResponseURL, {
      method: 'PUT',
      // The pre-signed URL is signed without a content type.
      headers: { 'content-type': '' },
      body,
    });
    if (!res.ok) throw new Error(`custom resource response refused: HTTP ${res.status}`);
    return undefined;
  };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** A cluster paused at zero capacity answers DatabaseResumingException until it is up (~15 s). */
async function wake(db: Queryable): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if ((err as Error).name !== 'DatabaseResumingException' || attempt === 12) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  }
}

export const handler = createSetupHandler(async () => {
  const resourceArn = requireEnv('OLTP_CLUSTER_ARN');
  const secretArn = requireEnv('OLTP_ADMIN_SECRET_ARN');
  const database = requireEnv('OLTP_DATABASE');
  const region = resourceArn.split(':')[3];
  const client = new RDSDataClient({ region });
  const secrets = new SecretsManagerClient({ region });
  try {
    const shopSecret = (await secrets.send(new GetSecretValueCommand({ SecretId: requireEnv('SHOP_SECRET_ARN') })))
      .SecretString;
    const oltp = await openOltp({
      dataApi: { resourceArn, secretArn, database, client },
      // Copied next to the bundle by the function's bundling (infra/flows/oltp-setup.ts).
      migrationsFolder: fileURLToPath(new URL('./migrations-oltp/', import.meta.url)),
    });
    const db = dataApiQueryable(client, { resourceArn, secretArn, database });
    await wake(db);
    return await setupOltp(oltp, db, shopSecret);
  } finally {
    client.destroy();
    secrets.destroy();
  }
});
