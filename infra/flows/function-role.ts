/**
 * Execution role for one Lambda function, least privilege: it may write to its own log group only
 * (instead of AWSLambdaBasicExecutionRole's logs:* on every group), plus the ENI actions a VPC
 * function needs. Callers add their data permissions.
 */
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export function functionRole(scope: Construct, id: string, logGroup: logs.ILogGroup, opts: { vpc: boolean }): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  if (opts.vpc) {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda creates its VPC network interfaces itself; these EC2 actions do not support resource-level permissions (same set as AWSLambdaVPCAccessExecutionRole, without its logs:*).',
    });
  }
  return role;
}
