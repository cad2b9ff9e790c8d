/**
 * OltpSetup — the deploy-time OLTP step: the shop's own login `shop_app` (a generated secret) and
 * a custom resource whose function, holding the cluster's admin secret, applies migrations/oltp/
 * and creates/updates `shop_app` with DML-only grants on schema `shop` (infra/lambda/oltp-setup.ts).
 * It runs on every deploy whose migrations changed (their hash is a property) and on the first
 * one; the storefront's compute role gets only `shop_app`'s secret.
 *
 * The function is not in the VPC: the Data API needs no network path to the cluster, and the
 * custom resource response goes to CloudFormation's pre-signed S3 URL, which the isolated
 * subnets (no NAT) could not reach.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { logGroupProps, nodeFunctionProps, REPO_ROOT } from '../defaults.ts';
import { functionRole } from './function-role.ts';

export const SHOP_ROLE = 'shop_app';
export const OLTP_DATABASE = 'shop';
/** The Data API calls Drizzle's aws-data-api/pg driver makes (statements and transactions). */
export const DATA_API_ACTIONS = [
  'rds-data:ExecuteStatement',
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
];
const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations', 'oltp');

/** sha256 over every file of migrations/oltp/ (names and contents, sorted): a new migration → a new deploy step. */
export function oltpMigrationsHash(dir = MIGRATIONS_DIR): string {
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else
        hash
          .update(`${child}\0`)
          .update(readFileSync(path.join(dir, child)))
          .update('\0');
    }
  };
  walk('');
  return hash.digest('hex');
}

export interface OltpSetupProps {
  oltp: rds.DatabaseCluster;
}

export class OltpSetup extends Construct {
  /** `{ username: shop_app, password }`: what the shop's Data API calls sign in with. */
  readonly shopSecret: secretsmanager.Secret;
  readonly function: nodejs.NodejsFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: OltpSetupProps) {
    super(scope, id);
    const adminSecret = props.oltp.secret!;

    this.shopSecret = new secretsmanager.Secret(this, 'ShopSecret', {
      description: `OLTP login ${SHOP_ROLE} (DML on schema shop only) for the storefront's Data API calls`,
      generateSecretString: {
        secretStringTemplate: Stack.of(this).toJsonString({ username: SHOP_ROLE }),
        generateStringKey: 'password',
        passwordLength: 40,
        excludePunctuation: true,
      },
    });
    Validations.of(this.shopSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The deploy-time OLTP step applies whatever password this secret holds; rotating it is put-secret-value + invoking the setup function (docs/infra.md), no rotation Lambda.',
    });

    const logGroup = new logs.LogGroup(this, 'FunctionLogs', logGroupProps());
    const role = functionRole(this, 'FunctionRole', logGroup, { vpc: false });
    role.addToPolicy(new iam.PolicyStatement({ actions: DATA_API_ACTIONS, resources: [props.oltp.clusterArn] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [adminSecret.secretArn, this.shopSecret.secretArn],
      }),
    );

    const fnProps = nodeFunctionProps('infra/lambda/oltp-setup.ts');
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...fnProps,
      bundling: {
        ...fnProps.bundling,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The migrator reads the SQL files at run time, next to the bundle.
          afterBundling: (inputDir: string, outputDir: string) => [
            `cp -R "${path.join(inputDir, 'migrations', 'oltp')}" "${path.join(outputDir, 'migrations-oltp')}"`,
          ],
        },
      },
      description: 'Deploy-time OLTP step: migrations/oltp as admin, then the shop_app login (Data API)',
      role,
      logGroup,
      memorySize: 256,
      // A paused cluster resumes first (~15 s), then the migrations run.
      timeout: Duration.minutes(5),
      environment: {
        ...fnProps.environment,
        OLTP_CLUSTER_ARN: props.oltp.clusterArn,
        OLTP_ADMIN_SECRET_ARN: adminSecret.secretArn,
        OLTP_DATABASE,
        SHOP_SECRET_ARN: this.shopSecret.secretArn,
      },
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::OltpSetup',
      properties: { migrations: oltpMigrationsHash(), shopSecret: this.shopSecret.secretArn },
    });
    // The writer instance must be up before the Data API answers.
    this.resource.node.addDependency(props.oltp);
  }
}
