/** Test helper: whether `stored` (pg_authid.rolpassword) is the SCRAM-SHA-256 verifier of `password`. */
import { scramVerifier } from '../db/role-password.ts';

export function verifierMatches(stored: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$[^:]+:.+$/.exec(stored);
  if (!m) return false;
  return scramVerifier(password, { iterations: Number(m[1]), salt: Buffer.from(m[2]!, 'base64') }) === stored;
}
