/**
 * EtlFlow — components (9), (11), (12), (17): EventBridge `rate(1 hour)` → ETL Lambda in the
 * isolated subnets → warehouse PostgreSQL (RDS). The function reads `events/` of the raw lake
 * through the S3 gateway endpoint and writes only the `quarantine/` objects for lines it rejects;
 * its database password comes from Secrets Manager at run time (services/etl/lambda.ts createRotatingHandler).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { logGroupProps, nodeFunctionProps, postgresInstanceProps } from '../defaults.ts';
import { nagArnToken } from '../nag.ts';
import type { ClickstreamSettings } from '../settings.ts';
import type { AlertTopic } from './alerts.ts';
import { functionRole } from './function-role.ts';
import { ISOLATED_SUBNETS } from './network.ts';

export const ETL_TIMEOUT = Duration.minutes(10);
/** The warehouse's read-only login (the dashboard host's), created by the ETL handler. */
export const READER_ROLE = 'dashboard_reader';

export interface EtlFlowProps {
  settings: Pick<ClickstreamSettings, 'multiAz' | 'deletionProtection'>;
  vpc: ec2.IVpc;
  rawBucket: s3.IBucket;
  alerts: AlertTopic;
  /** Hosts allowed to reach the warehouse port besides the ETL function (the SSM bastion). */
  adminAccess: ec2.IConnectable;
}

export class EtlFlow extends Construct {
  readonly warehouse: rds.DatabaseInstance;
  readonly function: nodejs.NodejsFunction;
  readonly schedule: events.Rule;
  /** `{ username, password, host, port, dbname }` of the read-only role the ETL keeps in step. */
  readonly readerSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: EtlFlowProps) {
    super(scope, id);

    this.warehouse = new rds.DatabaseInstance(this, 'Warehouse', {
      ...postgresInstanceProps(props.vpc, props.settings, 'clickstream'),
      securityGroups: [
        new ec2.SecurityGroup(this, 'WarehouseSg', {
          vpc: props.vpc,
          description: 'Warehouse PostgreSQL: ETL function and SSM bastion only',
          allowAllOutbound: false,
        }),
      ],
    });
    this.warehouse.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
    acknowledgeDatabase(this.warehouse, props.settings);

    this.readerSecret = new secretsmanager.Secret(this, 'ReaderSecret', {
      description: `Warehouse read-only login ${READER_ROLE} (the ETL creates the role; the dashboard host reads it)`,
      generateSecretString: {
        secretStringTemplate: Stack.of(this).toJsonString({
          username: READER_ROLE,
          host: this.warehouse.dbInstanceEndpointAddress,
          port: this.warehouse.dbInstanceEndpointPort,
          dbname: 'clickstream',
        }),
        generateStringKey: 'password',
        passwordLength: 40,
        excludePunctuation: true,
      },
    });
    Validations.of(this.readerSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A read-only login: the ETL applies whatever password the secret holds before each hourly run, so rotating it is put-secret-value + restarting the dashboard service; no rotation Lambda for it.',
    });

    const logGroup = new logs.LogGroup(this, 'FunctionLogs', logGroupProps());
    const role = functionRole(this, 'FunctionRole', logGroup, { vpc: true });
    const lake = props.rawBucket;
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [lake.arnForObjects('events/*')] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [lake.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['events/*'] } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [lake.arnForObjects('quarantine/*')] }),
    );
    const lakeArn = nagArnToken(lake);
    Validations.of(role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${lakeArn}/events/*]`,
        reason:
          'The ETL reads any hour of the event area (scheduled look-back and backfills); read-only, this prefix only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${lakeArn}/quarantine/*]`,
        reason:
          'Lines the ETL rejects are written as new quarantine objects with time-partitioned keys; PutObject only.',
      },
    );

    const functionSg = new ec2.SecurityGroup(this, 'FunctionSg', {
      vpc: props.vpc,
      description: 'ETL function: egress to the warehouse and VPC endpoints (isolated subnets have no internet route)',
    });
    const secret = this.warehouse.secret!;
    const fnProps = nodeFunctionProps('services/etl/lambda.ts');
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...fnProps,
      description: 'Hourly ETL: raw lake → warehouse (exactly-once ledger)',
      role,
      logGroup,
      vpc: props.vpc,
      vpcSubnets: ISOLATED_SUBNETS,
      securityGroups: [functionSg],
      memorySize: 1024,
      timeout: ETL_TIMEOUT,
      // No reserved concurrency: overlapping runs are already safe (the ETL takes an advisory lock
      // and a second run skips), and reserving would fail to deploy in accounts at the default
      // concurrency quota of 10.
      environment: {
        ...fnProps.environment,
        LAKE_URL: `s3://${lake.bucketName}`,
        DATABASE_SECRET_ARN: secret.secretArn,
        ALERT_TOPIC_ARN: props.alerts.topic.topicArn,
        DASHBOARD_READER_SECRET_ARN: this.readerSecret.secretArn,
        ETL_LOOKBACK_HOURS: '24',
        LOG_LEVEL: 'info',
        // Node 20 on Lambda no longer trusts the Amazon RDS CAs by default; the runtime ships them here.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
    });
    secret.grantRead(role);
    this.readerSecret.grantRead(role);
    props.alerts.topic.grantPublish(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        "Publishing to the encrypted alert topic needs data keys from the topic's one KMS key (grantPublish); the wildcard only spans GenerateDataKey variants on that key.",
    });
    this.warehouse.connections.allowDefaultPortFrom(this.function, 'ETL function');
    this.warehouse.connections.allowDefaultPortFrom(props.adminAccess, 'SSM port forwarding from the bastion');

    this.schedule = new events.Rule(this, 'Hourly', {
      description: 'Load new raw-lake objects into the warehouse',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    props.alerts.notify(
      new cloudwatch.Alarm(this, 'FunctionErrors', {
        alarmDescription: 'ETL run failed (the run summary was also published to this topic)',
        metric: this.function.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    // A disabled rule or a broken trigger is silent otherwise: no run, no error, no alarm.
    props.alerts.notify(
      new cloudwatch.Alarm(this, 'NotRunning', {
        alarmDescription: 'No ETL invocation for 3 hours (schedule disabled or trigger broken)',
        metric: this.function.metricInvocations({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
    props.alerts.notify(
      new cloudwatch.Alarm(this, 'FunctionDuration', {
        alarmDescription: 'ETL run took over 80% of its timeout',
        metric: this.function.metricDuration({ period: Duration.hours(1), statistic: 'Maximum' }),
        threshold: ETL_TIMEOUT.toMilliseconds() * 0.8,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

/** The acknowledgements both PostgreSQL instances share, each with its reason. */
export function acknowledgeDatabase(
  db: rds.DatabaseInstance,
  settings: Pick<ClickstreamSettings, 'multiAz' | 'deletionProtection'>,
): void {
  Validations.of(db).acknowledge({
    id: 'AwsSolutions-RDS11',
    reason:
      'Reachable only from named security groups in isolated subnets; a non-standard port adds no protection and breaks tooling defaults.',
  });
  if (!settings.multiAz) {
    Validations.of(db).acknowledge({
      id: 'AwsSolutions-RDS3',
      reason: 'Multi-AZ switched off by context clickstream:multiAz=false for a non-production deployment.',
    });
  }
  if (!settings.deletionProtection) {
    Validations.of(db).acknowledge({
      id: 'AwsSolutions-RDS10',
      reason:
        'Deletion protection switched off by context clickstream:deletionProtection=false for a throwaway deployment.',
    });
  }
}
