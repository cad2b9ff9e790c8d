/**
 * Secure defaults as pure functions (aws-solutions-constructs style): each returns construct props
 * and touches no scope, so flows compose them and tests can read them. Overrides are spread last by
 * the caller, never by mutating a shared object.
 */
import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { ClickstreamSettings } from './settings.ts';

/** Repository root: Lambda entries and the lock file are resolved from here. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** Private, encrypted, TLS-only, versioned, with server access logs into `accessLogs`. */
export function secureBucketProps(accessLogs: s3.IBucket, logPrefix: string): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: logPrefix,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * Where S3 server access logs and CloudFront standard logs land. CloudFront standard logging
 * writes with ACLs, hence BUCKET_OWNER_PREFERRED instead of ENFORCED.
 */
export function accessLogsBucketProps(): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * The raw lake is the source of truth (the warehouse can be rebuilt from it), so events are kept
 * and only move to a cheaper class: Glacier Instant Retrieval keeps millisecond GETs, so a backfill
 * over old hours still works without a restore step. Quarantine (and its replay records) is for
 * debugging and recovery, and expires.
 */
export function rawLakeLifecycleRules(): s3.LifecycleRule[] {
  return [
    {
      id: 'events-to-glacier-ir',
      prefix: 'events/',
      transitions: [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) }],
    },
    { id: 'quarantine-expiry', prefix: 'quarantine/', expiration: Duration.days(180) },
    // `quarantine replay`'s records of which quarantined lines went back: they go with their objects.
    { id: 'replayed-expiry', prefix: 'replayed/', expiration: Duration.days(180) },
    { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) },
    { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
  ];
}

/** A log group with a retention, owned by the stack (no log-retention custom resource). */
export function logGroupProps(days: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS): logs.LogGroupProps {
  return { retention: days, removalPolicy: RemovalPolicy.RETAIN };
}

/**
 * ESM bundle like services/ingest/bundle.ts: `@aws-sdk/*` comes from the Lambda runtime, and a
 * `require` is put in scope for CommonJS dependencies (ajv-formats). Local esbuild only: synth
 * must work offline and without Docker.
 */
export function esmBundling(): nodejs.BundlingOptions {
  return {
    format: nodejs.OutputFormat.ESM,
    target: 'node20',
    minify: true,
    sourceMap: true,
    externalModules: ['@aws-sdk/*'],
    banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    forceDockerBundling: false,
  };
}

/**
 * Lambda's nodejs20.x was deprecated on 2026-04-30 (creation blocked from 2027-02-01), so functions
 * run on Node.js 24; the bundles still target node20, the project's minimum (package.json engines).
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** A Graviton function bundled from `entry` (relative to the repository root). */
export function nodeFunctionProps(entry: string): nodejs.NodejsFunctionProps {
  return {
    entry: path.join(REPO_ROOT, entry),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    bundling: esmBundling(),
    environment: { NODE_OPTIONS: '--enable-source-maps' },
  };
}

/**
 * PostgreSQL in the isolated subnets: encrypted, not public, backed up, generated credentials in
 * Secrets Manager. Multi-AZ and deletion protection follow the settings (on by default).
 */
export function postgresInstanceProps(
  vpc: ec2.IVpc,
  settings: Pick<ClickstreamSettings, 'multiAz' | 'deletionProtection'>,
  databaseName: string,
): rds.DatabaseInstanceProps {
  return {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    instanceType: new ec2.InstanceType('t4g.micro'),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    databaseName,
    credentials: rds.Credentials.fromGeneratedSecret('clickstream_admin'),
    storageEncrypted: true,
    publiclyAccessible: false,
    allocatedStorage: 20,
    maxAllocatedStorage: 200,
    storageType: rds.StorageType.GP3,
    multiAz: settings.multiAz,
    deletionProtection: settings.deletionProtection,
    removalPolicy: settings.deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    backupRetention: Duration.days(7),
    autoMinorVersionUpgrade: true,
    caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
  };
}
