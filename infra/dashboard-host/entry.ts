/**
 * The dashboard host's program (bundled into dashboard.mjs by build.ts): `clickstream dashboard
 * serve` with the warehouse URL built from the reader's Secrets Manager secret
 * (DATABASE_SECRET_ARN, read once at start through the VPC endpoint) instead of a password in the
 * unit file. Without DATABASE_SECRET_ARN, DATABASE_URL is used as given (tests, a workstation).
 *
 * start.mjs imports this module and calls main(): the services' `if (argv[1] is this file)`
 * self-start guards all see the bundle's one import.meta.url, so the bundle must not be argv[1].
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { run } from '../../services/dashboard/cli.ts';
import { databaseUrlFromSecret } from '../../services/etl/database-url.ts';

/**
 * Sets env.DATABASE_URL from the secret DATABASE_SECRET_ARN names, when it names one.
 * no-verify: the host has no copy of the RDS CA (no internet to fetch it); the session is still
 * TLS, inside the VPC, between two security groups that only admit each other.
 */
export async function useReaderSecret(
  env: NodeJS.ProcessEnv,
  readSecret: (secretId: string) => Promise<string | undefined>,
): Promise<void> {
  const secretId = env.DATABASE_SECRET_ARN;
  if (!secretId) return;
  env.DATABASE_URL = databaseUrlFromSecret(await readSecret(secretId), 'no-verify');
}

export async function main(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (args[0] === 'serve') {
    const secrets = new SecretsManagerClient({ region: env.AWS_REGION });
    try {
      await useReaderSecret(
        env,
        async (SecretId) => (await secrets.send(new GetSecretValueCommand({ SecretId }))).SecretString,
      );
    } finally {
      secrets.destroy();
    }
  }
  return run(args);
}
