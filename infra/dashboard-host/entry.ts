/**
 * The dashboard host's program (bundled into dashboard.mjs by build.ts): `clickstream dashboard
 * serve` with the warehouse URL built from the reader's Secrets Manager secret
 * (DATABASE_SECRET_ARN, read once at start through the VPC endpoint) instead of a password in the
 * unit file, verified against the RDS CA (DATABASE_CA_FILE). Without DATABASE_SECRET_ARN, DATABASE_URL is used as given (tests, a workstation).
 *
 * start.mjs imports this module and calls main(): the services' `if (argv[1] is this file)`
 * self-start guards all see the bundle's one import.meta.url, so the bundle must not be argv[1].
 */
import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { run } from '../../services/dashboard/cli.ts';
import { databaseUrlFromSecret } from '../../services/etl/database-url.ts';

/**
 * Sets env.DATABASE_URL from the secret DATABASE_SECRET_ARN names, when it names one: TLS with
 * certificate and host-name checks (`sslmode=verify-full`) against the RDS CA certificates in
 * DATABASE_CA_FILE (libpq's `sslrootcert`; the bundle ships them, ca.ts). Without that file the
 * host refuses to start rather than connect unverified.
 */
export async function useReaderSecret(
  env: NodeJS.ProcessEnv,
  readSecret: (secretId: string) => Promise<string | undefined>,
): Promise<void> {
  const secretId = env.DATABASE_SECRET_ARN;
  if (!secretId) return;
  const caFile = env.DATABASE_CA_FILE;
  if (!caFile) throw new Error('DATABASE_CA_FILE is not set: the RDS CA certificates to verify the warehouse against');
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new Error(`DATABASE_CA_FILE ${caFile}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`DATABASE_CA_FILE ${caFile}: no PEM certificate in it`);
  const url = new URL(databaseUrlFromSecret(await readSecret(secretId)));
  url.searchParams.set('sslrootcert', caFile);
  env.DATABASE_URL = url.href;
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
