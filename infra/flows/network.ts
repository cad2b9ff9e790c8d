/**
 * NetworkFlow — components (10), (14), (15), (19): a VPC without NAT gateways. Private resources
 * reach AWS only through VPC endpoints (S3 gateway endpoint; interface endpoints for what the ETL
 * Lambda and Session Manager call), and admins reach the databases through an SSM-managed bastion
 * (Session Manager port forwarding: no SSH, no public IP, no inbound rule).
 */
import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { logGroupProps } from '../defaults.ts';

export const VPC_CIDR = '10.40.0.0/16';
export const ISOLATED_SUBNETS: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

/** Interface endpoints: Session Manager's three, plus what the ETL Lambda calls (secret, alerts). */
export function interfaceEndpointServices(): Record<string, ec2.InterfaceVpcEndpointAwsService> {
  return {
    Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
    SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  };
}

export class NetworkFlow extends Construct {
  readonly vpc: ec2.Vpc;
  readonly bastion: ec2.Instance;
  /** The interface endpoints' security group (HTTPS from the VPC). */
  readonly endpointSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
      // No custom resource needed: the default security group is simply never used.
      restrictDefaultSecurityGroup: false,
    });

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', logGroupProps(logs.RetentionDays.ONE_MONTH));
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [ISOLATED_SUBNETS] });
    // One security group for all interface endpoints: HTTPS from inside the VPC, nothing else.
    const endpointSg = new ec2.SecurityGroup(this, 'EndpointSg', {
      vpc: this.vpc,
      description: 'VPC interface endpoints: HTTPS from the VPC',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup = endpointSg;
    endpointSg.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), 'HTTPS from the VPC');
    for (const [name, service] of Object.entries(interfaceEndpointServices())) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: ISOLATED_SUBNETS,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [endpointSg],
      });
    }

    this.bastion = new ec2.Instance(this, 'Bastion', {
      vpc: this.vpc,
      vpcSubnets: ISOLATED_SUBNETS,
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      ssmSessionPermissions: true,
      associatePublicIpAddress: false,
      requireImdsv2: true,
      detailedMonitoring: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true }) }],
      securityGroup: new ec2.SecurityGroup(this, 'BastionSg', {
        vpc: this.vpc,
        description: 'SSM bastion: no inbound rules; egress to VPC endpoints and databases',
      }),
    });
    Validations.of(this.bastion).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        reason: 'The AWS-maintained minimum policy for an SSM-managed instance; it grants no data access.',
      },
      {
        id: 'AwsSolutions-EC29',
        reason:
          'The bastion is stateless and replaceable (no data, no SSH keys); termination protection would only slow down patching by replacement.',
      },
    );
  }
}
