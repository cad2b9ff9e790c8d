/**
 * Turns an RDS-generated Secrets Manager secret into the `DATABASE_URL` the warehouse code reads.
 * Every part is percent-encoded: generated passwords contain characters (`:`, `#`, `%`, `?`…)
 * that would otherwise cut the URL short.
 */

export class DatabaseSecretError extends Error {
  override name = 'DatabaseSecretError';
}

const REQUIRED = ['username', 'password', 'host', 'port'] as const;

/**
 * `sslmode=verify-full`: TLS with certificate and host-name checks. The RDS CA comes from
 * NODE_EXTRA_CA_CERTS on Lambda (the runtime ships it) or `sslrootcert` (the dashboard host).
 */
export function databaseUrlFromSecret(secretString: string | undefined): string {
  if (!secretString) throw new DatabaseSecretError('database secret has no SecretString');
  let secret: Record<string, unknown>;
  try {
    secret = JSON.parse(secretString) as Record<string, unknown>;
  } catch {
    throw new DatabaseSecretError('database secret is not JSON');
  }
  for (const field of REQUIRED) {
    const value = secret[field];
    if (value === undefined || value === null || value === '') {
      throw new DatabaseSecretError(`database secret: missing field ${field}`);
    }
  }
  const port = Number(secret.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DatabaseSecretError(`database secret: port is not a TCP port: ${JSON.stringify(secret.port)}`);
  }
  const enc = (v: unknown) => encodeURIComponent(String(v));
  const dbname = secret.dbname ? `/${enc(secret.dbname)}` : '';
  return `postgres://${enc(secret.username)}:${enc(secret.password)}@${String(secret.host)}:${port}${dbname}?sslmode=verify-full`;
}
