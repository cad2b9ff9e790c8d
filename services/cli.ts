/**
 * `clickstream <service> <command> [...]`: dispatches to each service's own cli module, loaded on
 * demand so one service's dependencies never slow another's start.
 */
export const SERVICES: Record<string, { load: () => Promise<{ run(args: string[]): Promise<number> }>; help: string }> =
  {
    ingest: {
      load: () => import('./ingest/cli.ts'),
      help: 'ingest serve            start the ingest HTTP server (POST /clickstream)',
    },
    etl: { load: () => import('./etl/cli.ts'), help: 'etl run | backfill      load the raw lake into the warehouse' },
    db: { load: () => import('./etl/cli.ts'), help: 'db migrate              apply migrations/ to the warehouse' },
    sql: {
      load: () => import('./etl/sql-cli.ts'),
      help: 'sql "<query>" | --serve  query the warehouse; serve embedded PGlite to psql/BI tools (:5433)',
    },
    privacy: {
      load: () => import('./etl/privacy-cli.ts'),
      help: 'privacy erase --user <sub> | --client <id>   erase a user from the warehouse and the lake',
    },
    quarantine: {
      load: () => import('./etl/quarantine-cli.ts'),
      help: 'quarantine list | show | replay   read rejected events; replay what the registry now accepts',
    },
    storefront: {
      load: () => import('./storefront/cli.ts'),
      help: 'storefront serve        start the demo shop (port 3000)',
    },
    oltp: {
      load: () => import('./storefront/cli.ts').then((m) => ({ run: m.runOltp })),
      help: "oltp migrate            apply migrations/oltp/ to the shop's database and seed it",
    },
    dashboard: {
      load: () => import('./dashboard/cli.ts'),
      help: 'dashboard serve         start the analytics dashboard (http://127.0.0.1:3838)',
    },
    start: {
      load: () => import('./stack/cli.ts'),
      help: 'start                   the whole local platform: shop, ingest, ETL timer, dashboard (npm start)',
    },
    simulate: {
      load: () => import('./stack/cli.ts').then((m) => ({ run: m.runSimulate })),
      help: 'simulate --sessions N   synthetic shoppers through the ingest API (--days, --rate, --target, --seed)',
    },
  };

export async function main(argv: string[]): Promise<number> {
  const [service, ...rest] = argv;
  const entry = service ? SERVICES[service] : undefined;
  if (!service || !entry) {
    const help = !service || ['--help', '-h', 'help'].includes(service);
    if (!help) {
      console.error(`clickstream: unknown command ${JSON.stringify(service)} (see clickstream --help)`);
      return 2;
    }
    console.error(
      `usage: clickstream <command>   (clickstream <command> --help for its options)\n\n${Object.values(SERVICES)
        .map((s) => `  ${s.help}`)
        .join('\n')}`,
    );
    return 0;
  }
  const mod = await entry.load();
  try {
    return await mod.run(service === 'db' ? ['db', ...rest] : rest);
  } catch (err) {
    // A clear one-line message for the operator; the stack only when debugging.
    console.error(`clickstream ${service}: ${(err as Error).message}`);
    if (process.env.LOG_LEVEL === 'debug') console.error(err);
    return 1;
  }
}
