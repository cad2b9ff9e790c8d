/**
 * `clickstream start` (`npm start`): the whole local platform until Ctrl-C; and
 * `clickstream simulate …`: synthetic shoppers through the ingest API. Thin: read the
 * configuration, call start.ts / simulate.ts, report. Exit codes: 0 ok · 1 failed to start or bad
 * configuration · 2 usage error.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { progressBar } from '../progress.ts';
import { untilShutdown } from '../shutdown.ts';
import { localTokenIssuer, type SimulateOptions, simulate } from './simulate.ts';
import { StartupError, startStack } from './start.ts';

const START_USAGE = `usage: clickstream start

Runs the whole platform in this process on embedded defaults: applies the warehouse and OLTP
migrations, starts the shop (STOREFRONT_PORT, 3000), the dashboard (DASHBOARD_PORT, 3838) and the
ingest API (PORT, 8080), and runs the ETL every ETL_INTERVAL (1m). DATABASE_URL, OLTP_DATABASE_URL,
LAKE_URL (+ S3_ENDPOINT) and COGNITO_USER_POOL_ID + COGNITO_CLIENT_ID replace the embedded parts.
Ctrl-C (SIGINT) or SIGTERM stops it cleanly. Logs (JSON lines) go to stderr at LOG_LEVEL (warn
unless set).`;

const isHelp = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';

/** `clickstream start` */
export async function run(args: string[]): Promise<number> {
  if (args.length > 0) {
    console.error(START_USAGE);
    return args.length === 1 && isHelp(args[0]) ? 0 : 2;
  }
  const began = performance.now();
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    const config = loadConfig();
    // Request logs of three servers would bury the banner: warnings only unless LOG_LEVEL is set.
    stack = await startStack({ config, logLevel: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn' });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      // One line: `invalid configuration:\n  A=…\n  B=…` → `invalid configuration: A=…; B=…`.
      const line = err.message.replace(/:\n\s+/, ': ').replace(/\n\s+/g, '; ');
      console.error(`clickstream start: ${line}`);
      return 1;
    }
    throw err;
  }
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const e = stack.embedded;
  const every =
    stack.etlIntervalMs % 60_000 === 0 ? `${stack.etlIntervalMs / 60_000} min` : `${stack.etlIntervalMs / 1000} s`;
  const lines = [
    `clickstream is up (${seconds} s):`,
    `  shop        ${stack.urls.storefront}`,
    `  dashboard   ${stack.urls.dashboard}`,
    `  ingest      ${stack.urls.ingest}`,
    `  ETL         every ${every} (ETL_INTERVAL)`,
    'embedded:',
    `  raw lake    ${e.lake ?? '— (LAKE_URL)'}`,
    `  warehouse   ${e.warehouse ? `PGlite ${e.warehouse}` : '— (DATABASE_URL)'}`,
    `  shop db     ${e.oltp ? `PGlite ${e.oltp}` : '— (OLTP_DATABASE_URL)'}`,
    `  identity    ${e.identityKeys ? `local provider, keys in ${e.identityKeys}` : '— (Cognito)'}`,
    'Ctrl-C stops.',
  ];
  console.log(lines.join('\n'));
  const reason = await untilShutdown();
  console.error(`${reason}: stopping (finishing in-flight requests, lake writes and a running ETL tick)`);
  await stack.close();
  console.error('stopped');
  return 0;
}

const SIMULATE_USAGE = `usage: clickstream simulate --sessions N [--days D] [--rate R] [--target URL] [--seed S] [--json]

Sends N synthetic shopping sessions through the ingest API, as the shop's tracker would: guests and
signed-in users, repeat visitors, popular and long-tail products, funnel drop-offs, spread over the
last D days (default 1, at most 29) with backdated event times.
  --rate R      start at most R sessions per second (default: as fast as the ingest answers)
  --target URL  the ingest endpoint (default http://127.0.0.1:<PORT>/clickstream)
  --seed S      the same seed plans the same sessions and event_ids (default 1)
  --json        print the summary as one JSON object
Signed-in users carry ID tokens of the local identity provider (keys in <DATA_DIR>/identity, made
by \`clickstream start\` or \`storefront serve\`); without them every session is a guest's.`;

class UsageError extends Error {}

function count(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n < min) {
    throw new UsageError(`${flag} must be a number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `clickstream simulate …` */
export async function runSimulate(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        sessions: { type: 'string' },
        days: { type: 'string' },
        rate: { type: 'string' },
        target: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
    if (values.help) {
      console.error(SIMULATE_USAGE);
      return 0;
    }
    if (values.sessions === undefined) throw new UsageError('--sessions is required');
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  let opts: SimulateOptions;
  try {
    const config = loadConfig();
    const sessions = count('--sessions', values.sessions as string, 0, 1);
    const days = count('--days', values.days as string | undefined, 1, 1);
    if (!Number.isInteger(sessions)) throw new UsageError('--sessions must be a whole number');
    if (days > 29) throw new UsageError('--days must be at most 29 (ingest refuses events older than 30 days)');
    const target = (values.target as string | undefined) ?? `http://127.0.0.1:${config.PORT}/clickstream`;
    if (!/^https?:\/\//.test(target))
      throw new UsageError(`--target must be an http(s) URL, got ${JSON.stringify(target)}`);
    const now = () => new Date();
    const issueToken = await localTokenIssuer(config, now);
    if (!issueToken)
      console.error('no local identity keys in DATA_DIR/identity (or Cognito configured): every session is a guest');
    opts = {
      target,
      sessions,
      days,
      rate: count('--rate', values.rate as string | undefined, 0, 0),
      seed: Math.trunc(count('--seed', values.seed as string | undefined, 1, 0)),
      now,
      shopOrigin: `http://localhost:${config.STOREFRONT_PORT}`,
      ...(issueToken ? { issueToken } : {}),
    };
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${SIMULATE_USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const bar = progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true);
  const summary = await simulate({
    ...opts,
    onProgress: (done, total, accepted) =>
      bar(
        done / total,
        `${done}/${total} sessions ${accepted.toLocaleString('en-US')} events accepted`,
        done === total,
      ),
  });
  if (values.json) {
    console.log(JSON.stringify(summary));
    return 0;
  }
  const names = Object.entries(summary.events_by_name)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  console.log(
    [
      `sent ${summary.sessions} sessions (${summary.signed_in_sessions} signed in, ${summary.users} users; ` +
        `${summary.clients} clients, ${summary.repeat_clients} came back) to ${summary.target}`,
      `events: ${summary.events_sent} sent in ${summary.requests} requests, ${summary.accepted} accepted, ${summary.rejected} rejected ` +
        `(${summary.events_per_second} events/s)`,
      `by name: ${names}`,
      `purchases: ${summary.purchases}, revenue ${summary.revenue.toFixed(2)} USD`,
      `event times: ${summary.first_event_at} … ${summary.last_event_at}`,
    ].join('\n'),
  );
  return 0;
}
