/** `clickstream ingest serve`: the ingest server on PORT/HOST until SIGTERM or SIGINT. */
import { ConfigError, loadConfig } from '../config.ts';
import { startIngestServer } from './server.ts';

const USAGE = `usage: clickstream ingest serve

Starts POST /clickstream on HOST:PORT (default 127.0.0.1:8080), storing into LAKE_URL.
Configuration comes from environment variables (see README.md, Configuration).`;

export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'serve' || rest.length > 0) {
    console.error(USAGE);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
  let server: Awaited<ReturnType<typeof startIngestServer>>;
  try {
    server = await startIngestServer({ config: loadConfig() });
  } catch (err) {
    if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error((err as Error).message);
      return 1;
    }
    throw err;
  }
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    // `npx` (npm exec) does not forward SIGTERM to this process: when it is killed we are
    // re-parented, and a server left listening with nobody to stop it would hold the port.
    // (process.ppid is fixed at start, so probe whether the parent still exists.)
    const parent = process.ppid;
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        resolve('parent exited');
      }
    }, 500).unref();
  });
  console.error(`${reason}: finishing in-flight requests`);
  await server.close();
  return 0;
}
