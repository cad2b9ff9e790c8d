/**
 * StorefrontFlow — component (4): the demo shop on Amplify Hosting compute (`WEB_COMPUTE`), deployed
 * without a repository connection: `npm run build:storefront` makes the deployment bundle and
 * `aws amplify create-deployment` / `start-deployment` upload it (docs/infra.md). The compute role
 * is all the shop's AWS access: the RDS Data API on the OLTP cluster and the secret of its own
 * DML-only login `shop_app` (never the admin's: OltpSetup migrates and keeps that login at deploy).
 *
 * Amplify does not pass branch variables to the compute runtime; they are set here anyway as the
 * one place the deploy command reads the shop's settings from (build:storefront bakes them).
 */
import { Stack } from 'aws-cdk-lib';
import * as amplify from 'aws-cdk-lib/aws-amplify';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { logGroupProps } from '../defaults.ts';
import { DATA_API_ACTIONS, OLTP_DATABASE, OltpSetup } from './oltp-setup.ts';

export const SHOP_BRANCH = 'main';
export interface StorefrontFlowProps {
  userPool: cognito.IUserPool;
  userPoolClient: cognito.IUserPoolClient;
  /** The tracker's POST /clickstream URL. */
  ingestUrl: string;
  /** `https://<distribution domain>` serving product images. */
  mediaBaseUrl: string;
  oltp: rds.DatabaseCluster;
}

export class StorefrontFlow extends Construct {
  readonly app: amplify.CfnApp;
  readonly branch: amplify.CfnBranch;
  readonly computeRole: iam.Role;
  readonly oltpSetup: OltpSetup;
  /** `https://main.<app id>.amplifyapp.com` — the origin the tracker posts from. */
  readonly origin: string;

  constructor(scope: Construct, id: string, props: StorefrontFlowProps) {
    super(scope, id);
    // The cluster's admin secret stays with the deploy step; the shop gets shop_app's.
    this.oltpSetup = new OltpSetup(this, 'OltpSetup', { oltp: props.oltp });
    const secret = this.oltpSetup.shopSecret;

    this.computeRole = new iam.Role(this, 'ComputeRole', {
      assumedBy: new iam.ServicePrincipal('amplify.amazonaws.com'),
      description: 'Storefront on Amplify compute: the RDS Data API on the OLTP cluster as shop_app, nothing else',
    });
    this.computeRole.addToPolicy(
      new iam.PolicyStatement({ actions: DATA_API_ACTIONS, resources: [props.oltp.clusterArn] }),
    );
    this.computeRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );

    this.app = new amplify.CfnApp(this, 'App', {
      name: `${Stack.of(this).stackName}-shop`,
      description: 'Clickstream demo storefront (manual deployments of npm run build:storefront)',
      platform: 'WEB_COMPUTE',
      computeRoleArn: this.computeRole.roleArn,
    });
    this.origin = `https://${SHOP_BRANCH}.${this.app.attrDefaultDomain}`;
    // Amplify writes the compute's logs here; created first so they get a retention.
    new logs.LogGroup(this, 'ComputeLogs', {
      ...logGroupProps(),
      logGroupName: `/aws/amplify/${this.app.attrAppId}`,
    });

    const environment: Record<string, string> = {
      COGNITO_USER_POOL_ID: props.userPool.userPoolId,
      COGNITO_CLIENT_ID: props.userPoolClient.userPoolClientId,
      INGEST_URL: props.ingestUrl,
      MEDIA_BASE_URL: props.mediaBaseUrl,
      OLTP_DATA_API_RESOURCE_ARN: props.oltp.clusterArn,
      OLTP_DATA_API_SECRET_ARN: secret.secretArn,
      OLTP_DATA_API_DATABASE: OLTP_DATABASE,
    };
    this.branch = new amplify.CfnBranch(this, 'Branch', {
      appId: this.app.attrAppId,
      branchName: SHOP_BRANCH,
      stage: 'PRODUCTION',
      framework: 'Web',
      enableAutoBuild: false,
      environmentVariables: Object.entries(environment).map(([name, value]) => ({ name, value })),
    });
  }
}
