/** `clickstream dashboard serve`: the dashboard on HOST:DASHBOARD_PORT until SIGTERM or SIGINT. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { portInUseMessage, unexpectedArguments, wantsHelp } from '../cli-args.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger, entrySink } from '../log.ts';
import { untilShutdown } from '../shutdown.ts';
import { startDashboardServer } from './server.ts';

const USAGE = `usage: clickstream dashboard serve

Serves the analytics dashboard on HOST:DASHBOARD_PORT (default http://127.0.0.1:3838), reading the
warehouse at DATABASE_URL or the embedded PGlite in <DATA_DIR>/dwh. Beyond loopback it needs
DASHBOARD_TOKEN. Configuration comes from environment variables (README.md, Configuration).`;

export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || wantsHelp(args)) {
    console.error(USAGE);
    return 0;
  }
  if (command !== 'serve' || rest.length > 0) {
    console.error(unexpectedArguments('dashboard', args));
    return 2;
  }
  let server: Awaited<ReturnType<typeof startDashboardServer>>;
  try {
    const config = loadConfig();
    server = await startDashboardServer({
      config,
      log: entrySink(createLogger(config.LOG_LEVEL, (line) => process.stderr.write(line), { service: 'dashboard' })),
    });
  } catch (err) {
    if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(portInUseMessage(err, 'DASHBOARD_PORT') ?? (err as Error).message);
      return 1;
    }
    throw err;
  }
  console.error(JSON.stringify({ msg: 'dashboard listening', url: server.url }));
  const reason = await untilShutdown();
  console.error(`${reason}: stopping`);
  await server.close();
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
