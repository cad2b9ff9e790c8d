/**
 * The one configuration module. Every service reads its settings here, from environment
 * variables validated with TypeBox; a bad value fails at start with a message naming the variable.
 * Defaults are the embedded local stack (file lake in .data/lake, PGlite warehouse in .data/dwh).
 */
import path from 'node:path';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Errors } from '@sinclair/typebox/errors';
import { Check, Convert } from '@sinclair/typebox/value';

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const PositiveInt = Type.Integer({ minimum: 1 });

/** Every variable: its schema, default and meaning (the README's config table follows this). */
export const CONFIG_VARIABLES = {
  DATA_DIR: {
    schema: Type.String({ minLength: 1 }),
    default: '.data',
    doc: 'Folder of the embedded defaults (file lake, PGlite warehouse and OLTP, identity keys, media).',
  },
  PORT: { schema: Port, default: 8080, doc: 'Port of `clickstream ingest serve`.' },
  HOST: { schema: Type.String({ minLength: 1 }), default: '127.0.0.1', doc: 'Address the Node servers bind to.' },
  LAKE_URL: {
    schema: Type.String({ pattern: '^(file:///|s3://)' }),
    default: '',
    doc: 'Raw lake: `file:///abs/path` or `s3://bucket[/prefix]`; default `file://<DATA_DIR>/lake`.',
  },
  S3_ENDPOINT: {
    schema: Type.String({ pattern: '^https?://' }),
    default: '',
    doc: 'Endpoint of an S3-compatible server (path-style); unset for AWS S3.',
  },
  AWS_REGION: {
    schema: Type.String({ minLength: 1 }),
    default: 'us-east-1',
    doc: 'AWS region of S3, SNS and Cognito.',
  },
  DATABASE_URL: {
    schema: Type.String({ pattern: '^postgres(ql)?://' }),
    default: '',
    doc: 'Warehouse PostgreSQL; unset → embedded PGlite in `<DATA_DIR>/dwh`.',
  },
  CORS_ORIGINS: {
    // Exact origins only: `*` is refused because the API accepts credentials (sendBeacon sends them).
    schema: Type.String({ pattern: '^https?://[^/\\s,*]+(\\s*,\\s*https?://[^/\\s,*]+)*$' }),
    default: '',
    doc: 'Comma-separated origins allowed to call the ingest API (no `*`).',
  },
  COGNITO_USER_POOL_ID: {
    schema: Type.String(),
    default: '',
    doc: 'Cognito user pool whose ID tokens identify users.',
  },
  COGNITO_CLIENT_ID: {
    schema: Type.String(),
    default: '',
    doc: "Expected audience (app client id) of ID tokens; also the `aud` of the local identity provider's tokens.",
  },
  JWT_ISSUER: {
    schema: Type.String(),
    default: '',
    doc: "Token issuer for local use (instead of a Cognito pool); also the `iss` of the shop's local identity provider.",
  },
  JWKS_URI: { schema: Type.String(), default: '', doc: 'JWKS URL or `file:///…` path for local token verification.' },
  MAX_BODY_BYTES: { schema: PositiveInt, default: 1_048_576, doc: 'Largest accepted request body (decompressed).' },
  MAX_EVENT_BYTES: {
    schema: PositiveInt,
    default: 32_768,
    doc: 'Largest accepted single event (UTF-8 JSON as sent); a larger one is rejected on its own.',
  },
  MAX_EVENTS_PER_REQUEST: { schema: PositiveInt, default: 500, doc: 'Most events in one request.' },
  RATE_LIMIT_PER_MINUTE: {
    schema: PositiveInt,
    default: 6000,
    doc: 'Requests per client IP per minute in the Node server, counted by each worker of `ingest serve`.',
  },
  INGEST_HEADERS_TIMEOUT_SECONDS: {
    schema: PositiveInt,
    default: 10,
    doc: "Seconds `ingest serve` waits for a request's headers; then 408 `request_timeout` and the connection is closed.",
  },
  INGEST_BODY_TIMEOUT_SECONDS: {
    schema: PositiveInt,
    default: 30,
    doc: 'Seconds `ingest serve` waits for a whole request, body included (then 408).',
  },
  INGEST_IDLE_TIMEOUT_SECONDS: {
    schema: PositiveInt,
    default: 5,
    doc: 'Seconds an idle keep-alive connection to `ingest serve` stays open.',
  },
  INGEST_MAX_CONNECTIONS: {
    schema: PositiveInt,
    default: 1000,
    doc: 'Connections `ingest serve` holds at once; more are closed on arrival.',
  },
  INGEST_WORKERS: {
    schema: Type.Integer({ minimum: 0, maximum: 256 }),
    default: 0,
    doc: 'Worker processes of `ingest serve` (0: one per core; 1: a single process, no cluster).',
  },
  DASHBOARD_PORT: { schema: Port, default: 3838, doc: 'Port of `clickstream dashboard serve`.' },
  DASHBOARD_TOKEN: {
    schema: Type.String({ minLength: 16 }),
    default: '',
    doc: 'Token the dashboard requires (Bearer header or `?token=` once); required when HOST is not loopback.',
  },
  ETL_LOOKBACK_HOURS: {
    schema: PositiveInt,
    default: 24,
    doc: 'How far back `etl run` lists the lake for late objects.',
  },
  LAKE_RETENTION_DAYS: {
    schema: Type.Integer({ minimum: 0 }),
    default: 0,
    doc: 'Days `etl run` keeps lake objects; 0: forever.',
  },
  WAREHOUSE_RETENTION_DAYS: {
    schema: Type.Integer({ minimum: 0 }),
    default: 0,
    doc: 'Days `etl run` keeps per-user rows; 0: forever.',
  },
  ETL_MAX_OBJECT_LINES: {
    schema: PositiveInt,
    default: 100_000,
    doc: 'Lines the ETL reads per lake object; the rest is quarantined.',
  },
  ETL_MAX_OBJECT_BYTES: {
    schema: PositiveInt,
    default: 64 * 1024 * 1024,
    doc: 'Bytes (inflated) the ETL reads per lake object; the rest is quarantined.',
  },
  ETL_INTERVAL: {
    schema: Type.String({ pattern: '^[1-9][0-9]*(s|m|h)?$' }),
    default: '1m',
    doc: 'How often `clickstream start` runs the ETL: seconds (`90`), or with a unit `30s`, `1m`, `2h`. The AWS deployment keeps EventBridge `rate(1 hour)`.',
  },
  ALERT_TOPIC_ARN: { schema: Type.String(), default: '', doc: 'SNS topic that failed ETL runs publish to.' },
  STOREFRONT_PORT: { schema: Port, default: 3000, doc: 'Port of `clickstream storefront serve`.' },
  OLTP_DATABASE_URL: {
    schema: Type.String({ pattern: '^postgres(ql)?://' }),
    default: '',
    doc: "The shop's OLTP PostgreSQL; unset → embedded PGlite in `<DATA_DIR>/oltp`.",
  },
  OLTP_DATA_API_RESOURCE_ARN: {
    schema: Type.String({ pattern: '^arn:aws[a-z-]*:rds:[a-z0-9-]+:\\d{12}:cluster:[a-zA-Z][a-zA-Z0-9-]*$' }),
    default: '',
    doc: 'Aurora cluster ARN: the shop reaches its OLTP database through the RDS Data API (IAM-signed HTTPS, no open port) instead of `OLTP_DATABASE_URL`; needs `OLTP_DATA_API_SECRET_ARN`.',
  },
  OLTP_DATA_API_SECRET_ARN: {
    schema: Type.String({ pattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:' }),
    default: '',
    doc: 'Secrets Manager secret the Data API signs in with: on AWS the DML-only `shop_app` login (the deploy migrates as admin); the admin secret for `clickstream oltp migrate`.',
  },
  OLTP_DATA_API_DATABASE: {
    schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
    default: 'shop',
    doc: 'Database name on the Aurora cluster for the Data API.',
  },
  MEDIA_BASE_URL: {
    // A path on the shop itself, or an absolute URL (CloudFront in front of the media bucket).
    schema: Type.String({ pattern: '^(/|https?://)[^\\s]*[^/\\s]$' }),
    default: '/media',
    doc: 'Where product images are served from, without a trailing slash: `/media` (the shop serves `<DATA_DIR>/media`) or e.g. `https://dxxxx.cloudfront.net`.',
  },
  INGEST_URL: {
    schema: Type.String({ pattern: '^https?://' }),
    default: 'http://127.0.0.1:8080/clickstream',
    doc: "The `POST /clickstream` endpoint the shop's tracker sends to.",
  },
  LOG_LEVEL: {
    schema: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]),
    default: 'info',
    doc: 'Minimum level of the JSON logs.',
  },
} satisfies Record<string, { schema: TSchema; default: unknown; doc: string }>;

