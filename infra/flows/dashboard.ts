/**
 * DashboardFlow — components (12) + (13): `clickstream dashboard serve` on an EC2 host in the
 * isolated subnets, reading the warehouse through the read-only role the ETL keeps
 * (`dashboard_reader`, password in its own secret). No public IP and no inbound rule at all:
 * operators reach :3838 with Session Manager port forwarding, which needs none.
 *
 * Nothing comes from the internet (there is no route to it). The runtime is Amazon Linux 2023's
 * own `nodejs24` package: AL2023's dnf repositories are S3 buckets, reached through the VPC's S3
 * gateway endpoint, so the host gets signed, patchable packages (`dnf upgrade` keeps working) —
 * instead of a Node binary frozen into the asset (a 50 MB upload per deploy that nothing patches).
 * The dashboard itself is a CDK S3 asset (infra/dashboard-host/build.ts: one esbuild bundle with
 * its browser assets compiled in) that user data copies with `aws s3 cp`, also through the gateway
 * endpoint; the warehouse password is read at start from Secrets Manager (interface endpoint), and
 * the connection verifies the warehouse's certificate against the RDS CAs shipped in the bundle.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { AssetHashType, Aws, DockerImage, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RDS_CA_FILE } from '../dashboard-host/ca.ts';
import { REPO_ROOT } from '../defaults.ts';
import type { AlertTopic } from './alerts.ts';
import { ISOLATED_SUBNETS } from './network.ts';

export const DASHBOARD_PORT = 3838;
/** AL2023 package and the versioned binary it installs (docs: "Node.js in AL2023", node-{MAJOR}). */
export const NODE_PACKAGE = 'nodejs24';
export const NODE_BINARY = '/usr/bin/node-24';
export const INSTALL_DIR = '/opt/clickstream-dashboard';
export const SERVICE_NAME = 'clickstream-dashboard';

export interface DashboardUserDataProps {
  bundleUrl: string;
  secretArn: string;
  region: string;
}

/**
 * The host's boot script: install Node from the AL2023 repositories, copy and unpack the bundle
 * from S3, and run it as a hardened systemd service on 127.0.0.1:3838 (loopback: the dashboard
 * needs no token there, and SSM port forwarding connects to localhost on the host).
 */
export function dashboardUserData(p: DashboardUserDataProps): string[] {
  const unit = `[Unit]
Description=Clickstream dashboard (clickstream dashboard serve)
Wants=network-online.target
After=network-online.target

[Service]
DynamicUser=yes
StateDirectory=${SERVICE_NAME}
Environment=HOST=127.0.0.1
Environment=DASHBOARD_PORT=${DASHBOARD_PORT}
Environment=DATA_DIR=/var/lib/${SERVICE_NAME}
Environment=AWS_REGION=${p.region}
Environment=DATABASE_SECRET_ARN=${p.secretArn}
Environment=DATABASE_CA_FILE=${INSTALL_DIR}/${RDS_CA_FILE}
ExecStart=${NODE_BINARY} ${INSTALL_DIR}/services/dashboard/start.mjs serve
Restart=always
RestartSec=5
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes

[Install]
WantedBy=multi-user.target`;
  return [
    'set -euo pipefail',
    `dnf install -y ${NODE_PACKAGE}`,
    `install -d -m 0755 ${INSTALL_DIR}`,
    `aws s3 cp --region ${p.region} '${p.bundleUrl}' /tmp/dashboard.zip`,
    // python3 is part of every AL2023 image (dnf needs it); unzip is not guaranteed.
    `python3 -m zipfile -e /tmp/dashboard.zip ${INSTALL_DIR}`,
    'rm -f /tmp/dashboard.zip',
    `cat > /etc/systemd/system/${SERVICE_NAME}.service <<'UNIT'\n${unit}\nUNIT`,
    'systemctl daemon-reload',
    `systemctl enable --now ${SERVICE_NAME}.service`,
  ];
}

export interface DashboardFlowProps {
  vpc: ec2.IVpc;
  warehouse: rds.DatabaseInstance;
  readerSecret: secretsmanager.ISecret;
  /** The interface endpoints' security group (Secrets Manager, SSM). */
  endpoints: ec2.ISecurityGroup;
  alerts: AlertTopic;
}

export class DashboardFlow extends Construct {
  readonly instance: ec2.Instance;
  readonly role: iam.Role;
  readonly bundle: s3assets.Asset;

  constructor(scope: Construct, id: string, props: DashboardFlowProps) {
    super(scope, id);

    this.bundle = new s3assets.Asset(this, 'Bundle', {
      path: path.join(REPO_ROOT, 'infra', 'dashboard-host'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Local esbuild only (synth works offline and without Docker); the image is never pulled.
        image: DockerImage.fromRegistry('local-esbuild-only'),
        local: {
          tryBundle(outputDir: string) {
            execFileSync(
              process.execPath,
              ['--import', 'tsx', path.join(REPO_ROOT, 'infra', 'dashboard-host', 'build.ts'), outputDir],
              { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
            );
            return true;
          },
        },
      },
    });

    this.role = new iam.Role(this, 'HostRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Dashboard host: SSM management, its reader secret and its bundle; nothing else',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.readerSecret.secretArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.bundle.bucket.arnForObjects(this.bundle.s3ObjectKey)],
      }),
    );

    const sg = new ec2.SecurityGroup(this, 'HostSg', {
      vpc: props.vpc,
      description: 'Dashboard host: no inbound rule (SSM port forwarding); egress HTTPS and the warehouse',
      allowAllOutbound: false,
    });
    // The isolated subnets route nothing to the internet: HTTPS reaches only the S3 gateway
    // endpoint (dnf repositories, the bundle) and the interface endpoints (SSM, Secrets Manager).
    sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the S3 gateway endpoint (prefix-list route)');
    sg.addEgressRule(props.endpoints, ec2.Port.tcp(443), 'HTTPS to the interface endpoints');

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      ...dashboardUserData({
        bundleUrl: this.bundle.s3ObjectUrl,
        secretArn: props.readerSecret.secretArn,
        region: Aws.REGION,
      }),
    );

    this.instance = new ec2.Instance(this, 'Host', {
      vpc: props.vpc,
      vpcSubnets: ISOLATED_SUBNETS,
      instanceType: new ec2.InstanceType('t4g.small'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      role: this.role,
      securityGroup: sg,
      associatePublicIpAddress: false,
      requireImdsv2: true,
      detailedMonitoring: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true }) }],
      userData,
      // A new bundle means a new host: user data runs only on first boot.
      userDataCausesReplacement: true,
    });
    props.warehouse.connections.allowDefaultPortFrom(this.instance, 'Dashboard host (read-only role)');

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason:
        'The AWS-maintained minimum policy for an SSM-managed instance (Session Manager port forwarding); it grants no data access.',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason:
        'The dashboard host is stateless (the warehouse holds the data) and is replaced on every bundle change; termination protection would block that.',
    });

    props.alerts.notify(
      new cloudwatch.Alarm(this, 'StatusCheckFailed', {
        alarmDescription: 'Dashboard host failed its EC2 status checks',
        metric: new cloudwatch.Metric({
          namespace: 'AWS/EC2',
          metricName: 'StatusCheckFailed',
          dimensionsMap: { InstanceId: this.instance.instanceId },
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data while a replacement host boots is not a failure.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
