/**
 * The shop's own OLTP login (`shop_app`): what the storefront on Amplify signs in with through
 * the Data API, instead of the cluster's admin. DML only: it can connect, use the schema `shop`
 * and read/write its rows and sequences; it cannot create, alter or drop anything, and it sees no
 * other schema's tables (not `drizzle`, where the migration history lives, nor `public`). The
 * deploy-time OLTP step (infra/lambda/oltp-setup.ts) runs the migrations as admin and then this,
 * so the grants cover every table the migrations made; default privileges cover tables a later
 * admin session creates before the next deploy step runs.
 *
 * Idempotent: every deploy (and a manual re-run after the shop secret changes) may apply it.
 */
import { applyRolePassword, exec, type Queryable } from '../../services/db/role-password.ts';

export const SHOP_SCHEMA = 'shop';

export async function ensureShopRole(db: Queryable, login: { role: string; password: string }): Promise<void> {
  const { role } = login;
  const exists = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (exists.length === 0) {
    try {
      await exec(db, 'CREATE ROLE %I LOGIN', role);
    } catch (err) {
      // A concurrent run created it (duplicate_object).
      if ((err as { code?: string }).code !== '42710') throw err;
    }
  }
  await exec(db, 'ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', role);
  await applyRolePassword(db, role, login.password);
  const [{ database }] = (await db.query<{ database: string }>('SELECT current_database() AS database')) as [
    { database: string },
  ];
  await exec(db, 'GRANT CONNECT ON DATABASE %I TO %I', database, role);
  await exec(db, 'GRANT USAGE ON SCHEMA %I TO %I', SHOP_SCHEMA, role);
  await exec(db, 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', SHOP_SCHEMA, role);
  await exec(db, 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', SHOP_SCHEMA, role);
  await exec(
    db,
    'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
    SHOP_SCHEMA,
    role,
  );
  await exec(
    db,
    'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I',
    SHOP_SCHEMA,
    role,
  );
}
