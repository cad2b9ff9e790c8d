/**
 * The Cognito path, tested at its seam: no AWS is reachable from the test machines, so the SDK
 * client is a fake that checks each command the provider sends (its class and input) and answers
 * with a response recorded in the shape of the Cognito API reference (fixtures/cognito/), or
 * throws the SDK's own exception class for that error. What this cannot show: that a real pool
 * accepts these calls (the app client must allow USER_PASSWORD_AUTH; infra/flows/identity.ts does).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CodeMismatchException,
  InternalErrorException,
  NotAuthorizedException,
  UserNotConfirmedException,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { describe, expect, it } from 'vitest';
import { type CognitoClient, createCognitoIdentityProvider } from './cognito.ts';
import { AuthError } from './provider.ts';

const CLIENT_ID = '3n4b5urk1ft4fl3mg5e62d9ado';
const SUB = 'aa4b2c1e-90f1-70f2-3a1d-2b9c3d4e5f60';

function recorded(name: string): Record<string, unknown> {
  const { $comment: _, ...response } = JSON.parse(
    readFileSync(path.join(import.meta.dirname, 'fixtures/cognito', name), 'utf8'),
  );
  return response;
}

type Step = { command: string; input: Record<string, unknown>; output?: Record<string, unknown>; error?: Error };

/**
 * A client that expects exactly `steps`, in order. A command that differs is recorded in
 * `mismatches` (an exception thrown from send would only reach the test as a mapped AuthError).
 */
function scripted(steps: Step[]): CognitoClient & { left: () => number; mismatches: string[] } {
  const queue = [...steps];
  const mismatches: string[] = [];
  return {
    left: () => queue.length,
    mismatches,
    send: (async (command: { constructor: { name: string }; input: unknown }) => {
      const step = queue.shift();
      const sent = JSON.stringify({ command: command.constructor.name, input: command.input });
      const expected = step && JSON.stringify({ command: step.command, input: step.input });
      if (sent !== expected) {
        mismatches.push(`sent ${sent}, expected ${expected}`);
        throw new Error('unexpected command');
      }
      if (step!.error) throw step!.error;
      return { $metadata: { httpStatusCode: 200 }, ...step!.output };
    }) as CognitoClient['send'],
  };
}

const sdkError = <T extends new (o: { message: string; $metadata: object }) => Error>(Ctor: T, message: string) =>
  new Ctor({ message, $metadata: { httpStatusCode: 400 } });

const passwordAuth = (email: string, password: string) => ({
  command: 'InitiateAuthCommand',
  input: {
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: CLIENT_ID,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  },
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof AuthError ? e.code : `not an AuthError: ${e}`),
  );

