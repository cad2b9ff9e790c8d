/**
 * WebFlow — components (2), (3), (20): product images and static assets in a private S3 bucket
 * served by CloudFront through Origin Access Control, and the shop's OLTP PostgreSQL (orders,
 * products, users) — a separate RDS instance from the warehouse, in the isolated subnets.
 *
 * Amplify hosting (4) is not declared: the storefront is not an Amplify/Next.js app yet, and an
 * Amplify app needs a repository connection and token that cannot be synthesized offline.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { postgresInstanceProps, secureBucketProps } from '../defaults.ts';
import type { ClickstreamSettings } from '../settings.ts';
import { acknowledgeDatabase } from './etl.ts';

export interface WebFlowProps {
  settings: Pick<ClickstreamSettings, 'multiAz' | 'deletionProtection'>;
  vpc: ec2.IVpc;
  accessLogs: s3.IBucket;
  adminAccess: ec2.IConnectable;
}

export class WebFlow extends Construct {
  readonly mediaBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly oltp: rds.DatabaseInstance;

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

    this.oltp = new rds.DatabaseInstance(this, 'Oltp', {
      ...postgresInstanceProps(props.vpc, props.settings, 'shop'),
      securityGroups: [
        new ec2.SecurityGroup(this, 'OltpSg', {
          vpc: props.vpc,
          description: 'Shop OLTP PostgreSQL: SSM bastion only until the storefront is deployed in the VPC',
          allowAllOutbound: false,
        }),
      ],
    });
    this.oltp.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
    this.oltp.connections.allowDefaultPortFrom(props.adminAccess, 'SSM port forwarding from the bastion');
    acknowledgeDatabase(this.oltp, props.settings);
  }
}
