import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Json, type Resource, templateQueries } from './template-queries.ts';
import { buildTestApp } from './test-app.ts';

const refs = (list: { Ref: string }[]) => list.map((item) => item.Ref).sort();

// One synth for the whole file: every assertion reads the same template.
let template: Template;
let resources: Record<string, Resource>;
beforeAll(() => {
  const { app, stack } = buildTestApp({
    'clickstream:corsOrigins': 'https://shop.example.com',
    'clickstream:alertEmail': 'oncall@example.com',
  });
  app.synth();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

const { ofType, logicalIdOf, isolatedSubnets, policyStatements } = templateQueries(() => resources);
/** Every statement of the inline policies attached to the role whose logical id contains `rolePart`. */
const statementsOf = (rolePart: string) => policyStatements(logicalIdOf('AWS::IAM::Role', rolePart));
const actionsOf = (statement: Json): string[] => [statement.Action].flat();
const rawLakeId = () => logicalIdOf('AWS::S3::Bucket', 'RawLake');
const lakeObjects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [rawLakeId(), 'Arn'] }, `/${prefix}`]] });

describe('network: no NAT, endpoints instead', () => {
  it('has no NAT gateway and the only default route goes to the internet gateway (public subnets)', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const routes = ofType('AWS::EC2::Route').map(([, r]) => r.Properties);
    expect(routes.length).toBe(2);
    for (const route of routes) {
      expect(route.GatewayId).toEqual({ Ref: logicalIdOf('AWS::EC2::InternetGateway', 'Vpc') });
      expect(route.NatGatewayId).toBeUndefined();
    }
  });

  it('routes S3 from the isolated subnets through a gateway endpoint', () => {
    const isolatedTables = ofType('AWS::EC2::SubnetRouteTableAssociation')
      .filter(([, a]) => isolatedSubnets().includes(a.Properties.SubnetId.Ref))
      .map(([, a]) => a.Properties.RouteTableId);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      RouteTableIds: Match.arrayWith(isolatedTables),
    });
    const gateway = ofType('AWS::EC2::VPCEndpoint').find(([, e]) => e.Properties.VpcEndpointType === 'Gateway')!;
    expect(JSON.stringify(gateway[1].Properties.ServiceName)).toMatch(/\.s3"/);
  });

  it('has interface endpoints for Session Manager, Secrets Manager and SNS in the isolated subnets', () => {
    const services = ofType('AWS::EC2::VPCEndpoint')
      .filter(([, e]) => e.Properties.VpcEndpointType === 'Interface')
      .map(([, e]) => {
        expect(refs(e.Properties.SubnetIds)).toEqual(isolatedSubnets());
        expect(e.Properties.PrivateDnsEnabled).toBe(true);
        return /\.([a-z0-9]+)"\]\]\}$/.exec(JSON.stringify(e.Properties.ServiceName))![1];
      });
    expect(services.sort()).toEqual(['ec2messages', 'secretsmanager', 'sns', 'ssm', 'ssmmessages']);
  });

  it('logs all VPC traffic', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });

  it('runs the bastion in an isolated subnet with IMDSv2, an encrypted disk, SSM and no inbound rule', () => {
    const [, bastion] = ofType('AWS::EC2::Instance')[0]!;
    const [nic] = bastion.Properties.NetworkInterfaces;
    expect(isolatedSubnets()).toContain(nic.SubnetId.Ref);
    expect(nic.AssociatePublicIpAddress).toBe(false);
    expect(bastion.Properties.KeyName).toBeUndefined();
    expect(bastion.Properties.BlockDeviceMappings[0].Ebs.Encrypted).toBe(true);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
    });
    const sgId = nic.GroupSet[0]['Fn::GetAtt'][0];
    expect(resources[sgId]!.Properties.SecurityGroupIngress).toBeUndefined();
    expect(
      ofType('AWS::EC2::SecurityGroupIngress').filter(([, i]) => i.Properties.GroupId['Fn::GetAtt']?.[0] === sgId),
    ).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [
        Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/AmazonSSMManagedInstanceCore'])] }),
      ],
    });
  });
});

/** The Amplify branch's origin, `https://main.<app default domain>`. */
const shopOrigin = () => ({
  'Fn::Join': [
    '',
    ['https://main.', { 'Fn::GetAtt': [logicalIdOf('AWS::Amplify::App', 'StorefrontApp'), 'DefaultDomain'] }],
  ],
});