describe('Cognito identity provider (recorded responses)', () => {
  it('signs in with USER_PASSWORD_AUTH and reads the profile and expiry from the ID token', async () => {
    const client = scripted([
      { ...passwordAuth('ana@example.com', 'Correct-Horse-9'), output: recorded('initiate-auth-password.json') },
    ]);
    const auth = await createCognitoIdentityProvider({ clientId: CLIENT_ID, client }).signIn(
      ' Ana@Example.com',
      'Correct-Horse-9',
    );
    expect(auth).toMatchObject({
      sub: SUB,
      username: SUB,
      email: 'ana@example.com',
      name: 'Ana Lima',
      method: 'email',
      refreshToken: expect.stringContaining('EXAMPLE-REFRESH'),
    });
    expect(auth.idToken).toBe(
      (recorded('initiate-auth-password.json').AuthenticationResult as { IdToken: string }).IdToken,
    );
    expect(auth.idTokenExpiresAt.toISOString()).toBe('2100-01-01T01:00:00.000Z');
    expect(client.mismatches).toEqual([]);
    expect(client.left()).toBe(0);
  });

  it('maps Cognito’s refusals to what the shopper can act on', async () => {
    const clients: ReturnType<typeof scripted>[] = [];
    const provider = (step: Partial<Step>) => {
      const client = scripted([{ ...passwordAuth('ana@example.com', 'x'), ...step }]);
      clients.push(client);
      return createCognitoIdentityProvider({ clientId: CLIENT_ID, client });
    };
    expect(
      await Promise.all([
        codeOf(
          provider({ error: sdkError(NotAuthorizedException, 'Incorrect username or password.') }).signIn(
            'ana@example.com',
            'x',
          ),
        ),
        codeOf(
          provider({ error: sdkError(UserNotConfirmedException, 'User is not confirmed.') }).signIn(
            'ana@example.com',
            'x',
          ),
        ),
        codeOf(provider({ output: recorded('initiate-auth-mfa-challenge.json') }).signIn('ana@example.com', 'x')),
        codeOf(provider({ error: sdkError(InternalErrorException, 'Internal error') }).signIn('ana@example.com', 'x')),
      ]),
    ).toEqual(['invalid_credentials', 'not_confirmed', 'challenge_unsupported', 'provider_unavailable']);
    expect(clients.flatMap((c) => c.mismatches)).toEqual([]);
  });

  it('signs up with e-mail and name attributes; the pool then asks for the code it mailed', async () => {
    const signUp = {
      command: 'SignUpCommand',
      input: {
        ClientId: CLIENT_ID,
        Username: 'ana@example.com',
        Password: 'Correct-Horse-9',
        UserAttributes: [
          { Name: 'email', Value: 'ana@example.com' },
          { Name: 'name', Value: 'Ana Lima' },
        ],
      },
    };
    const client = scripted([
      { ...signUp, output: recorded('sign-up-unconfirmed.json') },
      {
        command: 'ConfirmSignUpCommand',
        input: { ClientId: CLIENT_ID, Username: 'ana@example.com', ConfirmationCode: '123456' },
        output: recorded('confirm-sign-up.json'),
      },
      { ...signUp, error: sdkError(UsernameExistsException, 'User already exists') },
      {
        command: 'ConfirmSignUpCommand',
        input: { ClientId: CLIENT_ID, Username: 'ana@example.com', ConfirmationCode: '654321' },
        error: sdkError(CodeMismatchException, 'Invalid verification code provided, please try again.'),
      },
    ]);
    const provider = createCognitoIdentityProvider({ clientId: CLIENT_ID, client });
    const input = { email: 'ana@example.com', password: 'Correct-Horse-9', name: ' Ana Lima ' };
    expect(await provider.signUp(input)).toEqual({
      status: 'confirmation_required',
      sub: SUB,
      destination: 'a***@e***',
    });
    await provider.confirmSignUp('ana@example.com', ' 123456 ');
    expect(await codeOf(provider.signUp(input))).toBe('user_exists');
    expect(await codeOf(provider.confirmSignUp('ana@example.com', '654321'))).toBe('invalid_code');
    // Not digits: refused before any call.
    expect(await codeOf(provider.confirmSignUp('ana@example.com', 'abc'))).toBe('invalid_code');
    expect(client.mismatches).toEqual([]);
    expect(client.left()).toBe(0);
  });

  it('renews the ID token with the refresh token, and ends the session when Cognito revoked it', async () => {
    const refresh = {
      command: 'InitiateAuthCommand',
      input: { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT_ID, AuthParameters: { REFRESH_TOKEN: 'refresh-1' } },
    };
    const client = scripted([
      { ...refresh, output: recorded('initiate-auth-refresh.json') },
      { ...refresh, error: sdkError(NotAuthorizedException, 'Refresh Token has been revoked') },
    ]);
    const provider = createCognitoIdentityProvider({ clientId: CLIENT_ID, client });
    const profile = { sub: SUB, username: SUB, email: 'ana@example.com', name: 'Ana', method: 'email' as const };
    const tokens = await provider.refresh(profile, 'refresh-1');
    // Cognito sends no new refresh token with a refresh: the old one stays in use.
    expect(tokens).toMatchObject({ refreshToken: 'refresh-1' });
    expect(tokens.idTokenExpiresAt.toISOString()).toBe('2100-01-01T02:00:00.000Z');
    expect(await codeOf(provider.refresh(profile, 'refresh-1'))).toBe('session_expired');
    expect(await codeOf(provider.refresh(profile, undefined))).toBe('session_expired');
    expect(client.mismatches).toEqual([]);
  });
});
