/**
 * `clickstream etl run | etl backfill | etl rebuild --from <ISO> --to <ISO>` and `clickstream db migrate`.
 * Thin: reads the config, opens the lake and the warehouse, calls the core, reports the result.
 * stdout gets one JSON summary line; logs (JSON lines) and the progress bar (services/progress.ts) go to stderr.
 *
 * Exit codes: 0 succeeded · 1 run failed or bad configuration · 2 usage error · 3 skipped
 * because another run holds the ETL lock.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseRange, UsageError, wantsHelp } from '../cli-args.ts';
import { commandFailure } from '../cli-failure.ts';
import { type Config, loadConfig } from '../config.ts';
import { openLake } from '../lake/open.ts';
import { createLogger, entrySink } from '../log.ts';
import { progressBar as createProgressBar } from '../progress.ts';
import { alertOnFailure } from './alert.ts';
import { type EtlOptions, type EtlProgress, type ReceiveWindow, runEtl, summary } from './core.ts';
import { objectLimitsFrom } from './object-lines.ts';
import { retentionFrom } from './retention.ts';
import { openConfiguredWarehouse } from './warehouse.ts';

const USAGE = `usage:
  clickstream db migrate                              apply migrations/ to the warehouse
  clickstream etl run                                 load everything not yet loaded (with look-back)
  clickstream etl backfill --from <ISO> --to <ISO>    load a receive-time range, with progress; objects
                                                      already loaded are skipped
  clickstream etl rebuild --from <ISO> --to <ISO>     re-map EVERY object of the range and update the rows
                                                      the warehouse holds (new/changed columns filled, no
                                                      duplicates), rollups of the touched days refreshed;
                                                      after a crash, the same command resumes

options of etl run / backfill / rebuild:
  --batch-bytes <n>     compressed lake bytes per load transaction (default 1 MiB)
  --batch-objects <n>   lake objects per load transaction (default 500)

Warehouse: DATABASE_URL, or embedded PGlite in <DATA_DIR>/dwh when unset. Lake: LAKE_URL.`;

function parsePositive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Run logs on stderr at LOG_LEVEL; the run's summary is printed on stdout once, not again as a log line. */
const stderrLog = (minLevel: Config['LOG_LEVEL']) =>
  entrySink(
    createLogger(minLevel, (line) => process.stderr.write(line), { service: 'etl' }),
    (entry) => entry.msg === 'etl run succeeded',
  );

const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);

/** The backfill's bar: fraction of lake bytes loaded, with objects, MiB and rows. */
export function progressBar(write: (s: string) => void, isTty: boolean, started = performance.now()) {
  const bar = createProgressBar(write, isTty, started);
  return (p: EtlProgress) =>
    bar(
      p.bytesTotal ? p.bytesDone / p.bytesTotal : 1,
      `${p.objectsDone}/${p.objectsTotal} objects ${mib(p.bytesDone)}/${mib(p.bytesTotal)} MiB ` +
        `${p.rowsInserted.toLocaleString('en-US')} rows${p.rowsUpdated ? ` (+${p.rowsUpdated.toLocaleString('en-US')} updated)` : ''}`,
      p.objectsDone === p.objectsTotal,
    );
}

export async function run(args: string[]): Promise<number> {
  const [area, command, ...rest] = args[0] === 'db' ? args : ['etl', ...args];
  try {
    if (command === undefined || wantsHelp([command, ...rest])) {
      console.error(USAGE);
      return 0;
    }
    if (area === 'db' && command === 'migrate' && rest.length === 0) return await migrateCommand();
    if (area === 'etl' && (command === 'run' || command === 'backfill' || command === 'rebuild')) {
      return await etlCommand(command, rest);
    }
    throw new UsageError(`unknown command: ${[area, command, ...rest].join(' ')}`);
  } catch (err) {
    return commandFailure(area, err);
  }
}

async function migrateCommand(): Promise<number> {
  const config = loadConfig();
  const warehouse = await openConfiguredWarehouse(config);
  try {
    await warehouse.migrate();
    console.log(JSON.stringify({ migrated: warehouse.location }));
    return 0;
  } finally {
    await warehouse.close();
  }
}

async function etlCommand(command: 'run' | 'backfill' | 'rebuild', args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      'batch-bytes': { type: 'string' },
      'batch-objects': { type: 'string' },
    },
    strict: true,
  });
  let window: ReceiveWindow | undefined;
  const ranged = command !== 'run';
  if (ranged) {
    window = parseRange(values);
  } else if (values.from || values.to) {
    throw new UsageError('--from/--to belong to `etl backfill` and `etl rebuild`');
  }
  const batchBytes = parsePositive('--batch-bytes', values['batch-bytes']);
  const batchObjects = parsePositive('--batch-objects', values['batch-objects']);
  const config = loadConfig();
  const log = stderrLog(config.LOG_LEVEL);
  const store = openLake(config);
  const warehouse = await openConfiguredWarehouse(config);
  try {
    // Cheap when up to date; lets the embedded stack start from an empty folder.
    await warehouse.migrate();
    const opts: EtlOptions = {
      trigger: command === 'run' ? 'manual' : command,
      window,
      lookbackHours: config.ETL_LOOKBACK_HOURS,
      // runEtl applies it to the regular runs only, not to a backfill or rebuild of an old range.
      retention: retentionFrom(config),
      objectLimits: objectLimitsFrom(config),
      batchBytes,
      batchObjects,
      log,
      onProgress: ranged ? progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true) : undefined,
    };
    const result = await runEtl({ warehouse, store }, opts);
    if (command === 'backfill' && result.alreadyDone) {
      process.stderr.write(
        `${result.alreadyDone} object(s) of the range were already loaded and were skipped; ` +
          '`etl rebuild` re-maps them into the rows the warehouse holds\n',
      );
    }
    if (command === 'rebuild' && result.alreadyDone) {
      process.stderr.write(
        `resumed: ${result.alreadyDone} object(s) re-mapped by an unfinished rebuild of this range\n`,
      );
    }
    await alertOnFailure(result, { topicArn: config.ALERT_TOPIC_ARN, region: config.AWS_REGION, log });
    console.log(JSON.stringify(summary(result)));
    return result.status === 'succeeded' ? 0 : result.status === 'skipped' ? 3 : 1;
  } finally {
    await warehouse.close();
  }
}

// Lets tests and the benchmark run the CLI as a plain child process (`tsx services/etl/cli.ts …`).
// Run only when executed directly (compare paths: the URL is percent-encoded).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
