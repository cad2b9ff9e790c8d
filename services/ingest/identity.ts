/**
 * Who sent a request: a Cognito ID token verified with aws-jwt-verify, or a guest. Never throws
 * for a bad token — the events are still accepted as guest and the caller reports why the token
 * was not accepted.
 *
 * A token is accepted only with exactly what a Cognito ID token carries, in both modes: a valid
 * signature, `iss` and `aud` as configured, `token_use: "id"` (an access token identifies a
 * client session, not a user sign-in), an `exp` in the future, an `iat` not more than
 * CLOCK_SKEW_SECONDS ahead of our clock, and a `sub` the warehouse can store (≤ 128 code points,
 * no NUL or lone surrogate — refused, not truncated: a cut subject could name another user).
 *
 * Configuration: COGNITO_USER_POOL_ID + COGNITO_CLIENT_ID for a Cognito pool, or JWT_ISSUER +
 * JWKS_URI + COGNITO_CLIENT_ID (as audience) for any issuer; a `file:///` JWKS_URI is read at
 * start (local stacks and tests, which cannot serve HTTPS). Verification without an audience, or
 * half of the issuer pair, is refused at start.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { JwtExpiredError, JwtInvalidAudienceError, JwtInvalidIssuerError } from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { type Config, ConfigError } from '../config.ts';
import { isUnstorableString, MAX_USER_ID_CHARS } from '../storable.ts';
import { GUEST, type VerifiedIdentity } from './core.ts';

/** What the response says about the token: absent tokens are not mentioned. */
export type TokenOutcome = { accepted: true } | { accepted: false; reason: string };

export interface IdentityResult {
  identity: VerifiedIdentity;
  token?: TokenOutcome;
}

export type IdentityResolver = (authorization: string | undefined) => Promise<IdentityResult>;

type Verify = (token: string) => Promise<JwtPayload>;

/** How far ahead of our clock a token's `iat` may be (the issuer's clock may run a little fast). */
export const CLOCK_SKEW_SECONDS = 60;

/** A claim a Cognito ID token must carry is missing or wrong; `reason` goes into the answer. */
class ClaimError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The checks aws-jwt-verify leaves to us (it verifies signature, iss, aud, and exp only if present).
 * `nowMs` is the receive clock (aws-jwt-verify's own exp check reads the real one).
 */
function checkIdTokenClaims(payload: JwtPayload, nowMs: number): void {
  if (payload.token_use !== 'id') throw new ClaimError('not_an_id_token');
  if (typeof payload.exp !== 'number') throw new ClaimError('no_expiry');
  if (typeof payload.iat !== 'number') throw new ClaimError('no_issued_at');
  if (payload.iat > nowMs / 1000 + CLOCK_SKEW_SECONDS) throw new ClaimError('issued_in_future');
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new ClaimError('no_subject');
  if ([...payload.sub].length > MAX_USER_ID_CHARS || isUnstorableString(payload.sub)) {
    throw new ClaimError('unstorable_subject');
  }
}

/** Cognito `identities[0].providerType` → identity_source of a federated sign-in. */
const PROVIDERS: Record<string, VerifiedIdentity['identity_source']> = {
  Google: 'google',
  Facebook: 'facebook',
  LoginWithAmazon: 'amazon',
  SignInWithApple: 'apple',
  OIDC: 'oidc',
  SAML: 'saml',
};

export async function createIdentityResolver(
  config: Pick<Config, 'COGNITO_USER_POOL_ID' | 'COGNITO_CLIENT_ID' | 'JWT_ISSUER' | 'JWKS_URI'>,
  opts: { now?: () => Date } = {},
): Promise<IdentityResolver> {
  const now = opts.now ?? (() => new Date());
  const verify = await createVerify(config, ({ payload }) => checkIdTokenClaims(payload, now().getTime()));
  return async (authorization) => {
    if (!authorization) return { identity: GUEST };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) return { identity: GUEST, token: { accepted: false, reason: 'malformed_authorization_header' } };
    if (!verify) return { identity: GUEST, token: { accepted: false, reason: 'verification_not_configured' } };
    try {
      const payload = await verify(m[1]!);
      return {
        identity: {
          user_id: payload.sub as string,
          user_login_state: 'logged_in',
          identity_source: sourceOf(payload),
        },
        token: { accepted: true },
      };
    } catch (err) {
      return { identity: GUEST, token: { accepted: false, reason: reasonOf(err) } };
    }
  };
}

async function createVerify(
  config: Parameters<typeof createIdentityResolver>[0],
  customJwtCheck: (jwt: { payload: JwtPayload }) => void,
): Promise<Verify | undefined> {
  const issuerMode = Boolean(config.JWT_ISSUER || config.JWKS_URI);
  if (!config.COGNITO_USER_POOL_ID && !issuerMode) return undefined;
  if (issuerMode && !(config.JWT_ISSUER && config.JWKS_URI)) {
    throw new ConfigError('JWT_ISSUER and JWKS_URI: set both or neither');
  }
  if (!config.COGNITO_CLIENT_ID) {
    throw new ConfigError('COGNITO_CLIENT_ID: required to verify tokens (the audience)');
  }
  const audience = config.COGNITO_CLIENT_ID;
  if (config.COGNITO_USER_POOL_ID) {
    const verifier = CognitoJwtVerifier.create({
      userPoolId: config.COGNITO_USER_POOL_ID,
      tokenUse: 'id',
      clientId: audience,
      customJwtCheck,
    });
    return (token) => verifier.verify(token);
  }
  const fileJwks = config.JWKS_URI.startsWith('file://');
  const verifier = JwtVerifier.create({
    issuer: config.JWT_ISSUER,
    audience,
    customJwtCheck,
    ...(fileJwks ? {} : { jwksUri: config.JWKS_URI }),
  });
  if (fileJwks) {
    verifier.cacheJwks(JSON.parse(await readFile(fileURLToPath(config.JWKS_URI), 'utf8')) as Jwks);
  }
  return (token) => verifier.verify(token);
}

function sourceOf(payload: JwtPayload): VerifiedIdentity['identity_source'] {
  const identities = payload.identities;
  if (Array.isArray(identities) && identities.length > 0) {
    const type = (identities[0] as { providerType?: unknown }).providerType;
    if (typeof type === 'string' && Object.hasOwn(PROVIDERS, type)) return PROVIDERS[type]!;
  }
  return 'cognito';
}

function reasonOf(err: unknown): string {
  if (err instanceof ClaimError) return err.reason;
  if (err instanceof JwtExpiredError) return 'expired';
  if (err instanceof JwtInvalidAudienceError) return 'wrong_audience';
  if (err instanceof JwtInvalidIssuerError) return 'wrong_issuer';
  return 'invalid';
}
