import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { addNagChecks } from './app.ts';
import { buildTestApp, testApp } from './test-app.ts';

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs?: { constructPath: string }[];
}

/** Synthesizes `app` (cdk-nag runs as a validation plugin) and returns the AwsSolutions findings left. */
function nagFindings(app: App): Violation[] {
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
  return report.pluginReports
    .filter((r: { pluginName: string }) => /AwsSolutions/i.test(r.pluginName))
    .flatMap((r: { violations: Violation[] }) => r.violations);
}

/** `<construct path> <rule id>` → reason, for every acknowledgement in the app. */
function acknowledgements(app: App): Map<string, string> {
  const out = new Map<string, string>();
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.set(`${construct.node.path} ${id.replace(/^annotation::/i, '')}`, reason);
      }
    }
  }
  return out;
}

describe('cdk-nag AwsSolutions', () => {
  const { app } = buildTestApp();

  it('passes the default app with no unacknowledged finding (errors or warnings)', () => {
    expect(nagFindings(app)).toEqual([]);
  });

  it('acknowledges only the reviewed rules, each with a written reason', () => {
    const acks = acknowledgements(app);
    const nag = [...acks.keys()]
      .filter((k) => k.includes('AwsSolutions-'))
      .map((k) => k.replace(/<\w+?([A-F0-9]{8})\.Arn>/, '<lake>'));
    expect(nag.sort()).toEqual(
      [
        'Clickstream/AccessLogs AwsSolutions-S1',
        'Clickstream/Dashboard/Host AwsSolutions-EC29',
        'Clickstream/Dashboard/HostRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        'Clickstream/Etl/ReaderSecret AwsSolutions-SMG4',
        'Clickstream/Etl/FunctionRole AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'Clickstream/Etl/FunctionRole AwsSolutions-IAM5[Resource::*]',
        'Clickstream/Etl/FunctionRole AwsSolutions-IAM5[Resource::<lake>/events/*]',
        'Clickstream/Etl/FunctionRole AwsSolutions-IAM5[Resource::<lake>/quarantine/*]',
        'Clickstream/Etl/Warehouse AwsSolutions-RDS11',
        'Clickstream/Identity/Users AwsSolutions-COG2',
        'Clickstream/Ingest/Api AwsSolutions-APIG4',
        'Clickstream/Ingest/FunctionRole AwsSolutions-IAM5[Resource::<lake>/events/*]',
        'Clickstream/Ingest/FunctionRole AwsSolutions-IAM5[Resource::<lake>/quarantine/*]',
        'Clickstream/Network/Bastion AwsSolutions-EC29',
        'Clickstream/Network/Bastion AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        'Clickstream/Storefront/OltpSetup/ShopSecret AwsSolutions-SMG4',
        'Clickstream/Web/Cdn AwsSolutions-CFR1',
        'Clickstream/Web/Cdn AwsSolutions-CFR2',
        'Clickstream/Web/Cdn AwsSolutions-CFR4',
        'Clickstream/Web/Oltp AwsSolutions-RDS11',
      ].sort(),
    );
    for (const [key, reason] of acks) expect(reason.length, key).toBeGreaterThan(30);
  });

  it('fails synth on an unacknowledged finding (the plugin is really attached)', () => {
    const bare = testApp();
    addNagChecks(bare);
    new s3.Bucket(new Stack(bare, 'Bare'), 'NoTls');
    expect(() => bare.synth()).toThrow(/AwsSolutions-S10/);
  });

  it('turns multi-AZ and deletion protection off only by context, with the acknowledgement it needs', () => {
    const { app: cheap } = buildTestApp({ 'clickstream:multiAz': false, 'clickstream:deletionProtection': 'false' });
    expect(nagFindings(cheap)).toEqual([]);
    const ids = [...acknowledgements(cheap).keys()];
    expect(ids).toContain('Clickstream/Etl/Warehouse AwsSolutions-RDS3');
    // Aurora has no RDS3 (Multi-AZ instance) rule: the cluster just has no reader then.
    expect(ids).not.toContain('Clickstream/Web/Oltp AwsSolutions-RDS3');
    for (const db of ['Clickstream/Etl/Warehouse', 'Clickstream/Web/Oltp'])
      expect(ids).toContain(`${db} AwsSolutions-RDS10`);
  });
});
