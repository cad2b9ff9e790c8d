/**
 * The storefront's entry on Amplify Hosting compute (bundled to compute/default/server.mjs by
 * build.ts): `startStorefrontServer` on 0.0.0.0:3000, the port Amplify's compute forwards to.
 *
 * Amplify does not hand branch environment variables to the compute runtime, so build.ts bakes the
 * shop's settings (ARNs and URLs, no secrets) into runtime-env.json next to this file; a variable
 * set in the real environment still wins. The embedded PGlite is not in the bundle: without an
 * OLTP database (the Data API or OLTP_DATABASE_URL) the server refuses to start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../services/config.ts';
import { startStorefrontServer } from '../../services/storefront/server.ts';
import { RUNTIME_ENV_FILE, runtimeEnv } from './runtime-env.ts';

async function main(): Promise<void> {
  const file = new URL(`./${RUNTIME_ENV_FILE}`, import.meta.url);
  const baked = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const config = loadConfig(runtimeEnv(baked, process.env));
  if (!config.OLTP_DATA_API_RESOURCE_ARN && !config.OLTP_DATABASE_URL) {
    throw new ConfigError(
      'no OLTP database: set OLTP_DATA_API_RESOURCE_ARN + OLTP_DATA_API_SECRET_ARN (or OLTP_DATABASE_URL) when building; the Amplify bundle has no embedded PGlite',
    );
  }
  const server = await startStorefrontServer({ config });
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
