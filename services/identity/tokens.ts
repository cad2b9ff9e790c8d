/**
 * The local identity provider's signing key and the Cognito-shaped RS256 ID tokens it issues.
 *
 * The key pair lives in `<DATA_DIR>/identity/`: `signing-key.pem` (PKCS#8, mode 0600), created on
 * first use, and `jwks.json`, its public half as a JWKS — what the ingest reads through
 * `JWKS_URI=file://…` (aws-jwt-verify fetches JWKS over https only) and what the shop serves at
 * `/.well-known/jwks.json`. Anything holding the key (the shop, a traffic simulator) can mint
 * tokens with `issueIdToken`; the ingest verifies them exactly as it verifies Cognito's.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SigningKey {
  privateKey: KeyObject;
  /** RFC 7638 thumbprint of the public key: changes whenever the key does. */
  kid: string;
  jwks: { keys: Record<string, unknown>[] };
}

export interface IdentityKeyFiles {
  privateKeyFile: string;
  jwksFile: string;
}

export function identityKeyFiles(dataDir: string): IdentityKeyFiles {
  const dir = path.resolve(dataDir, 'identity');
  return { privateKeyFile: path.join(dir, 'signing-key.pem'), jwksFile: path.join(dir, 'jwks.json') };
}

/** Loads the key pair of `<dataDir>/identity/`, creating it on first use, and (re)writes `jwks.json`. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const files = identityKeyFiles(dataDir);
  await mkdir(path.dirname(files.privateKeyFile), { recursive: true });
  let pem: string;
  try {
    pem = await readFile(files.privateKeyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const created = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    try {
      // `wx`: two processes starting at once must not end up with two different keys.
      await writeFile(files.privateKeyFile, created, { flag: 'wx', mode: 0o600 });
      pem = created;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      pem = await readFile(files.privateKeyFile, 'utf8');
    }
  }
  const key = signingKeyFromPem(pem);
  // Written by rename so a reader (the ingest starting at the same time) never sees half a file.
  const tmp = `${files.jwksFile}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(key.jwks, null, 2)}\n`);
  await rename(tmp, files.jwksFile);
  return key;
}

export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  const { n, e, kty } = createPublicKey(privateKey).export({ format: 'jwk' });
  if (kty !== 'RSA' || !n || !e) throw new Error('the identity signing key must be an RSA key');
  const kid = createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
  return { privateKey, kid, jwks: { keys: [{ kty, n, e, kid, alg: 'RS256', use: 'sig' }] } };
}

/** Who a token is about. `identity` is set for a federated (social) sign-in. */
export interface TokenSubject {
  sub: string;
  /** Cognito's `cognito:username`: the sub for e-mail users of a pool with e-mail sign-in, `Google_<id>` for Google users. */
  username: string;
  email: string;
  name?: string;
  identity?: { providerName: string; providerType: string; userId: string; dateCreated: Date };
}

export interface TokenIssuerOptions {
  key: SigningKey;
  issuer: string;
  /** The app client id (`aud`). */
  audience: string;
  /** Token lifetime; Cognito's default ID token validity is one hour. */
  ttlSeconds?: number;
  now: () => Date;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export type TokenIssuer = (subject: TokenSubject, authTime?: Date) => IssuedToken;

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An issuer of ID tokens with the claims Cognito puts in its own (plus `identities` when federated). */
export function createTokenIssuer(opts: TokenIssuerOptions): TokenIssuer {
  const ttl = opts.ttlSeconds ?? 3600;
  return (subject, authTime) => {
    const now = opts.now();
    const iat = Math.floor(now.getTime() / 1000);
    const claims: Record<string, unknown> = {
      sub: subject.sub,
      iss: opts.issuer,
      aud: opts.audience,
      token_use: 'id',
      'cognito:username': subject.username,
      email: subject.email,
      email_verified: subject.identity !== undefined,
      ...(subject.name ? { name: subject.name } : {}),
      auth_time: Math.floor((authTime ?? now).getTime() / 1000),
      iat,
      exp: iat + ttl,
      jti: randomUUID(),
    };
    if (subject.identity) {
      claims['cognito:groups'] = [`local_${subject.identity.providerName}`];
      claims.identities = [
        {
          userId: subject.identity.userId,
          providerName: subject.identity.providerName,
          providerType: subject.identity.providerType,
          issuer: null,
          primary: 'true',
          dateCreated: String(subject.identity.dateCreated.getTime()),
        },
      ];
    }
    const signed = `${b64url({ kid: opts.key.kid, alg: 'RS256' })}.${b64url(claims)}`;
    const signature = sign('sha256', Buffer.from(signed), opts.key.privateKey).toString('base64url');
    return { token: `${signed}.${signature}`, expiresAt: new Date((iat + ttl) * 1000) };
  };
}
