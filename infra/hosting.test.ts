/**
 * The servers the stack hosts: the dashboard host (isolated, no inbound rule, read-only
 * warehouse access, nothing from the internet) — and no security group anywhere opens the
 * database or dashboard ports to the world. One synth for the file.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_PORT, NODE_BINARY, NODE_PACKAGE } from './flows/dashboard.ts';
import { oltpMigrationsHash } from './flows/oltp-setup.ts';
import { type Json, type Resource, templateQueries } from './template-queries.ts';
import { buildTestApp } from './test-app.ts';

let template: Template;
let resources: Record<string, Resource>;
beforeAll(() => {
  const { app, stack } = buildTestApp();
  app.synth();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

const { ofType, logicalIdOf, isolatedSubnets, policyStatements: statementsOf } = templateQueries(() => resources);

/** CloudFormation string expression → text, every reference spelled `<Ref>` / `<Res.Attr>`. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value['Fn::Base64']) return render(value['Fn::Base64']);
  if (value['Fn::Join']) return value['Fn::Join'][1].map(render).join(value['Fn::Join'][0]);
  if (value.Ref) return `<${value.Ref}>`;
  if (value['Fn::GetAtt']) return `<${value['Fn::GetAtt'].join('.')}>`;
  if (value['Fn::Sub']) return value['Fn::Sub'];
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

describe('dashboard host', () => {
  const host = () => resources[logicalIdOf('AWS::EC2::Instance', 'DashboardHost')]!.Properties;

  it('runs AL2023 arm64 on t4g in an isolated subnet: no public IP, no key, IMDSv2, encrypted disk', () => {
    const p = host();
    const [nic] = p.NetworkInterfaces;
    expect(isolatedSubnets()).toContain(nic.SubnetId.Ref);
    expect(nic.AssociatePublicIpAddress).toBe(false);
    expect(p.KeyName).toBeUndefined();
    expect(p.InstanceType).toMatch(/^t4g\./);
    expect(p.Monitoring).toBe(true);
    expect(p.BlockDeviceMappings[0].Ebs.Encrypted).toBe(true);
    const image = template.toJSON().Parameters[p.ImageId.Ref];
    expect(JSON.stringify(image)).toMatch(/al2023-ami-kernel-[^"]*-arm64/);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
    });
  });

  it('has no inbound rule at all; egress only HTTPS (endpoints) and the warehouse port', () => {
    const sgId = host().NetworkInterfaces[0].GroupSet[0]['Fn::GetAtt'][0];
    expect(sgId).toBe(logicalIdOf('AWS::EC2::SecurityGroup', 'DashboardHostSg'));
    expect(resources[sgId]!.Properties.SecurityGroupIngress).toBeUndefined();
    expect(
      ofType('AWS::EC2::SecurityGroupIngress').filter(([, i]) => i.Properties.GroupId['Fn::GetAtt']?.[0] === sgId),
    ).toEqual([]);
    const egress = [
      ...(resources[sgId]!.Properties.SecurityGroupEgress ?? []),
      ...ofType('AWS::EC2::SecurityGroupEgress')
        .filter(([, e]) => e.Properties.GroupId['Fn::GetAtt']?.[0] === sgId)
        .map(([, e]) => e.Properties),
    ];
    const ports = egress.map((e) => (typeof e.FromPort === 'number' ? e.FromPort : 'warehouse')).sort();
    expect(ports).toEqual([443, 443, 'warehouse']);
  });

  it("lets the host's role read only its reader secret and its bundle object (plus the SSM core policy)", () => {
    const roleId = logicalIdOf('AWS::IAM::Role', 'DashboardHostRole');
    const role = resources[roleId]!.Properties;
    expect(render(role.ManagedPolicyArns[0])).toBe('arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore');
    expect(role.ManagedPolicyArns).toHaveLength(1);
    const statements = statementsOf(roleId);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: logicalIdOf('AWS::SecretsManager::Secret', 'EtlReaderSecret') },
      },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: expect.anything() },
    ]);
    expect(render(statements[1].Resource)).toMatch(
      /^arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}\/[0-9a-f]{64}\.zip$/,
    );
  });

  it('boots from user data that installs nothing from the internet', () => {
    const script = render(host().UserData);
    const commands = script.split('\n');
    expect(script).not.toMatch(/\b(curl|wget|npm|npx|pip|yarn)\b/);
    // No URL of any web host: the only remote things are s3:// objects and the default dnf repos.
    expect(script).not.toMatch(/https?:\/\//);
    const dnf = commands.filter((c) => /\bdnf\b/.test(c));
    expect(dnf).toEqual([`dnf install -y ${NODE_PACKAGE}`]);
    const aws = commands.filter((c) => /^aws /.test(c));
    expect(aws).toHaveLength(1);
    expect(aws[0]).toMatch(/^aws s3 cp --region <AWS::Region> 's3:\/\/cdk-[^']+\.zip' \/tmp\/dashboard\.zip$/);
    expect(script).toContain(`ExecStart=${NODE_BINARY} /opt/clickstream-dashboard/services/dashboard/start.mjs serve`);
    expect(script).toContain('Environment=HOST=127.0.0.1');
    expect(script).toContain(`Environment=DASHBOARD_PORT=${DASHBOARD_PORT}`);
    expect(script).toMatch(/Environment=DATABASE_SECRET_ARN=<\w*EtlReaderSecret\w*>/);
    // The warehouse certificate is verified (verify-full) against the RDS CAs the bundle ships.
    expect(script).toContain('Environment=DATABASE_CA_FILE=/opt/clickstream-dashboard/rds-ca.pem');
    expect(script).not.toMatch(/PASSWORD|DATABASE_URL/);
    expect(script).toContain('systemctl enable --now clickstream-dashboard.service');
  });

  it('alarms into the alert topic when the host fails its status checks', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/EC2',
      MetricName: 'StatusCheckFailed',
      Dimensions: [{ Name: 'InstanceId', Value: { Ref: logicalIdOf('AWS::EC2::Instance', 'DashboardHost') } }],
      AlarmActions: [{ Ref: logicalIdOf('AWS::SNS::Topic', 'Alerts') }],
    });
  });

  it('has the ETL keep the reader role from its own secret', () => {
    const secret = { Ref: logicalIdOf('AWS::SecretsManager::Secret', 'EtlReaderSecret') };
    const fn = resources[logicalIdOf('AWS::Lambda::Function', 'EtlFunction')]!.Properties;
    expect(fn.Environment.Variables.DASHBOARD_READER_SECRET_ARN).toEqual(secret);
    const etl = statementsOf(logicalIdOf('AWS::IAM::Role', 'EtlFunctionRole'));
    const reads = etl.filter((st) => [st.Resource].flat().some((r: Json) => r.Ref === secret.Ref));
    expect(reads).toHaveLength(1);
    expect([reads[0].Action].flat().sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    const tpl =
      resources[logicalIdOf('AWS::SecretsManager::Secret', 'EtlReaderSecret')]!.Properties.GenerateSecretString;
    expect(tpl.GenerateStringKey).toBe('password');
    expect(render(tpl.SecretStringTemplate)).toMatch(/"username":"dashboard_reader".*"dbname":"clickstream"/);
  });
});

describe('storefront on Amplify Hosting', () => {
  it('is a WEB_COMPUTE app without a repository, with its compute role, and a main branch with the shop env', () => {
    const appId = logicalIdOf('AWS::Amplify::App', 'StorefrontApp');
    const app = resources[appId]!.Properties;
    expect(app.Platform).toBe('WEB_COMPUTE');
    expect(app.Repository).toBeUndefined();
    expect(app.AccessToken).toBeUndefined();
    expect(app.OauthToken).toBeUndefined();
    expect(app.ComputeRoleArn).toEqual({
      'Fn::GetAtt': [logicalIdOf('AWS::IAM::Role', 'StorefrontComputeRole'), 'Arn'],
    });
    const branch = resources[logicalIdOf('AWS::Amplify::Branch', 'StorefrontBranch')]!.Properties;
    expect(branch).toMatchObject({
      AppId: { 'Fn::GetAtt': [appId, 'AppId'] },
      BranchName: 'main',
      EnableAutoBuild: false,
    });
    const env = Object.fromEntries(branch.EnvironmentVariables.map((v: Json) => [v.Name, render(v.Value)]));
    const cluster = logicalIdOf('AWS::RDS::DBCluster', 'WebOltp');
    expect(env).toEqual({
      COGNITO_USER_POOL_ID: `<${logicalIdOf('AWS::Cognito::UserPool', 'Users')}>`,
      COGNITO_CLIENT_ID: `<${logicalIdOf('AWS::Cognito::UserPoolClient', 'Shop')}>`,
      INGEST_URL: expect.stringMatching(
        /^https:\/\/<IngestApi\w+>\.execute-api\.<AWS::Region>\.<AWS::URLSuffix>\/clickstream$/,
      ),
      MEDIA_BASE_URL: `https://<${logicalIdOf('AWS::CloudFront::Distribution', 'WebCdn')}.DomainName>`,
      OLTP_DATA_API_RESOURCE_ARN: expect.stringContaining(`:rds:<AWS::Region>:<AWS::AccountId>:cluster:<${cluster}>`),
      OLTP_DATA_API_SECRET_ARN: `<${logicalIdOf('AWS::SecretsManager::Secret', 'StorefrontOltpSetupShopSecret')}>`,
      OLTP_DATA_API_DATABASE: 'shop',
    });
  });

  const dataApiStatement = (resource: Json) => ({
    Effect: 'Allow',
    Action: [
      'rds-data:BatchExecuteStatement',
      'rds-data:BeginTransaction',
      'rds-data:CommitTransaction',
      'rds-data:ExecuteStatement',
      'rds-data:RollbackTransaction',
    ],
    Resource: resource,
  });
  const clusterArn = (resource: Json) =>
    expect(render(resource)).toBe(
      `arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:cluster:<${logicalIdOf('AWS::RDS::DBCluster', 'WebOltp')}>`,
    );
  const shopSecret = () => ({ Ref: logicalIdOf('AWS::SecretsManager::Secret', 'StorefrontOltpSetupShopSecret') });
  const adminSecret = () => ({
    Ref: logicalIdOf('AWS::SecretsManager::SecretTargetAttachment', 'WebOltpSecretAttachment'),
  });

  it("lets the compute role use the Data API on the OLTP cluster as shop_app — never the admin's secret", () => {
    const roleId = logicalIdOf('AWS::IAM::Role', 'StorefrontComputeRole');
    const role = resources[roleId]!.Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'amplify.amazonaws.com' } },
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOf(roleId);
    expect(statements).toEqual([
      dataApiStatement(expect.anything()),
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: shopSecret() },
    ]);
    clusterArn(statements[0].Resource);
  });

  it("generates shop_app's own secret", () => {
    const tpl = resources[shopSecret().Ref]!.Properties.GenerateSecretString;
    expect(tpl).toMatchObject({ GenerateStringKey: 'password', PasswordLength: 40, ExcludePunctuation: true });
    expect(JSON.parse(render(tpl.SecretStringTemplate))).toEqual({ username: 'shop_app' });
  });

  it('migrates and keeps shop_app at deploy: a custom resource on a function outside the VPC holding the admin secret', () => {
    const fnId = logicalIdOf('AWS::Lambda::Function', 'StorefrontOltpSetupFunction');
    const fn = resources[fnId]!.Properties;
    expect(fn.VpcConfig).toBeUndefined();
    expect(fn.Timeout).toBe(300);
    const env = fn.Environment.Variables;
    clusterArn(env.OLTP_CLUSTER_ARN);
    expect(env).toMatchObject({
      OLTP_ADMIN_SECRET_ARN: adminSecret(),
      SHOP_SECRET_ARN: shopSecret(),
      OLTP_DATABASE: 'shop',
    });
    const roleId = fn.Role['Fn::GetAtt'][0];
    expect(roleId).toBe(logicalIdOf('AWS::IAM::Role', 'StorefrontOltpSetupFunctionRole'));
    expect(resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOf(roleId);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalIdOf('AWS::Logs::LogGroup', 'StorefrontOltpSetupFunctionLogs'), 'Arn'] },
      },
      dataApiStatement(expect.anything()),
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [shopSecret(), adminSecret()] },
    ]);
    clusterArn(statements[1].Resource);

    const [[crId, cr], ...more] = ofType('Custom::OltpSetup') as [string, Resource & { DependsOn?: string[] }][];
    expect(more).toEqual([]);
    expect(cr.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(cr.Properties.shopSecret).toEqual(shopSecret());
    expect(cr.Properties.migrations).toBe(oltpMigrationsHash());
    expect(cr.Properties.migrations).toMatch(/^[0-9a-f]{64}$/);
    // After the cluster and its writer instance: the Data API answers only then.
    expect(cr.DependsOn).toEqual(
      expect.arrayContaining([
        logicalIdOf('AWS::RDS::DBCluster', 'WebOltp'),
        logicalIdOf('AWS::RDS::DBInstance', 'WebOltpWriter'),
      ]),
    );
    expect(crId).toContain('StorefrontOltpSetup');
  });

  it("keeps the compute's logs (Amplify's log group, created with a retention)", () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: {
        'Fn::Join': [
          '',
          ['/aws/amplify/', { 'Fn::GetAtt': [logicalIdOf('AWS::Amplify::App', 'StorefrontApp'), 'AppId'] }],
        ],
      },
      RetentionInDays: 90,
    });
  });

  it('opens the OLTP port to the bastion only (the shop uses the Data API)', () => {
    const [[, cluster]] = ofType('AWS::RDS::DBCluster');
    expect(cluster.Properties.EnableHttpEndpoint).toBe(true);
    const sgId = logicalIdOf('AWS::EC2::SecurityGroup', 'WebOltpSg');
    const sources = ofType('AWS::EC2::SecurityGroupIngress')
      .filter(([, i]) => i.Properties.GroupId['Fn::GetAtt']?.[0] === sgId)
      .map(([, i]) => i.Properties.SourceSecurityGroupId['Fn::GetAtt'][0] as string)
      .filter((s) => !s.includes('Rotation'));
    expect(sources).toEqual([logicalIdOf('AWS::EC2::SecurityGroup', 'BastionSg')]);
  });
});

describe('no port open to the world', () => {
  it('no security group admits 0.0.0.0/0 or ::/0, so neither 5432 nor 3838 is reachable from outside', () => {
    const rules = [
      ...ofType('AWS::EC2::SecurityGroup').flatMap(([, g]) => g.Properties.SecurityGroupIngress ?? []),
      ...ofType('AWS::EC2::SecurityGroupIngress').map(([, i]) => i.Properties),
    ];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      expect(rule.CidrIpv6).not.toBe('::/0');
      if (rule.CidrIp !== undefined) expect(rule.CidrIp).toBe('10.40.0.0/16');
    }
  });
});
