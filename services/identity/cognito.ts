/**
 * Sign-up and sign-in against a real Cognito user pool (COGNITO_USER_POOL_ID + COGNITO_CLIENT_ID):
 * `SignUp` / `ConfirmSignUp`, `InitiateAuth` with USER_PASSWORD_AUTH (the shop's server holds the
 * password only for the call, over TLS) and REFRESH_TOKEN_AUTH. The app client must allow the
 * USER_PASSWORD_AUTH flow (infra/flows/identity.ts does).
 *
 * The ID token comes straight from Cognito over TLS, so its claims are read without verifying the
 * signature here (as Amplify does); the ingest verifies every token it receives.
 *
 * The SDK client is passed in: the tests drive this module with a fake client that answers with
 * responses recorded from the Cognito API reference (fixtures/cognito/), since no AWS is reachable
 * from the test machines.
 */
import {
  CognitoIdentityProviderClient,
  ConfirmSignUpCommand,
  InitiateAuthCommand,
  type InitiateAuthCommandOutput,
  SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import {
  AuthError,
  type Authenticated,
  type IdentityProvider,
  normaliseEmail,
  normaliseName,
  type Profile,
  type Tokens,
} from './provider.ts';

/** The part of the SDK client this module uses. */
export interface CognitoClient {
  send: CognitoIdentityProviderClient['send'];
}

export interface CognitoIdentityProviderOptions {
  clientId: string;
  /** Default: a CognitoIdentityProviderClient for `region`. */
  client?: CognitoClient;
  region?: string;
}

/** Cognito exception names → what the shopper is told. Anything else is the provider failing. */
const ERRORS: Record<string, [AuthError['code'], string]> = {
  NotAuthorizedException: ['invalid_credentials', 'Incorrect e-mail or password.'],
  UserNotFoundException: ['invalid_credentials', 'Incorrect e-mail or password.'],
  PasswordResetRequiredException: ['invalid_credentials', 'A password reset is required for this account.'],
  UserNotConfirmedException: ['not_confirmed', 'Confirm your e-mail address with the code we sent first.'],
  UsernameExistsException: ['user_exists', 'An account with this e-mail already exists.'],
  InvalidPasswordException: ['invalid_password', 'The password does not meet the requirements.'],
  InvalidParameterException: ['invalid_email', 'Check the e-mail address and name.'],
  CodeMismatchException: ['invalid_code', 'That code is not right; check the e-mail we sent.'],
  ExpiredCodeException: ['invalid_code', 'That code has expired; sign up again to get a new one.'],
  TooManyRequestsException: ['too_many_attempts', 'Too many attempts; wait a minute and try again.'],
  TooManyFailedAttemptsException: ['too_many_attempts', 'Too many attempts; wait a minute and try again.'],
  LimitExceededException: ['too_many_attempts', 'Too many attempts; wait a minute and try again.'],
};

function mapError(err: unknown): never {
  if (err instanceof AuthError) throw err;
  const known = ERRORS[(err as { name?: string }).name ?? ''];
  if (known) throw new AuthError(known[0], known[1]);
  throw new AuthError('provider_unavailable', 'Sign-in is unavailable right now; try again shortly.');
}

/** The profile and expiry carried by a Cognito ID token. */
function readIdToken(idToken: string): Profile & { expiresAt: Date } {
  const { payload } = decomposeUnverifiedJwt(idToken);
  const identities = payload.identities as { providerName?: string }[] | undefined;
  const provider = identities?.[0]?.providerName;
  if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
    throw new AuthError('provider_unavailable', 'Cognito returned an ID token without sub or exp.');
  }
  return {
    sub: payload.sub,
    username: String(payload['cognito:username'] ?? payload.sub),
    email: String(payload.email ?? ''),
    name: String(payload.name ?? payload.email ?? ''),
    method: provider === 'Google' ? 'google' : 'email',
    expiresAt: new Date(payload.exp * 1000),
  };
}

function tokensOf(out: InitiateAuthCommandOutput, previousRefresh?: string): Tokens & { profile: Profile } {
  if (out.ChallengeName) {
    throw new AuthError(
      'challenge_unsupported',
      `This account needs a sign-in step the shop does not offer (${out.ChallengeName}).`,
    );
  }
  const result = out.AuthenticationResult;
  if (!result?.IdToken) throw new AuthError('provider_unavailable', 'Cognito returned no ID token.');
  const { expiresAt, ...profile } = readIdToken(result.IdToken);
  const refreshToken = result.RefreshToken ?? previousRefresh;
  return { profile, idToken: result.IdToken, idTokenExpiresAt: expiresAt, ...(refreshToken ? { refreshToken } : {}) };
}

export function createCognitoIdentityProvider(opts: CognitoIdentityProviderOptions): IdentityProvider {
  const client = opts.client ?? new CognitoIdentityProviderClient({ region: opts.region });
  const ClientId = opts.clientId;
  return {
    kind: 'cognito',

    async signUp(input) {
      const email = normaliseEmail(input.email);
      const name = normaliseName(input.name);
      try {
        const out = await client.send(
          new SignUpCommand({
            ClientId,
            Username: email,
            Password: input.password,
            UserAttributes: [
              { Name: 'email', Value: email },
              { Name: 'name', Value: name },
            ],
          }),
        );
        if (!out.UserSub) throw new AuthError('provider_unavailable', 'Cognito returned no user id.');
        return out.UserConfirmed
          ? { status: 'created', sub: out.UserSub }
          : {
              status: 'confirmation_required',
              sub: out.UserSub,
              ...(out.CodeDeliveryDetails?.Destination ? { destination: out.CodeDeliveryDetails.Destination } : {}),
            };
      } catch (err) {
        return mapError(err);
      }
    },

    async confirmSignUp(emailInput, code) {
      const email = normaliseEmail(emailInput);
      if (!/^\d{4,10}$/.test(code.trim()))
        throw new AuthError('invalid_code', 'Enter the code from the e-mail (digits only).');
      try {
        await client.send(new ConfirmSignUpCommand({ ClientId, Username: email, ConfirmationCode: code.trim() }));
      } catch (err) {
        mapError(err);
      }
    },

    async signIn(emailInput, password): Promise<Authenticated> {
      let email: string;
      try {
        email = normaliseEmail(emailInput);
      } catch {
        throw new AuthError('invalid_credentials', 'Incorrect e-mail or password.');
      }
      try {
        const out = await client.send(
          new InitiateAuthCommand({
            AuthFlow: 'USER_PASSWORD_AUTH',
            ClientId,
            AuthParameters: { USERNAME: email, PASSWORD: password },
          }),
        );
        const { profile, ...tokens } = tokensOf(out);
        return { ...profile, ...tokens };
      } catch (err) {
        return mapError(err);
      }
    },

    async refresh(_profile, refreshToken) {
      if (!refreshToken) throw new AuthError('session_expired', 'Your session has expired; sign in again.');
      try {
        const out = await client.send(
          new InitiateAuthCommand({
            AuthFlow: 'REFRESH_TOKEN_AUTH',
            ClientId,
            AuthParameters: { REFRESH_TOKEN: refreshToken },
          }),
        );
        const { profile: _, ...tokens } = tokensOf(out, refreshToken);
        return tokens;
      } catch (err) {
        if ((err as { name?: string }).name === 'NotAuthorizedException') {
          throw new AuthError('session_expired', 'Your session has expired; sign in again.');
        }
        return mapError(err);
      }
    },
  };
}
