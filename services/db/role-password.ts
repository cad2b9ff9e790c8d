/**
 * Login passwords for the roles the deploy keeps (the warehouse's dashboard_reader, the OLTP's
 * shop_app), applied without the plaintext ever reaching the server: the SCRAM-SHA-256 verifier
 * PostgreSQL stores in pg_authid is computed here (RFC 5802/7677, PostgreSQL's
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`) and sent as the PASSWORD — a
 * statement log or a Data API trace then holds a verifier, not the password.
 *
 * pg_authid is readable by superusers only (not the RDS admin), so whether the role already has
 * this password is told by a fingerprint in the role's comment: PBKDF2-SHA256 of the password
 * with its own random salt (no SCRAM key, so it cannot be used to log in or to answer a SCRAM
 * exchange). Same fingerprint → nothing is altered; a new password → new verifier and comment.
 * A password set by hand (ALTER ROLE outside this module) is not detected until the secret
 * changes.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export class RolePasswordError extends Error {
  override name = 'RolePasswordError';
}

/** `{ username, password }` of a login's secret (`label` names it in errors); anything else is a clear error. */
export function loginFromSecret(secretString: string | undefined, label: string): { role: string; password: string } {
  let secret: { username?: unknown; password?: unknown };
  try {
    secret = JSON.parse(secretString ?? '');
  } catch {
    throw new RolePasswordError(`${label} is not JSON`);
  }
  const { username, password } = secret;
  if (typeof username !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(username))
    throw new RolePasswordError(
      `${label}: username must be a lower-case SQL identifier, got ${JSON.stringify(username)}`,
    );
  if (typeof password !== 'string' || password.length < 16)
    throw new RolePasswordError(`${label}: password missing or shorter than 16 characters`);
  if (!/^[\x20-\x7e]+$/.test(password)) throw new RolePasswordError(`${label}: password must be printable ASCII`);
  return { role: username, password };
}

/** PostgreSQL's default scram_iterations. */
export const SCRAM_ITERATIONS = 4096;
const FINGERPRINT_ITERATIONS = 100_000;
const FINGERPRINT_PREFIX = 'clickstream-password pbkdf2-sha256';

/**
 * SASLprep of a printable-ASCII string is the string itself; anything else would need the full
 * RFC 4013 profile (PostgreSQL applies it), so it is refused rather than hashed differently.
 */
function asciiPassword(password: string): Buffer {
  if (!/^[\x20-\x7e]+$/.test(password))
    throw new RolePasswordError('role password must be printable ASCII (no SASLprep here)');
  return Buffer.from(password, 'utf8');
}

export function scramVerifier(
  password: string,
  opts: { salt?: Buffer; iterations?: number } = {},
): `SCRAM-SHA-256$${string}` {
  const salt = opts.salt ?? randomBytes(16);
  const iterations = opts.iterations ?? SCRAM_ITERATIONS;
  const salted = pbkdf2Sync(asciiPassword(password), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function fingerprint(password: string, salt: Buffer): string {
  const hash = pbkdf2Sync(asciiPassword(password), salt, FINGERPRINT_ITERATIONS, 32, 'sha256');
  return `${FINGERPRINT_PREFIX}:${FINGERPRINT_ITERATIONS}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/** Whether `comment` is this password's fingerprint. */
export function fingerprintMatches(comment: string | null | undefined, password: string): boolean {
  const parts = comment?.split(':') ?? [];
  if (parts.length !== 4 || parts[0] !== FINGERPRINT_PREFIX || parts[1] !== String(FINGERPRINT_ITERATIONS))
    return false;
  const expected = Buffer.from(fingerprint(password, Buffer.from(parts[2]!, 'base64')));
  const given = Buffer.from(comment!);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Statements are built by the server's own format(%I, %L): no quoting done here. */
export async function exec(db: Queryable, template: string, ...args: string[]): Promise<void> {
  const placeholders = args.map((_, i) => `$${i + 1}::text`).join(', ');
  const [row] = await db.query<{ sql: string }>(`SELECT format('${template}', ${placeholders}) AS sql`, args);
  await db.query((row as { sql: string }).sql);
}

/**
 * Gives `role` (which must exist) the login password `password` unless its comment says it has
 * it already. Returns whether the password was (re)applied.
 */
export async function applyRolePassword(db: Queryable, role: string, password: string): Promise<boolean> {
  const [row] = await db.query<{ comment: string | null }>(
    "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1",
    [role],
  );
  if (!row) throw new RolePasswordError(`role ${role} does not exist`);
  if (fingerprintMatches(row.comment, password)) return false;
  await exec(db, 'ALTER ROLE %I PASSWORD %L', role, scramVerifier(password));
  await exec(db, 'COMMENT ON ROLE %I IS %L', role, fingerprint(password, randomBytes(16)));
  return true;
}
