/**
 * AnalyticsFlow: the Glue tables carry exactly the columns the registry generates, their
 * partition projection spells the lake's own key layout, and the Athena workgroup enforces its
 * encrypted result location and bytes-scanned cutoff. One synth for the file.
 */
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { athenaTables } from '../codegen/generators/athena.ts';
import { loadRegistry } from '../codegen/load.ts';
import { hourPrefix, type LakeArea } from '../services/lake/raw-store.ts';
import { DATEHOUR_FORMAT, exampleQueries } from './flows/analytics.ts';
import { buildTestApp } from './test-app.ts';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON is untyped; the assertions give it shape.
type Json = any;

let template: Template;
let resources: Record<string, { Type: string; Properties: Record<string, Json> }>;
beforeAll(() => {
  const { app, stack } = buildTestApp();
  app.synth();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const tableNamed = (name: string) => {
  const found = ofType('AWS::Glue::Table').filter((t) => t.Properties.TableInput.Name === name);
  expect(found).toHaveLength(1);
  return found[0]!.Properties.TableInput;
};
const rawLakeRef = () =>
  Object.keys(resources).find((id) => id.includes('RawLake') && resources[id]!.Type === 'AWS::S3::Bucket');

/** A synthesized Fn::Join with the raw lake's Ref, as text with the bucket spelled BUCKET. */
function joined(value: Json): string {
  if (typeof value === 'string') return value;
  const [sep, parts] = value['Fn::Join'];
  return parts.map((p: Json) => (typeof p === 'string' ? p : p.Ref === rawLakeRef() ? 'BUCKET' : '?')).join(sep);
}

/** The projection's DateTimeFormatter pattern applied to a UTC instant (only the letters it may use). */
function formatDatehour(pattern: string, at: Date): string {
  const fields: Record<string, string> = {
    yyyy: String(at.getUTCFullYear()).padStart(4, '0'),
    MM: String(at.getUTCMonth() + 1).padStart(2, '0'),
    dd: String(at.getUTCDate()).padStart(2, '0'),
    HH: String(at.getUTCHours()).padStart(2, '0'),
  };
  return pattern.replace(/[A-Za-z]+/g, (token) => {
    const value = fields[token];
    if (value === undefined) throw new Error(`unexpected pattern letter ${token}`);
    return value;
  });
}

describe('Glue tables over the lake', () => {
  it('have exactly the columns the registry generates, and no crawler', async () => {
    const generated = athenaTables(await loadRegistry(path.join(import.meta.dirname, '..', 'schemas')));
    const columns = (name: string) =>
      tableNamed(name).StorageDescriptor.Columns.map((c: Json) => ({ name: c.Name, type: c.Type, comment: c.Comment }));
    expect(columns('events')).toEqual(generated.events);
    expect(columns('quarantine')).toEqual(generated.quarantine);
    template.resourceCountIs('AWS::Glue::Crawler', 0);
  });

  it.each(['events', 'quarantine'] as LakeArea[])(
    'project %s partitions hour by hour onto the lake key layout',
    (area) => {
      const input = tableNamed(area);
      const p = input.Parameters;
      expect(input.PartitionKeys).toEqual([{ Name: 'datehour', Type: 'string', Comment: expect.any(String) }]);
      expect(p).toMatchObject({
        'projection.enabled': 'true',
        'projection.datehour.type': 'date',
        'projection.datehour.format': DATEHOUR_FORMAT,
        'projection.datehour.interval': '1',
        'projection.datehour.interval.unit': 'HOURS',
        'projection.datehour.range': expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\d{2},NOW$/),
      });
      const template = joined(p['storage.location.template']);
      expect(joined(input.StorageDescriptor.Location)).toBe(`s3://BUCKET/${area}/`);
      // Any hour (leap day, year end, single digits) lands on the prefix the writers use.
      for (const iso of [
        '2026-02-28T23:59:59Z',
        '2028-02-29T00:00:00Z',
        '2026-12-31T23:00:00Z',
        '2027-01-01T05:30:00Z',
      ]) {
        const at = new Date(iso);
        const datehour = formatDatehour(p['projection.datehour.format'], at);
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's template placeholder, spelled literally.
        expect(template.replace('${datehour}', datehour)).toBe(`s3://BUCKET/${hourPrefix(area, at)}`);
      }
      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
      expect(input.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
    },
  );
});

describe('Athena workgroup', () => {
  it('enforces SSE-S3 results in its own bucket and a 10 GB cutoff per query', () => {
    const [wg] = ofType('AWS::Athena::WorkGroup');
    const config = wg!.Properties.WorkGroupConfiguration;
    expect(config.EnforceWorkGroupConfiguration).toBe(true);
    expect(config.BytesScannedCutoffPerQuery).toBe(10 * 1024 ** 3);
    expect(config.ResultConfiguration.EncryptionConfiguration).toEqual({ EncryptionOption: 'SSE_S3' });
    const resultsId = Object.keys(resources).find(
      (id) => id.includes('AnalyticsResults') && resources[id]!.Type === 'AWS::S3::Bucket',
    );
    expect(config.ResultConfiguration.OutputLocation).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: resultsId }, '/results/']],
    });
  });

  it('keeps results in a private, encrypted, TLS-only bucket that expires them', () => {
    const bucket = Object.entries(resources).find(
      ([id, r]) => id.includes('AnalyticsResults') && r.Type === 'AWS::S3::Bucket',
    )!;
    expect(bucket[1].Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: expect.arrayContaining([expect.objectContaining({ ExpirationInDays: 30, Status: 'Enabled' })]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket[0] },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('saves the example queries, each reading only the hours it filters on', () => {
    const saved = ofType('AWS::Athena::NamedQuery').map((q) => q.Properties);
    expect(saved.map((q) => q.Name).sort()).toEqual(['events-per-day', 'funnel']);
    for (const [, , sql] of exampleQueries()) expect(sql).toMatch(/WHERE datehour >= /);
    for (const q of saved) expect(q.Database).toBe('clickstream_lake');
  });
});
