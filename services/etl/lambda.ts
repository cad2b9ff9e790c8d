/**
 * AWS Lambda adapter. Invoked by EventBridge `rate(1 hour)` (a Scheduled Event: load everything not
 * yet loaded, with look-back) or manually with a payload naming what to (re)load, like the seed's
 * `targetUtcHour`/`scope` overrides:
 *
 *   { "hour": "2026-11-20T10:00:00Z" }            one receive hour
 *   { "day": "2026-11-20" }                       one UTC day
 *   { "from": "<ISO>", "to": "<ISO>" }            any range (end exclusive)
 *   { "targetUtcHour": "<ISO>", "scope": "hour" | "day" }   the seed's shape
 *
 * Each invocation prints its metrics as one CloudWatch EMF line and its outcome as a JSON log;
 * a failed run publishes to ALERT_TOPIC_ARN and makes the invocation fail (so Lambda's own error
 * metric and retries see it).
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Config, loadConfig } from '../config.ts';
import { openRawStore } from '../lake/open.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { alertOnFailure } from './alert.ts';
import { type EtlResult, type ReceiveWindow, runEtl, summary, type Trigger } from './core.ts';
import { objectLimitsFrom } from './object-lines.ts';
import { retentionFrom } from './retention.ts';
import { openWarehouse, type Warehouse } from './warehouse.ts';

const Iso = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}' });
const ScheduledEvent = Type.Object({
  source: Type.Literal('aws.events'),
  'detail-type': Type.Literal('Scheduled Event'),
});
const ManualPayload = Type.Union([
  Type.Object({ hour: Iso }, { additionalProperties: false }),
  Type.Object({ day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }) }, { additionalProperties: false }),
  Type.Object({ from: Iso, to: Iso }, { additionalProperties: false }),
  Type.Object(
    { targetUtcHour: Iso, scope: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])) },
    { additionalProperties: false },
  ),
]);
type ManualPayload = Static<typeof ManualPayload>;

export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}

const HOUR_MS = 3_600_000;

function instant(value: string, field: string): Date {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidPayloadError(`${field}: not a date-time: ${JSON.stringify(value)}`);
  return new Date(ms);
}

/** What to load for an invocation payload; `window` undefined = scheduled run with look-back. */
export function planInvocation(event: unknown): { trigger: Trigger; window?: ReceiveWindow } {
  if (Value.Check(ScheduledEvent, event)) return { trigger: 'schedule' };
  if (!Value.Check(ManualPayload, event)) {
    throw new InvalidPayloadError(
      'payload must be an EventBridge Scheduled Event or one of {hour}, {day}, {from, to}, {targetUtcHour, scope}',
    );
  }
  const p = event as ManualPayload;
  const hourWindow = (at: Date) => {
    const start = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
    return { start, end: new Date(start.getTime() + HOUR_MS) };
  };
  const dayWindow = (at: Date) => {
    const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
    return { start, end: new Date(start.getTime() + 24 * HOUR_MS) };
  };
  if ('hour' in p) return { trigger: 'manual', window: hourWindow(instant(p.hour, 'hour')) };
  if ('day' in p) return { trigger: 'manual', window: dayWindow(instant(`${p.day}T00:00:00Z`, 'day')) };
  if ('from' in p) {
    const window = { start: instant(p.from, 'from'), end: instant(p.to, 'to') };
    if (window.start >= window.end) throw new InvalidPayloadError('from must be before to');
    return { trigger: 'backfill', window };
  }
  const at = instant(p.targetUtcHour, 'targetUtcHour');
  return { trigger: 'manual', window: p.scope === 'day' ? dayWindow(at) : hourWindow(at) };
}

export const EMF_NAMESPACE = 'Clickstream/ETL';

/** One CloudWatch Embedded Metric Format line for a run. */
export function emfLine(result: EtlResult, at: Date): string {
  const metrics = {
    Objects: result.objects,
    RowsInserted: result.rowsInserted,
    Duplicates: result.duplicates,
    Quarantined: result.quarantined,
    Skipped: result.skipped,
    Failed: result.status === 'failed' ? 1 : 0,
    DurationMs: result.durationMs,
  };
  return JSON.stringify({
    _aws: {
      Timestamp: at.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: EMF_NAMESPACE,
          Dimensions: [['Trigger']],
          Metrics: Object.keys(metrics).map((Name) => ({
            Name,
            Unit: Name === 'DurationMs' ? 'Milliseconds' : 'Count',
          })),
        },
      ],
    },
    Trigger: result.trigger,
    ...metrics,
    run_id: result.runId,
    status: result.status,
  });
}

export interface HandlerDeps {
  config: Config;
  /** Opened once per container and reused by warm invocations. */
  open?: () => Promise<{ warehouse: Warehouse; store: RawStore }>;
  write?: (line: string) => void;
  /** SNS client for alerts; default: one for AWS_REGION. */
  sns?: SNSClient;
}

export function createHandler(deps: HandlerDeps) {
  const { config } = deps;
  const write = deps.write ?? ((line: string) => console.log(line));
  const log = (entry: Record<string, unknown>) =>
    write(JSON.stringify({ time: new Date().toISOString(), service: 'etl', ...entry }));
  let opened: Promise<{ warehouse: Warehouse; store: RawStore }> | undefined;
  const open =
    deps.open ??
    (async () => ({
      warehouse: await openWarehouse({ databaseUrl: config.DATABASE_URL, pgliteDir: `${config.DATA_DIR}/dwh` }),
      store: openRawStore(config.LAKE_URL, { s3Endpoint: config.S3_ENDPOINT, region: config.AWS_REGION }),
    }));

  return async (event: unknown): Promise<Record<string, unknown>> => {
    const plan = planInvocation(event);
    opened ??= open();
    const { warehouse, store } = await opened;
    const result = await runEtl(
      { warehouse, store },
      {
        trigger: plan.trigger,
        window: plan.window,
        lookbackHours: config.ETL_LOOKBACK_HOURS,
        retention: retentionFrom(config),
        objectLimits: objectLimitsFrom(config),
        log,
      },
    );
    write(emfLine(result, new Date()));
    await alertOnFailure(result, {
      topicArn: config.ALERT_TOPIC_ARN,
      region: config.AWS_REGION,
      client: deps.sns,
      log,
    });
    if (result.status === 'failed') throw new Error(`etl run ${result.runId} failed: ${result.error}`);
    return summary(result);
  };
}

let lazyHandler: ReturnType<typeof createHandler> | undefined;

/** The Lambda entry point; configuration is read (and validated) on the first invocation. */
export const handler = (event: unknown) => {
  lazyHandler ??= createHandler({ config: loadConfig() });
  return lazyHandler(event);
};
