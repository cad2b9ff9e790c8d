/**
 * `clickstream start` (`npm start`): the whole local platform until Ctrl-C; and
 * `clickstream simulate …`: synthetic shoppers through the ingest API. Thin: read the
 * configuration, call start.ts / simulate.ts, report. Exit codes: 0 ok · 1 failed to start or bad
 * configuration · 2 usage error.
 */
import { ConfigError, loadConfig } from '../config.ts';
import { untilShutdown } from '../shutdown.ts';
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
      console.error(`clickstream start: ${(err as Error).message}`);
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

/** `clickstream simulate …` */
export async function runSimulate(_args: string[]): Promise<number> {
  return 2;
}
