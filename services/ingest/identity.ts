/**
 * Who sent a request: a Cognito ID token verified with aws-jwt-verify (signature, expiry,
 * issuer, audience), or a guest. Never throws for a bad token — the events are still accepted as
 * guest and the caller reports why the token was not accepted.
 *
 * Configuration: COGNITO_USER_POOL_ID (+ COGNITO_CLIENT_ID) for a Cognito pool, or
 * JWT_ISSUER + JWKS_URI (+ COGNITO_CLIENT_ID as audience) for any issuer; a `file:///` JWKS_URI is
 * read at start (local stacks and tests, which cannot serve HTTPS).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { JwtExpiredError, JwtInvalidAudienceError, JwtInvalidIssuerError } from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { Config } from '../config.ts';
import { GUEST, type VerifiedIdentity } from './core.ts';

/** What the response says about the token: absent tokens are not mentioned. */
export type TokenOutcome = { accepted: true } | { accepted: false; reason: string };

export interface IdentityResult {
  identity: VerifiedIdentity;
  token?: TokenOutcome;
}

export type IdentityResolver = (authorization: string | undefined) => Promise<IdentityResult>;

type Verify = (token: string) => Promise<JwtPayload>;

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
): Promise<IdentityResolver> {
  const verify = await createVerify(config);
  return async (authorization) => {
    if (!authorization) return { identity: GUEST };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) return { identity: GUEST, token: { accepted: false, reason: 'malformed_authorization_header' } };
    if (!verify) return { identity: GUEST, token: { accepted: false, reason: 'verification_not_configured' } };
    try {
      const payload = await verify(m[1]!);
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        return { identity: GUEST, token: { accepted: false, reason: 'no_subject' } };
      }
      return {
        identity: {
          user_id: payload.sub.slice(0, 128),
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

async function createVerify(config: Parameters<typeof createIdentityResolver>[0]): Promise<Verify | undefined> {
  const audience = config.COGNITO_CLIENT_ID || null;
  if (config.COGNITO_USER_POOL_ID) {
    const verifier = CognitoJwtVerifier.create({
      userPoolId: config.COGNITO_USER_POOL_ID,
      tokenUse: 'id',
      clientId: audience,
    });
    return (token) => verifier.verify(token);
  }
  if (config.JWT_ISSUER && config.JWKS_URI) {
    const fileJwks = config.JWKS_URI.startsWith('file://');
    const verifier = JwtVerifier.create({
      issuer: config.JWT_ISSUER,
      audience,
      ...(fileJwks ? {} : { jwksUri: config.JWKS_URI }),
    });
    if (fileJwks) {
      verifier.cacheJwks(JSON.parse(await readFile(fileURLToPath(config.JWKS_URI), 'utf8')) as Jwks);
    }
    return (token) => verifier.verify(token);
  }
  return undefined;
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
  if (err instanceof JwtExpiredError) return 'expired';
  if (err instanceof JwtInvalidAudienceError) return 'wrong_audience';
  if (err instanceof JwtInvalidIssuerError) return 'wrong_issuer';
  return 'invalid';
}
