/**
 * IngestFlow — components (6), (7), (8): HTTP API `POST /clickstream` → ingest Lambda
 * (services/ingest/lambda.ts) → raw lake bucket. The function may only PUT objects under
 * `events/` and `quarantine/`; it can neither read nor list the lake.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { logGroupProps, nodeFunctionProps, rawLakeLifecycleRules, secureBucketProps } from '../defaults.ts';
import { nagArnToken } from '../nag.ts';
import type { ClickstreamSettings } from '../settings.ts';
import type { AlertTopic } from './alerts.ts';
import { functionRole } from './function-role.ts';

/** The lake areas the ingest service writes (services/lake/raw-store.ts key layout). */
export const INGEST_WRITE_PREFIXES = ['events/', 'quarantine/'] as const;

/** HTTP API access log line; full client IPs are kept here (90 days) for abuse investigation only. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
};

export interface IngestFlowProps {
  settings: Pick<ClickstreamSettings, 'corsOrigins' | 'throttle'>;
  accessLogs: s3.IBucket;
  userPool: cognito.IUserPool;
  userPoolClient: cognito.IUserPoolClient;
  alerts: AlertTopic;
}

export class IngestFlow extends Construct {
  readonly rawBucket: s3.Bucket;
  readonly function: nodejs.NodejsFunction;
  readonly api: apigw.HttpApi;
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: IngestFlowProps) {
    super(scope, id);
    const { settings } = props;

    this.rawBucket = new s3.Bucket(this, 'RawLake', {
      ...secureBucketProps(props.accessLogs, 'raw-lake/'),
      lifecycleRules: rawLakeLifecycleRules(),
    });

    const logGroup = new logs.LogGroup(this, 'FunctionLogs', logGroupProps());
    const role = functionRole(this, 'FunctionRole', logGroup, { vpc: false });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: INGEST_WRITE_PREFIXES.map((prefix) => this.rawBucket.arnForObjects(`${prefix}*`)),
      }),
    );
    const lakeArn = nagArnToken(this.rawBucket);
    Validations.of(role).acknowledge(
      ...INGEST_WRITE_PREFIXES.map((prefix) => ({
        id: `AwsSolutions-IAM5[Resource::${lakeArn}/${prefix}*]`,
        reason:
          'Object keys are time-partitioned ULIDs unknown in advance; the grant is PutObject only, under this one prefix.',
      })),
    );

    const fnProps = nodeFunctionProps('services/ingest/lambda.ts');
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...fnProps,
      description: 'POST /clickstream: validate, enrich, write batches to the raw lake',
      role,
      logGroup,
      memorySize: 512,
      timeout: Duration.seconds(10),
      environment: {
        ...fnProps.environment,
        LAKE_URL: `s3://${this.rawBucket.bucketName}`,
        COGNITO_USER_POOL_ID: props.userPool.userPoolId,
        COGNITO_CLIENT_ID: props.userPoolClient.userPoolClientId,
        CORS_ORIGINS: settings.corsOrigins.join(','),
        LOG_LEVEL: 'info',
      },
    });

    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Clickstream ingest',
      createDefaultStage: false,
      corsPreflight: settings.corsOrigins.length
        ? {
            allowOrigins: settings.corsOrigins,
            allowMethods: [apigw.CorsHttpMethod.POST],
            allowHeaders: ['content-type', 'content-encoding', 'authorization'],
            maxAge: Duration.hours(1),
          }
        : undefined,
    });
    this.api.addRoutes({
      path: '/clickstream',
      methods: [apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('Ingest', this.function),
    });
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', logGroupProps());
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.throttle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.endpoint = `${stage.url}clickstream`;
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Anonymous visitors send events by design; an optional Cognito ID token is verified inside the function (aws-jwt-verify) and only sets identity fields. Abuse is bounded by stage throttling and body/event limits.',
    });

    // 5xx means a durable write failed (the tracker retries); any of them is worth a look.
    props.alerts.notify(
      new cloudwatch.Alarm(this, 'Api5xx', {
        alarmDescription: 'Ingest API returned 5xx (lake write failed or function error)',
        metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    props.alerts.notify(
      new cloudwatch.Alarm(this, 'FunctionErrors', {
        alarmDescription: 'Ingest function errors',
        metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
