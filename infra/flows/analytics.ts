/**
 * AnalyticsFlow — SQL over the raw lake for users who outgrow one warehouse host: a Glue database
 * with one table over `events/` and one over `quarantine/`, and an Athena workgroup whose results
 * land in their own encrypted bucket. The columns come from the registry (generated/athena/
 * tables.ts, written by codegen), so a schema PR updates the table and `codegen --check` guards it.
 *
 * Partitions are projected from the key layout (`<area>/YYYY/MM/DD/HH/…`, services/lake/
 * raw-store.ts): no crawler, no `MSCK REPAIR TABLE`, a new hour is queryable the moment its first
 * object lands, and a `WHERE datehour BETWEEN …` reads only those hours' prefixes.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { eventsColumns, type GlueColumn, quarantineColumns } from '../../generated/athena/tables.ts';
import { secureBucketProps } from '../defaults.ts';
import type { ClickstreamSettings } from '../settings.ts';

/** Partition key and its projection format (Java DateTimeFormatter) spelling `YYYY/MM/DD/HH`. */
export const PARTITION_KEY = 'datehour';
export const DATEHOUR_FORMAT = 'yyyy/MM/dd/HH';
/** First projected hour: queries before it find nothing (the lake format dates from 2026). */
export const PROJECTION_START = '2025/01/01/00';
export const GLUE_DATABASE = 'clickstream_lake';

export interface AnalyticsFlowProps {
  settings: Pick<ClickstreamSettings, 'athenaBytesScannedCutoffGb'>;
  rawBucket: s3.IBucket;
  accessLogs: s3.IBucket;
}

/** Glue table input over one lake area, partitions projected hour by hour. */
export function lakeTableInput(
  name: string,
  description: string,
  bucketName: string,
  area: 'events' | 'quarantine',
  columns: readonly GlueColumn[],
): glue.CfnTable.TableInputProperty {
  const location = `s3://${bucketName}/${area}/`;
  return {
    name,
    description,
    tableType: 'EXTERNAL_TABLE',
    partitionKeys: [{ name: PARTITION_KEY, type: 'string', comment: 'UTC receive hour, YYYY/MM/DD/HH' }],
    parameters: {
      EXTERNAL: 'TRUE',
      classification: 'json',
      compressionType: 'gzip',
      'projection.enabled': 'true',
      [`projection.${PARTITION_KEY}.type`]: 'date',
      [`projection.${PARTITION_KEY}.format`]: DATEHOUR_FORMAT,
      [`projection.${PARTITION_KEY}.range`]: `${PROJECTION_START},NOW`,
      [`projection.${PARTITION_KEY}.interval`]: '1',
      [`projection.${PARTITION_KEY}.interval.unit`]: 'HOURS',
      'storage.location.template': `${location}\${${PARTITION_KEY}}/`,
    },
    storageDescriptor: {
      location,
      // Text input reads the .gz objects decompressed (by extension), one JSON document per line.
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      serdeInfo: {
        serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        // A line that is not JSON is skipped, not a failed query: the ETL already quarantines and
        // reports such lines (etl_skipped_objects / quarantined_events in the warehouse).
        parameters: { 'ignore.malformed.json': 'true' },
      },
      columns: columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
    },
  };
}

export class AnalyticsFlow extends Construct {
  readonly database: glue.CfnDatabase;
  readonly eventsTable: glue.CfnTable;
  readonly quarantineTable: glue.CfnTable;
  readonly resultsBucket: s3.Bucket;
  readonly workgroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: AnalyticsFlowProps) {
    super(scope, id);
    const bucketName = props.rawBucket.bucketName;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: GLUE_DATABASE, description: 'Clickstream raw lake (events/ and quarantine/)' },
    });
    const table = (cid: string, input: glue.CfnTable.TableInputProperty) => {
      const t = new glue.CfnTable(this, cid, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: GLUE_DATABASE,
        tableInput: input,
      });
      t.addResourceDependency(this.database);
      return t;
    };
    this.eventsTable = table(
      'EventsTable',
      lakeTableInput('events', 'Accepted, enriched events as ingest stored them', bucketName, 'events', eventsColumns),
    );
    this.quarantineTable = table(
      'QuarantineTable',
      lakeTableInput('quarantine', 'Rejected input with its errors', bucketName, 'quarantine', quarantineColumns),
    );

    this.resultsBucket = new s3.Bucket(this, 'Results', {
      ...secureBucketProps(props.accessLogs, 'athena-results/'),
      // Query results are recomputable: no versions kept, gone after a month.
      versioned: false,
      lifecycleRules: [
        { id: 'expire-results', expiration: Duration.days(30) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${Stack.of(this).stackName}-lake`,
      description: 'Queries over the clickstream raw lake (results encrypted, bytes scanned capped)',
      state: 'ENABLED',
      recursiveDeleteOption: false,
      workGroupConfiguration: {
        // Clients cannot override the result location, encryption or the cutoff.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.settings.athenaBytesScannedCutoffGb * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });

    for (const [name, description, sql] of exampleQueries()) {
      new athena.CfnNamedQuery(this, name, {
        name,
        description,
        database: GLUE_DATABASE,
        workGroup: this.workgroup.name,
        queryString: sql,
      }).addResourceDependency(this.workgroup);
    }
  }
}

/** Saved queries in the workgroup (and in docs/infra.md): each filters on datehour first. */
export function exampleQueries(): [name: string, description: string, sql: string][] {
  return [
    [
      'events-per-day',
      'Events and distinct clients per UTC day and event name, last 7 days',
      `SELECT substr(datehour, 1, 10) AS day, event_name, count(*) AS events, count(DISTINCT client_id) AS clients
FROM events
WHERE datehour >= date_format(current_timestamp - interval '7' day, '%Y/%m/%d/%H')
GROUP BY 1, 2
ORDER BY 1, 3 DESC`,
    ],
    [
      'funnel',
      'Sessions reaching product_view → add_to_cart → begin_checkout → purchase in order, last 7 days',
      // Each step is the earliest one after the previous step (greedy), which finds the furthest
      // step a session reached in order; "first timestamp per step" would under-count.
      `WITH e AS (
  SELECT session_id, event_name, from_iso8601_timestamp(event_timestamp) AS ts
  FROM events
  WHERE datehour >= date_format(current_timestamp - interval '7' day, '%Y/%m/%d/%H')
    AND event_name IN ('product_view', 'add_to_cart', 'begin_checkout', 'purchase')
),
s1 AS (SELECT session_id, min(ts) AS ts FROM e WHERE event_name = 'product_view' GROUP BY 1),
s2 AS (SELECT s.session_id, min(e.ts) AS ts FROM s1 s JOIN e ON e.session_id = s.session_id
  AND e.event_name = 'add_to_cart' AND e.ts >= s.ts GROUP BY 1),
s3 AS (SELECT s.session_id, min(e.ts) AS ts FROM s2 s JOIN e ON e.session_id = s.session_id
  AND e.event_name = 'begin_checkout' AND e.ts >= s.ts GROUP BY 1),
s4 AS (SELECT s.session_id, min(e.ts) AS ts FROM s3 s JOIN e ON e.session_id = s.session_id
  AND e.event_name = 'purchase' AND e.ts >= s.ts GROUP BY 1)
SELECT (SELECT count(*) FROM s1) AS product_view, (SELECT count(*) FROM s2) AS add_to_cart,
  (SELECT count(*) FROM s3) AS begin_checkout, (SELECT count(*) FROM s4) AS purchase`,
    ],
  ];
}
