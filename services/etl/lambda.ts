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

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Config, loadConfig } from '../config.ts';
import { openLake } from '../lake/open.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { createLogger, entrySink } from '../log.ts';
import { DAY_MS, floorDay, floorHour, HOUR_MS } from '../time.ts';
import { alertOnFailure } from './alert.ts';
import { type EtlResult, type ReceiveWindow, runEtl, summary, type Trigger } from './core.ts';
import { databaseUrlFromSecret } from './database-url.ts';
import { objectLimitsFrom } from './object-lines.ts';
import { ensureReadonlyRole, readerFromSecret } from './readonly-role.ts';
import { retentionFrom } from './retention.ts';
import { openWarehouse, type Warehouse, warehouseOptions } from './warehouse.ts';

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
    const start = floorHour(at);
    return { start, end: new Date(start.getTime() + HOUR_MS) };
  };
  const dayWindow = (at: Date) => {
    const start = floorDay(at);
    return { start, end: new Date(start.getTime() + DAY_MS) };
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
  const log = entrySink(createLogger(config.LOG_LEVEL, (line) => write(line.trimEnd()), { service: 'etl' }));
  let opened: Promise<{ warehouse: Warehouse; store: RawStore }> | undefined;
  const open =
    deps.open ??
    (async () => ({
      warehouse: await openWarehouse(warehouseOptions(config)),
      store: openLake(config),
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

type Handler = ReturnType<typeof createHandler>;

export interface RotatingHandlerDeps {
  /** The current secret string; read before every invocation. */
  readSecret: () => Promise<string | undefined>;
  /** The dashboard reader's secret, when one is deployed (its role is kept in step before each run). */
  readReaderSecret?: () => Promise<string | undefined>;
  env?: Record<string, string | undefined>;
}

/**
 * The deployed form: the warehouse URL built from the Secrets Manager secret DATABASE_SECRET_ARN
 * instead of a password in the environment, read on every invocation (hourly, so the cost is nil).
 * The ETL handler (and its pool) is rebuilt whenever the URL changes — after a rotation the next
 * run opens a new pool and closes the old one — and before each run the dashboard reader's secret
 * is applied to its role (live in the warehouse within the hour; a failure there is logged and
 * does not stop the load).
 */
export function createRotatingHandler(deps: RotatingHandlerDeps): Handler {
  let current: (ReturnType<typeof handlerFor> & { url: string }) | undefined;
  return async (event: unknown) => {
    const url = databaseUrlFromSecret(await deps.readSecret());
    if (current?.url !== url) {
      await current?.close().catch(() => {});
      current = { url, ...handlerFor(url, deps.env ?? process.env) };
    }
    if (deps.readReaderSecret) {
      try {
        const database = decodeURIComponent(new URL(url).pathname.slice(1));
        const reader = readerFromSecret(await deps.readReaderSecret(), database);
        await ensureReadonlyRole(await current.warehouse(), reader);
      } catch (err) {
        current.log({ level: 'warn', msg: 'dashboard reader role not updated', error: (err as Error).message });
      }
    }
    return current.handler(event);
  };
}

function handlerFor(url: string, env: Record<string, string | undefined>) {
  const config = loadConfig({ ...env, DATABASE_URL: url });
  let opened: Promise<Warehouse> | undefined;
  const warehouse = () => {
    opened ??= openWarehouse({ databaseUrl: url });
    return opened;
  };
  const handler = createHandler({
    config,
    open: async () => ({ warehouse: await warehouse(), store: openLake(config) }),
  });
  const log = entrySink(createLogger(config.LOG_LEVEL, (line) => process.stderr.write(line), { service: 'etl' }));
  return { handler, warehouse, log, close: async () => (await opened)?.close() };
}

let lazyHandler: Handler | undefined;

/** Reads a Secrets Manager secret's string (one client per container). */
let secrets: SecretsManagerClient | undefined;
async function readSecret(secretId: string): Promise<string | undefined> {
  secrets ??= new SecretsManagerClient({});
  return (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
}

/**
 * The Lambda entry point (infra/flows/etl.ts deploys it). With DATABASE_SECRET_ARN (the deployed
 * stack) the warehouse URL comes from that secret and DASHBOARD_READER_SECRET_ARN keeps the
 * reader role in step; without it, from DATABASE_URL. Configuration is read (and validated) on the
 * first invocation.
 */
export const handler = (event: unknown) => {
  if (!lazyHandler) {
    const secretArn = process.env.DATABASE_SECRET_ARN;
    const readerArn = process.env.DASHBOARD_READER_SECRET_ARN;
    lazyHandler = secretArn
      ? createRotatingHandler({
          readSecret: () => readSecret(secretArn),
          readReaderSecret: readerArn ? () => readSecret(readerArn) : undefined,
        })
      : createHandler({ config: loadConfig() });
  }
  return lazyHandler(event);
};
