/**
 * `clickstream storefront serve | media <dir>` and `clickstream oltp migrate`: thin — read the
 * config, call server.ts / seed.ts, report. Exit codes: 0 ok · 1 failed or bad configuration ·
 * 2 usage error.
 */
import path from 'node:path';
import { portInUseMessage, unexpectedArguments } from '../cli-args.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { untilShutdown } from '../shutdown.ts';
import { writeMedia } from './seed.ts';
import { openConfiguredOltp, prepareOltp, startStorefrontServer } from './server.ts';

const STOREFRONT_USAGE = `usage:
  clickstream storefront serve          start the demo shop on HOST:STOREFRONT_PORT (default 127.0.0.1:3000)
  clickstream storefront media <dir>    write the catalogue's product images into <dir> (to upload to the media bucket)

serve migrates and seeds the OLTP database first (OLTP_DATABASE_URL, or PGlite in <DATA_DIR>/oltp;
over the RDS Data API it only seeds: the deploy migrates as admin and the shop's login is DML-only),
signs shoppers in with Cognito (COGNITO_USER_POOL_ID + COGNITO_CLIENT_ID) or the local identity
provider (keys in <DATA_DIR>/identity), and points the tracker at INGEST_URL. The ingest must list
the shop's origin in CORS_ORIGINS; the start-up log prints the ingest settings that match.`;

const OLTP_USAGE = `usage:
  clickstream oltp migrate    apply migrations/oltp/ to the shop's OLTP database and seed the catalogue

OLTP database: OLTP_DATABASE_URL, or embedded PGlite in <DATA_DIR>/oltp when unset (stop
\`storefront serve\` first: PGlite allows one process per data folder).`;

const isHelp = (arg: string | undefined) => arg === undefined || arg === 'help' || arg === '--help' || arg === '-h';

function usage(text: string, arg: string | undefined, command: string, args: string[]): number {
  if (!isHelp(arg)) {
    console.error(unexpectedArguments(command, args));
    return 2;
  }
  console.error(text);
  return 0;
}

async function configured<T>(fn: (config: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T | number> {
  try {
    return await fn(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(portInUseMessage(err, 'STOREFRONT_PORT') ?? (err as Error).message);
      return 1;
    }
    throw err;
  }
}

/** `clickstream storefront …` */
export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'serve' && rest.length === 0) {
    const server = await configured((config) => startStorefrontServer({ config }));
    if (typeof server === 'number') return server;
    const reason = await untilShutdown();
    console.error(`${reason}: finishing in-flight requests`);
    await server.close();
    return 0;
  }
  if (command === 'media' && rest.length === 1 && !isHelp(rest[0])) {
    const dir = path.resolve(rest[0]!);
    const written = await writeMedia(dir);
    console.log(JSON.stringify({ dir, written }));
    return 0;
  }
  return usage(STOREFRONT_USAGE, rest.find(isHelp) ?? command, 'storefront', args);
}

/** `clickstream oltp …` */
export async function runOltp(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'migrate' || rest.length > 0) return usage(OLTP_USAGE, rest.find(isHelp) ?? command, 'oltp', args);
  const result = await configured(async (config) => {
    const oltp = await openConfiguredOltp(config);
    try {
      const seeded = await prepareOltp(oltp, () => new Date());
      return { oltp: oltp.location, ...seeded };
    } finally {
      await oltp.close();
    }
  });
  if (typeof result === 'number') return result;
  console.log(JSON.stringify(result));
  return 0;
}
