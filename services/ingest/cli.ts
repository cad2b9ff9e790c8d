/**
 * `clickstream ingest serve`: the ingest server on PORT/HOST until SIGTERM or SIGINT — one worker
 * process per core (INGEST_WORKERS, cluster.ts), or this process alone with INGEST_WORKERS=1.
 */
import cluster from 'node:cluster';
import { portInUseMessage, unexpectedArguments, wantsHelp } from '../cli-args.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { untilShutdown } from '../shutdown.ts';
import { runPrimary, runWorker, workerCount } from './cluster.ts';
import { startIngestServer } from './server.ts';

const USAGE = `usage: clickstream ingest serve

Starts POST /clickstream on HOST:PORT (default 127.0.0.1:8080), storing into LAKE_URL.
Configuration comes from environment variables (see README.md, Configuration).`;

export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || wantsHelp(args)) {
    console.error(USAGE);
    return 0;
  }
  if (command !== 'serve' || rest.length > 0) {
    console.error(unexpectedArguments('ingest', args));
    return 2;
  }
  let server: Awaited<ReturnType<typeof startIngestServer>>;
  try {
    const config = loadConfig();
    if (cluster.isWorker) return await runWorker(config);
    const workers = workerCount(config);
    if (workers > 1) return await runPrimary(config, workers);
    server = await startIngestServer({ config });
  } catch (err) {
    if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(portInUseMessage(err, 'PORT') ?? (err as Error).message);
      return 1;
    }
    throw err;
  }
  const reason = await untilShutdown();
  console.error(`${reason}: finishing in-flight requests`);
  await server.close();
  return 0;
}
