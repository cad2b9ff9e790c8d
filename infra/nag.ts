/** How cdk-nag names a resource's ARN in finding ids (`<LogicalId.Arn>`), for acknowledging one finding exactly. */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export function nagArnToken(resource: IConstruct): string {
  const stack = Stack.of(resource);
  return `<${stack.resolve(stack.getLogicalId(resource.node.defaultChild as CfnElement))}.Arn>`;
}
