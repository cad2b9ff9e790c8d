/**
 * The warehouse's read-only login for the dashboard host, created and kept in step by the ETL at
 * the start of each handler (cold start or new admin password): the ETL is the one deployed
 * process that holds the admin credentials inside the VPC. Idempotent, so every cold start may run
 * it; the password comes from the reader's own generated secret, so rotating that secret and
 * restarting the dashboard is all a password change takes.
 *
 * The role can connect, see the public schema and SELECT every table — including the ones later
 * migrations create (default privileges of the admin that runs migrations) — and its sessions are
 * read-only by default as a second fence.
 */

export interface ReadonlyRole {
  role: string;
  password: string;
  database: string;
}

interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export class ReadonlyRoleError extends Error {
  override name = 'ReadonlyRoleError';
}

/** `{ username, password }` of the reader's secret; anything else is a clear error. */
export function readerFromSecret(secretString: string | undefined, database: string): ReadonlyRole {
  let secret: { username?: unknown; password?: unknown };
  try {
    secret = JSON.parse(secretString ?? '');
  } catch {
    throw new ReadonlyRoleError('reader secret is not JSON');
  }
  const { username, password } = secret;
  if (typeof username !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(username))
    throw new ReadonlyRoleError(
      `reader secret: username must be a lower-case SQL identifier, got ${JSON.stringify(username)}`,
    );
  if (typeof password !== 'string' || password.length < 16)
    throw new ReadonlyRoleError('reader secret: password missing or shorter than 16 characters');
  return { role: username, password, database };
}

/** Statements are built by the server's own format(%I, %L): no quoting done here. */
async function exec(db: Queryable, template: string, ...args: string[]): Promise<void> {
  const placeholders = args.map((_, i) => `$${i + 1}::text`).join(', ');
  const [row] = await db.query<{ sql: string }>(`SELECT format('${template}', ${placeholders}) AS sql`, args);
  await db.query((row as { sql: string }).sql);
}

export async function ensureReadonlyRole(db: Queryable, reader: ReadonlyRole): Promise<void> {
  const exists = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [reader.role]);
  if (exists.length === 0) {
    try {
      await exec(db, 'CREATE ROLE %I LOGIN', reader.role);
    } catch (err) {
      // Two cold starts at once: the other one created it (duplicate_object).
      if ((err as { code?: string }).code !== '42710') throw err;
    }
  }
  await exec(
    db,
    'ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
    reader.role,
    reader.password,
  );
  await exec(db, 'ALTER ROLE %I SET default_transaction_read_only = on', reader.role);
  await exec(db, 'GRANT CONNECT ON DATABASE %I TO %I', reader.database, reader.role);
  await exec(db, 'GRANT USAGE ON SCHEMA public TO %I', reader.role);
  await exec(db, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', reader.role);
  await exec(db, 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I', reader.role);
}
