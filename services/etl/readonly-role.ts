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
import { applyRolePassword, exec, loginFromSecret, type Queryable } from '../db/role-password.ts';

export interface ReadonlyRole {
  role: string;
  password: string;
  database: string;
}

/** `{ username, password }` of the reader's secret; anything else is a clear RolePasswordError. */
export function readerFromSecret(secretString: string | undefined, database: string): ReadonlyRole {
  return { ...loginFromSecret(secretString, 'reader secret'), database };
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
  await exec(db, 'ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', reader.role);
  // A SCRAM verifier, sent only when the secret holds a password the role does not have yet.
  await applyRolePassword(db, reader.role, reader.password);
  await exec(db, 'ALTER ROLE %I SET default_transaction_read_only = on', reader.role);
  await exec(db, 'GRANT CONNECT ON DATABASE %I TO %I', reader.database, reader.role);
  await exec(db, 'GRANT USAGE ON SCHEMA public TO %I', reader.role);
  await exec(db, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', reader.role);
  await exec(db, 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I', reader.role);
}
