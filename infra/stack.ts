/**
 * One stack wiring the flows of the seed architecture; each flow owns its resources and receives
 * what it consumes from the others as props. Outputs are what an operator needs after deploy.
 */
import { CfnOutput, Lazy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { accessLogsBucketProps } from './defaults.ts';
import { AlertTopic } from './flows/alerts.ts';
import { AnalyticsFlow } from './flows/analytics.ts';
import { DashboardFlow } from './flows/dashboard.ts';
import { EtlFlow } from './flows/etl.ts';
import { IdentityFlow } from './flows/identity.ts';
import { IngestFlow } from './flows/ingest.ts';
import { NetworkFlow } from './flows/network.ts';
import { StorefrontFlow } from './flows/storefront.ts';
import { WebFlow } from './flows/web.ts';
import type { ClickstreamSettings } from './settings.ts';

export interface ClickstreamStackProps extends StackProps {
  settings: ClickstreamSettings;
}

export class ClickstreamStack extends Stack {
  readonly network: NetworkFlow;
  readonly identity: IdentityFlow;
  readonly ingest: IngestFlow;
  readonly etl: EtlFlow;
  readonly web: WebFlow;
  readonly analytics: AnalyticsFlow;
  readonly dashboard: DashboardFlow;
  readonly storefront: StorefrontFlow;

  constructor(scope: Construct, id: string, props: ClickstreamStackProps) {
    super(scope, id, props);
    const { settings } = props;

    const accessLogs = new s3.Bucket(this, 'AccessLogs', accessLogsBucketProps());
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log destination itself; logging it into itself would loop.',
    });
    const alerts = new AlertTopic(this, 'Alerts', { email: settings.alertEmail });

    this.network = new NetworkFlow(this, 'Network');
    this.identity = new IdentityFlow(this, 'Identity', { settings });
    this.web = new WebFlow(this, 'Web', {
      settings,
      vpc: this.network.vpc,
      accessLogs,
      adminAccess: this.network.bastion,
    });
    // The shop posts events from its Amplify origin: the ingest's CORS allows it besides the
    // configured origins (the endpoint is read lazily: the ingest is declared next).
    this.storefront = new StorefrontFlow(this, 'Storefront', {
      userPool: this.identity.userPool,
      userPoolClient: this.identity.client,
      ingestUrl: Lazy.string({ produce: () => this.ingest.endpoint }),
      mediaBaseUrl: `https://${this.web.distribution.distributionDomainName}`,
      oltp: this.web.oltp,
    });
    this.ingest = new IngestFlow(this, 'Ingest', {
      settings: { ...settings, corsOrigins: [...settings.corsOrigins, this.storefront.origin] },
      accessLogs,
      userPool: this.identity.userPool,
      userPoolClient: this.identity.client,
      alerts,
    });
    this.etl = new EtlFlow(this, 'Etl', {
      settings,
      vpc: this.network.vpc,
      rawBucket: this.ingest.rawBucket,
      alerts,
      adminAccess: this.network.bastion,
    });
    this.dashboard = new DashboardFlow(this, 'Dashboard', {
      vpc: this.network.vpc,
      warehouse: this.etl.warehouse,
      readerSecret: this.etl.readerSecret,
      endpoints: this.network.endpointSecurityGroup,
      alerts,
    });
    this.analytics = new AnalyticsFlow(this, 'Analytics', {
      settings,
      rawBucket: this.ingest.rawBucket,
      accessLogs,
    });

    const out = (name: string, value: string, description: string) => new CfnOutput(this, name, { value, description });
    out('IngestEndpoint', this.ingest.endpoint, 'POST events here (tracker endpoint)');
    out('RawLakeBucket', this.ingest.rawBucket.bucketName, 'Raw lake (LAKE_URL=s3://<this>)');
    out('UserPoolId', this.identity.userPool.userPoolId, 'Cognito user pool');
    out('UserPoolClientId', this.identity.client.userPoolClientId, 'Cognito app client (shop)');
    out('BastionInstanceId', this.network.bastion.instanceId, 'SSM port-forwarding target');
    out('WarehouseEndpoint', this.etl.warehouse.dbInstanceEndpointAddress, 'Warehouse PostgreSQL host');
    out('WarehouseSecretArn', this.etl.warehouse.secret!.secretArn, 'Warehouse credentials');
    out('OltpEndpoint', this.web.oltp.clusterEndpoint.hostname, 'Shop OLTP Aurora writer endpoint (bastion tunnel)');
    out('OltpClusterArn', this.web.oltp.clusterArn, 'Shop OLTP cluster (RDS Data API resource ARN)');
    out('OltpSecretArn', this.web.oltp.secret!.secretArn, 'Shop OLTP admin credentials (operators, the deploy step)');
    out(
      'OltpSetupFunction',
      this.storefront.oltpSetup.function.functionName,
      'Deploy-time OLTP step (migrations, shop_app login); invoke with {} to re-apply',
    );
    out('MediaDistributionDomain', this.web.distribution.distributionDomainName, 'CloudFront domain for media');
    out('MediaBucket', this.web.mediaBucket.bucketName, 'Media origin bucket');
    out('EtlFunctionName', this.etl.function.functionName, 'Invoke for manual loads/backfills');
    out('DashboardInstanceId', this.dashboard.instance.instanceId, 'SSM port forwarding to :3838 (the dashboard)');
    out('ShopAppId', this.storefront.app.attrAppId, 'Amplify app of the storefront (create-deployment --app-id)');
    out('ShopUrl', this.storefront.origin, 'The storefront on Amplify Hosting');
    out('AthenaWorkGroup', this.analytics.workgroup.name, 'Athena workgroup over the lake (database clickstream_lake)');
    out('AthenaResultsBucket', this.analytics.resultsBucket.bucketName, 'Athena query results (expire after 30 days)');
    out('AlertTopicArn', alerts.topic.topicArn, 'Subscribe to receive alerts');
  }
}
