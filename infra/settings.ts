/**
 * Deployment settings, read from CDK context (`cdk.json` or `-c key=value`). One pure function
 * turns the raw context into typed settings and fails with a message naming the context key, so a
 * typo surfaces at synth instead of as a half-configured stack.
 */

export interface ClickstreamSettings {
  /** Origins allowed to call POST /clickstream (API Gateway preflight and the ingest app). */
  corsOrigins: string[];
  /** Address subscribed to the alert topic; none → subscribe later. */
  alertEmail?: string;
  /** API Gateway stage throttling (requests per second, burst). */
  throttle: { rateLimit: number; burstLimit: number };
  /** Standby instances for both databases; off only for throwaway environments. */
  multiAz: boolean;
  /** Deletion protection (RDS, Cognito) and RETAIN on stateful resources. */
  deletionProtection: boolean;
  /** Athena workgroup: a query scanning more than this many GB is cancelled (and billed up to it). */
  athenaBytesScannedCutoffGb: number;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

const DEFAULTS: ClickstreamSettings = {
  corsOrigins: [],
  throttle: { rateLimit: 500, burstLimit: 1000 },
  multiAz: true,
  deletionProtection: true,
  athenaBytesScannedCutoffGb: 10,
};

function bool(key: string, raw: unknown, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new SettingsError(`context ${key}: expected true or false, got ${JSON.stringify(raw)}`);
}

function positiveInt(key: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new SettingsError(`context ${key}: expected a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

function origins(key: string, raw: unknown): string[] {
  if (raw === undefined || raw === '') return [];
  const list = Array.isArray(raw) ? raw : String(raw).split(',');
  return list.map((value) => {
    const origin = String(value).trim();
    // The ingest app refuses `*` as well: credentials (Cognito tokens) must not go to any origin.
    if (!/^https?:\/\/[^/*\s]+$/.test(origin)) {
      throw new SettingsError(
        `context ${key}: ${JSON.stringify(origin)} is not an origin like https://shop.example.com`,
      );
    }
    return origin;
  });
}

/** Reads the `clickstream:*` context keys through `get` (e.g. `(k) => app.node.tryGetContext(k)`). */
export function settingsFromContext(get: (key: string) => unknown): ClickstreamSettings {
  const alertEmail = get('clickstream:alertEmail');
  if (alertEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(String(alertEmail))) {
    throw new SettingsError(`context clickstream:alertEmail: ${JSON.stringify(alertEmail)} is not an e-mail address`);
  }
  const throttle = {
    rateLimit: positiveInt(
      'clickstream:throttleRateLimit',
      get('clickstream:throttleRateLimit'),
      DEFAULTS.throttle.rateLimit,
    ),
    burstLimit: positiveInt(
      'clickstream:throttleBurstLimit',
      get('clickstream:throttleBurstLimit'),
      DEFAULTS.throttle.burstLimit,
    ),
  };
  return {
    corsOrigins: origins('clickstream:corsOrigins', get('clickstream:corsOrigins')),
    alertEmail: alertEmail === undefined ? undefined : String(alertEmail),
    throttle,
    multiAz: bool('clickstream:multiAz', get('clickstream:multiAz'), DEFAULTS.multiAz),
    deletionProtection: bool(
      'clickstream:deletionProtection',
      get('clickstream:deletionProtection'),
      DEFAULTS.deletionProtection,
    ),
    athenaBytesScannedCutoffGb: positiveInt(
      'clickstream:athenaBytesScannedCutoffGb',
      get('clickstream:athenaBytesScannedCutoffGb'),
      DEFAULTS.athenaBytesScannedCutoffGb,
    ),
  };
}
