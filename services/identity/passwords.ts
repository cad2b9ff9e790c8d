/**
 * Password hashing with scrypt (node:crypto) and the password policy of the Cognito user pool
 * (infra/flows/identity.ts), so a password the local stand-in accepts is one Cognito accepts too.
 *
 * Stored form: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>` — the parameters travel with the
 * hash, so they can be raised later without invalidating existing users.
 */
import { randomBytes, type ScryptOptions, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** OWASP's scrypt minimum (N=2^17, r=8, p=1) costs ~128 MiB per hash; 2^15 keeps 32 MiB on a small box. */
const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const MAX_MEMORY = 64 * 1024 * 1024;

/** The pool's policy: at least 12 characters with a lower-case letter, an upper-case letter, a digit and a symbol. */
export const PASSWORD_MIN_LENGTH = 12;
/** Longer inputs are refused before hashing (scrypt cost grows with input only slightly, but bodies should be bounded). */
export const PASSWORD_MAX_LENGTH = 256;

/** What is wrong with `password` under the pool's policy, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `at most ${PASSWORD_MAX_LENGTH} characters`;
  if (!/[a-z]/.test(password)) return 'a lower-case letter';
  if (!/[A-Z]/.test(password)) return 'an upper-case letter';
  if (!/[0-9]/.test(password)) return 'a digit';
  if (!/[^A-Za-z0-9]/.test(password)) return 'a symbol';
  return undefined;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: MAX_MEMORY });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** True when `password` matches `stored`; false for a wrong password or a malformed stored value. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltText, hashText] = stored.split('$');
  if (scheme !== 'scrypt' || !saltText || !hashText) return false;
  const expected = Buffer.from(hashText, 'base64url');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (![params.N, params.r, params.p].every(Number.isSafeInteger) || expected.length === 0) return false;
  const actual = await scrypt(
    password.slice(0, PASSWORD_MAX_LENGTH),
    Buffer.from(saltText, 'base64url'),
    expected.length,
    {
      ...params,
      maxmem: MAX_MEMORY,
    },
  );
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password, checked against when the user does not exist, so that an unknown
 * e-mail and a wrong password take the same time (no user enumeration by timing).
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  return decoy;
}