describe('ingest flow', () => {
  it('serves POST /clickstream on a throttled, access-logged $default stage with CORS from context and the shop', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /clickstream' });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: { AllowOrigins: ['https://shop.example.com', shopOrigin()], AllowMethods: ['POST'] },
    });
  });

  it('configures the ingest function with the lake, the Cognito pool/client and CORS origins', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LAKE_URL: { 'Fn::Join': ['', ['s3://', { Ref: rawLakeId() }]] },
          COGNITO_USER_POOL_ID: { Ref: logicalIdOf('AWS::Cognito::UserPool', 'Users') },
          COGNITO_CLIENT_ID: { Ref: logicalIdOf('AWS::Cognito::UserPoolClient', 'Shop') },
          CORS_ORIGINS: {
            'Fn::Join': ['', ['https://shop.example.com,https://main.', shopOrigin()['Fn::Join'][1][1]]],
          },
        }),
      },
    });
  });

  it('lets the shop’s app client sign in with SRP (browsers) and USER_PASSWORD_AUTH (the storefront server), with no secret', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']),
    });
  });

  it('lets the ingest role PutObject under events/ and quarantine/ only: no read, no list, no delete', () => {
    const s3 = statementsOf('IngestFunctionRole').filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([
      { Effect: 'Allow', Action: 's3:PutObject', Resource: [lakeObjects('events/*'), lakeObjects('quarantine/*')] },
    ]);
    const all = statementsOf('IngestFunctionRole').flatMap(actionsOf).sort();
    expect(all).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:PutObject']);
    const role = resources[logicalIdOf('AWS::IAM::Role', 'IngestFunctionRole')]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('etl flow', () => {
  it('runs the ETL function every hour', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf('AWS::Lambda::Function', 'EtlFunction'), 'Arn'] } }),
      ],
    });
  });

  it('puts the ETL function in the isolated subnets, password-free: the secret ARN, not the secret', () => {
    const fn = resources[logicalIdOf('AWS::Lambda::Function', 'EtlFunction')]!.Properties;
    expect(refs(fn.VpcConfig.SubnetIds)).toEqual(isolatedSubnets());
    const env = fn.Environment.Variables;
    expect(env.DATABASE_SECRET_ARN).toEqual({
      Ref: logicalIdOf('AWS::SecretsManager::SecretTargetAttachment', 'EtlWarehouse'),
    });
    expect(env.ALERT_TOPIC_ARN).toEqual({ Ref: logicalIdOf('AWS::SNS::Topic', 'Alerts') });
    expect(env.LAKE_URL).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: rawLakeId() }]] });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|password/i);
  });

  it('lets the ETL role read events/, list only events/, write quarantine/ — nothing else in the lake', () => {
    const s3 = statementsOf('EtlFunctionRole').filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: lakeObjects('events/*') },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [rawLakeId(), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['events/*'] } },
      },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: lakeObjects('quarantine/*') },
    ]);
    const others = statementsOf('EtlFunctionRole').flatMap(actionsOf);
    expect(others).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'sns:Publish']));
    expect(others.filter((a) => a.includes('*') && !a.startsWith('kms:GenerateDataKey'))).toEqual([]);
  });

  it('admits to the warehouse port only the ETL function, the bastion and the dashboard host', () => {
    const dbSg = logicalIdOf('AWS::EC2::SecurityGroup', 'WarehouseSg');
    const sources = ofType('AWS::EC2::SecurityGroupIngress')
      .filter(([, i]) => i.Properties.GroupId['Fn::GetAtt'][0] === dbSg)
      .map(([, i]) => {
        expect(i.Properties.FromPort).toEqual({
          'Fn::GetAtt': [logicalIdOf('AWS::RDS::DBInstance', 'EtlWarehouse'), 'Endpoint.Port'],
        });
        return i.Properties.SourceSecurityGroupId['Fn::GetAtt'][0] as string;
      });
    const rotation = sources.filter((s) => s.includes('Rotation'));
    expect(sources.filter((s) => !rotation.includes(s)).sort()).toEqual(
      [
        logicalIdOf('AWS::EC2::SecurityGroup', 'EtlFunctionSg'),
        logicalIdOf('AWS::EC2::SecurityGroup', 'BastionSg'),
        logicalIdOf('AWS::EC2::SecurityGroup', 'DashboardHostSg'),
      ].sort(),
    );
    expect(resources[dbSg]!.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('alarms on ETL errors, long runs and missed runs, ingest 5xx and the dashboard host, into the alert topic', () => {
    const topic = { Ref: logicalIdOf('AWS::SNS::Topic', 'Alerts') };
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topic]);
    const byMetric = alarms.map((a) => `${a.Namespace}/${a.MetricName}`).sort();
    expect(byMetric).toEqual([
      'AWS/ApiGateway/5xx',
      'AWS/EC2/StatusCheckFailed',
      'AWS/Lambda/Duration',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Invocations',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 480_000 });
    // A schedule that stops firing raises an alarm: missing invocations count as breaching.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });
});

describe('data at rest and in transit', () => {
  it('encrypts and blocks public access on every bucket, and denies non-TLS requests', () => {
    const buckets = ofType('AWS::S3::Bucket'); // access logs, raw lake, media, Athena results
    expect(buckets).toHaveLength(4);
    for (const [id, bucket] of buckets) {
      expect(
        bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toEqual({
        SSEAlgorithm: 'AES256',
      });
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('keeps the raw lake versioned, access-logged, and moves old events to Glacier Instant Retrieval', () => {
    const lake = resources[rawLakeId()]!.Properties;
    expect(lake.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(lake.LoggingConfiguration.DestinationBucketName).toEqual({
      Ref: logicalIdOf('AWS::S3::Bucket', 'AccessLogs'),
    });
    expect(lake.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Prefix: 'events/',
          Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }],
        }),
        expect.objectContaining({ Prefix: 'quarantine/', ExpirationInDays: 180 }),
        expect.objectContaining({ Prefix: 'replayed/', ExpirationInDays: 180 }),
      ]),
    );
    expect(JSON.stringify(lake.LifecycleConfiguration.Rules.find((r: Json) => r.Prefix === 'events/'))).not.toMatch(
      /Expiration/,
    );
  });

  it('keeps both databases private, encrypted, multi-AZ, protected and in the isolated subnets', () => {
    const [[warehouseId, warehouse], ...others] = ofType('AWS::RDS::DBInstance').filter(
      ([, d]) => d.Properties.Engine === 'postgres',
    );
    expect(others).toEqual([]);
    expect(warehouseId).toMatch(/^EtlWarehouse/);
    expect(warehouse.Properties).toMatchObject({
      PubliclyAccessible: false,
      StorageEncrypted: true,
      MultiAZ: true,
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
    });
    expect(refs(resources[warehouse.Properties.DBSubnetGroupName.Ref]!.Properties.SubnetIds)).toEqual(
      isolatedSubnets(),
    );
    // The OLTP database: Aurora Serverless v2, a writer and a reader (two AZs), Data API on.
    const [[, oltp]] = ofType('AWS::RDS::DBCluster');
    expect(oltp.Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      StorageEncrypted: true,
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      EnableHttpEndpoint: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
    expect(refs(resources[oltp.Properties.DBSubnetGroupName.Ref]!.Properties.SubnetIds)).toEqual(isolatedSubnets());
    const members = ofType('AWS::RDS::DBInstance').filter(([, d]) => d.Properties.Engine === 'aurora-postgresql');
    expect(members).toHaveLength(2);
    for (const [, m] of members) {
      expect(m.Properties.DBInstanceClass).toBe('db.serverless');
      expect(m.Properties.PubliclyAccessible).toBe(false);
    }
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
  });

  it('encrypts the alert topic with a rotating KMS key and refuses non-TLS publishing', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf('AWS::KMS::Key', 'Alerts'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('sets a retention on every log group', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBe(6); // flow logs, API access logs, three functions, Amplify compute
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('serves media through CloudFront with Origin Access Control, HTTPS only', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        Origins: [
          Match.objectLike({
            OriginAccessControlId: { 'Fn::GetAtt': [logicalIdOf('AWS::CloudFront::OriginAccessControl', 'Cdn'), 'Id'] },
          }),
        ],
        Logging: Match.objectLike({ Bucket: Match.anyValue() }),
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf('AWS::S3::Bucket', 'WebMedia') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });
});