type Vars = typeof CONFIG_VARIABLES;
export type Config = { [K in keyof Vars]: Static<Vars[K]['schema']> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration from `env` (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(CONFIG_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[name] = spec.default;
      continue;
    }
    const value = Convert(spec.schema, raw);
    if (!Check(spec.schema, value)) {
      const first = [...Errors(spec.schema, value)][0];
      problems.push(`${name}=${JSON.stringify(raw)}: ${first?.message ?? 'invalid'}`);
      continue;
    }
    out[name] = value;
  }
  const dataApi = [out.OLTP_DATA_API_RESOURCE_ARN, out.OLTP_DATA_API_SECRET_ARN].filter(Boolean).length;
  if (dataApi === 1)
    problems.push('OLTP_DATA_API_RESOURCE_ARN and OLTP_DATA_API_SECRET_ARN: set both (RDS Data API) or neither');
  if (dataApi > 0 && out.OLTP_DATABASE_URL)
    problems.push('OLTP_DATABASE_URL: set it or the OLTP_DATA_API_* variables, not both (one OLTP database)');
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const config = out as Config;
  if (!config.LAKE_URL) config.LAKE_URL = `file://${path.resolve(config.DATA_DIR, 'lake')}`;
  return config;
}

/** The longest a Node timer waits (2^31−1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** ETL_INTERVAL in milliseconds (`90` and `90s` are seconds, `1m` minutes, `2h` hours). */
export function etlIntervalMs(value: string): number {
  const m = /^([1-9][0-9]*)(s|m|h)?$/.exec(value);
  if (!m)
    throw new ConfigError(`ETL_INTERVAL=${JSON.stringify(value)}: expected seconds or a duration like 30s, 1m, 2h`);
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
  if (ms > MAX_TIMER_MS) {
    throw new ConfigError(
      `ETL_INTERVAL=${JSON.stringify(value)}: at most ${Math.floor(MAX_TIMER_MS / 3_600_000)}h (about 24.8 days), the longest a timer can wait`,
    );
  }
  return ms;
}
