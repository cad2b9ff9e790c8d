/**
 * IdentityFlow — component (5): the Cognito user pool whose ID tokens the ingest service verifies
 * (aws-jwt-verify) to set user_id / user_login_state / identity_source, and the public app client
 * the shop signs in with.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { ClickstreamSettings } from '../settings.ts';

export class IdentityFlow extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: { settings: Pick<ClickstreamSettings, 'deletionProtection'> }) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'Users', {
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      autoVerify: { email: true },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: props.settings.deletionProtection,
      removalPolicy: props.settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason: 'Shoppers sign up themselves; MFA is offered (TOTP) but not forced, and threat protection is on.',
    });

    // The shop's client: no secret, SRP sign-in for browsers, and USER_PASSWORD_AUTH for the
    // storefront's server-side sign-in (services/identity/cognito.ts: the password goes from the
    // shop's server to Cognito over TLS); ID tokens the ingest API accepts as the audience.
    this.client = this.userPool.addClient('Shop', {
      generateSecret: false,
      authFlows: { userSrp: true, userPassword: true },
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });
  }
}
