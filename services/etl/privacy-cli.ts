/**
 * `clickstream privacy erase --user <sub> | --client <id>`: the right to erasure (privacy.ts).
 * stdout: one JSON summary line. Exit codes: 0 erased (or nothing left to erase) · 1 failed or bad
 * configuration · 2 usage error · 3 an ETL run holds the lock (try again when it has finished).
 */
import { parseArgs } from 'node:util';
import { UsageError, wantsHelp } from '../cli-args.ts';
import { commandFailure } from '../cli-failure.ts';
import { loadConfig } from '../config.ts';
import { createLogger, entrySink } from '../log.ts';

const USAGE = `usage:
  clickstream privacy erase --user <sub> [--by <who>]     erase a signed-in user (Cognito sub = user_id)
  clickstream privacy erase --client <id> [--by <who>]    erase a browser (client_id), guest events included

Deletes the rows from the warehouse (facts, sessions; daily counts and rollups recomputed) and
rewrites every lake object holding them without those lines (ledger ETags updated, so no reload
brings them back). Idempotent; each run is logged in privacy_erasures (subject as SHA-256).
Reads every lake object: the lake has no index by user. Retention: LAKE_RETENTION_DAYS and
WAREHOUSE_RETENTION_DAYS, enforced by \`etl run\`.`;

export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || wantsHelp(args)) {
      console.error(USAGE);
      return 0;
    }
    if (command !== 'erase') throw new UsageError(`unknown command: privacy ${command}`);
    const { values } = parseArgs({
      args: rest,
      options: { user: { type: 'string' }, client: { type: 'string' }, by: { type: 'string' } },
      strict: true,
    });
    if ((values.user === undefined) === (values.client === undefined)) {
      throw new UsageError('give exactly one of --user <sub> and --client <id>');
    }
    const id = (values.user ?? values.client) as string;
    if (!id.trim()) throw new UsageError('the identifier is empty');
    return await erase({ kind: values.user !== undefined ? 'user' : 'client', id }, values.by);
  } catch (err) {
    return commandFailure('privacy', err);
  }
}

async function erase(subject: { kind: 'user' | 'client'; id: string }, by: string | undefined): Promise<number> {
  const config = loadConfig();
  const [{ openLake }, { openConfiguredWarehouse }, { eraseSubject, currentUser }] = await Promise.all([
    import('../lake/open.ts'),
    import('./warehouse.ts'),
    import('./privacy.ts'),
  ]);
  const store = openLake(config);
  const warehouse = await openConfiguredWarehouse(config);
  try {
    await warehouse.migrate();
    const result = await eraseSubject({ warehouse, store }, subject, {
      requestedBy: by ?? currentUser(),
      log: entrySink(createLogger(config.LOG_LEVEL, (line) => process.stderr.write(line), { service: 'privacy' })),
    });
    console.log(
      JSON.stringify({
        status: result.status,
        erasure_id: result.erasureId,
        rows_deleted: result.rowsDeleted,
        sessions_deleted: result.sessionsDeleted,
        quarantined_deleted: result.quarantinedDeleted,
        lake_objects_rewritten: result.lakeObjectsRewritten,
        lake_lines_removed: result.lakeLinesRemoved,
        days_refreshed: result.daysRefreshed,
      }),
    );
    if (result.status === 'skipped')
      console.error('an ETL run holds the lock: run the erasure again when it has finished');
    return result.status === 'succeeded' ? 0 : 3;
  } finally {
    await warehouse.close();
  }
}
