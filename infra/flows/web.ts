/**
 * WebFlow — components (2), (3), (20): product images and static assets in a private S3 bucket
 * served by CloudFront through Origin Access Control, and the shop's OLTP PostgreSQL (orders,
 * products, users) — Aurora PostgreSQL Serverless v2, separate from the warehouse, in the
 * isolated subnets, with the RDS Data API on: the shop runs on Amplify compute outside the VPC and
 * reaches it over IAM-signed HTTPS, so port 5432 opens to nothing but the bastion
 * (docs/adr-003-oltp-access.md).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { secureBucketProps } from '../defaults.ts';
import type { ClickstreamSettings } from '../settings.ts';
import { ISOLATED_SUBNETS } from './network.ts';

export interface WebFlowProps {
  settings: Pick<ClickstreamSettings, 'multiAz' | 'deletionProtection'>;
  vpc: ec2.IVpc;
  accessLogs: s3.IBucket;
  adminAccess: ec2.IConnectable;
}

export class WebFlow extends Construct {
  readonly mediaBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly oltp: rds.DatabaseCluster;

  constructor(scope: Construct, id: string, props: WebFlowProps) {
    super(scope, id);

    this.mediaBucket = new s3.Bucket(this, 'Media', {
      ...secureBucketProps(props.accessLogs, 'media/'),
      lifecycleRules: [{ id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) }],
    });

    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: 'Shop media and static assets',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.mediaBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'No custom domain yet: the default *.cloudfront.net certificate cannot pin a minimum TLS version; set minimumProtocolVersion TLS_V1_2_2021 together with the certificate when a domain is attached.',
      },
      {
        id: 'AwsSolutions-CFR1',
        reason: 'The shop sells worldwide; no geo restriction.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'Public, cacheable product images only (GET/HEAD); a WAF web ACL is left to the deployment that adds the dynamic shop origin.',
      },
    );

    const { multiAz, deletionProtection } = props.settings;
    this.oltp = new rds.DatabaseCluster(this, 'Oltp', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
      credentials: rds.Credentials.fromGeneratedSecret('clickstream_admin'),
      defaultDatabaseName: 'shop',
      writer: rds.ClusterInstance.serverlessV2('Writer', { caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1 }),
      // Multi-AZ: a reader in the other AZ that scales with the writer and takes over on failure.
      readers: multiAz
        ? [
            rds.ClusterInstance.serverlessV2('Reader', {
              scaleWithWriter: true,
              caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
            }),
          ]
        : [],
      // Production keeps half an ACU warm; a throwaway deployment pauses at zero when idle
      // (the first request after a pause waits for the resume, ~15 s).
      serverlessV2MinCapacity: multiAz ? 0.5 : 0,
      serverlessV2MaxCapacity: 4,
      enableDataApi: true,
      iamAuthentication: true,
      storageEncrypted: true,
      vpc: props.vpc,
      vpcSubnets: ISOLATED_SUBNETS,
      securityGroups: [
        new ec2.SecurityGroup(this, 'OltpSg', {
          vpc: props.vpc,
          description: 'Shop OLTP Aurora: SSM bastion only (the shop uses the Data API, no port)',
          allowAllOutbound: false,
        }),
      ],
      backup: { retention: Duration.days(7) },
      deletionProtection,
      removalPolicy: deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    this.oltp.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
    this.oltp.connections.allowDefaultPortFrom(props.adminAccess, 'SSM port forwarding from the bastion');
    Validations.of(this.oltp).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'Reachable on its port only from the bastion security group in isolated subnets (the shop uses the Data API); a non-standard port adds no protection.',
    });
    if (!deletionProtection) {
      Validations.of(this.oltp).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason:
          'Deletion protection switched off by context clickstream:deletionProtection=false for a throwaway deployment.',
      });
    }
  }
}
