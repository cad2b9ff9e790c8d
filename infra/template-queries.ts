/** Test helpers: lookups in a synthesized template's resources (`template.toJSON().Resources`). */
import { expect } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON is untyped; the assertions give it shape.
export type Json = any;
export type Resource = { Type: string; Properties: Record<string, Json> };

/** `resources` is read on each call (test files synthesize in beforeAll). */
export function templateQueries(resources: () => Record<string, Resource>) {
  const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);
  /** The one resource of `type` whose logical id contains `pathPart`. */
  const logicalIdOf = (type: string, pathPart: string) => {
    const found = ofType(type).filter(([id]) => id.includes(pathPart));
    expect(found, `${type} ${pathPart}`).toHaveLength(1);
    return found[0]![0];
  };
  const isolatedSubnets = () =>
    ofType('AWS::EC2::Subnet')
      .filter(([, r]) => r.Properties.Tags.some((t: Json) => t.Key === 'aws-cdk:subnet-type' && t.Value === 'Isolated'))
      .map(([id]) => id)
      .sort();
  /** Every statement of the inline policies attached to the role `roleId`. */
  const policyStatements = (roleId: string) =>
    ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  return { ofType, logicalIdOf, isolatedSubnets, policyStatements };
}
