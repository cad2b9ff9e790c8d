/**
 * `clickstream sql "<query>"` against the configured warehouse (DATABASE_URL, or the embedded
 * PGlite in <DATA_DIR>/dwh) — a table, JSON lines or CSV on stdout — and `clickstream sql --serve`,
 * which serves the embedded PGlite over the PostgreSQL wire protocol (@electric-sql/pglite-socket)
 * so psql and BI tools can open it. PGlite allows one process per data folder: while it is served,
 * `clickstream sql` and the dashboard reach it through the served port
 * (DATABASE_URL=postgres://postgres@127.0.0.1:5433/postgres); the ETL, privacy and migrate commands
 * refuse it (warehouse.ts): all its connections share one backend, so advisory locks exclude nothing.
 */
import { parseArgs } from 'node:util';
import { UsageError, wantsHelp } from '../cli-args.ts';
import { commandFailure } from '../cli-failure.ts';
import { loadConfig } from '../config.ts';
import { untilShutdown } from '../shutdown.ts';

const USAGE = `usage:
  clickstream sql "<query>" [--json | --csv] [--read-only]
      run one SQL statement on the warehouse; a table (default), JSON lines or CSV on stdout;
      --read-only runs it in a read-only transaction (writes fail)
  clickstream sql --serve [--port 5433] [--host 127.0.0.1] [--allow-remote]
      serve the embedded PGlite warehouse over the PostgreSQL wire protocol until Ctrl-C:
      psql -h 127.0.0.1 -p 5433 -U postgres postgres
      no authentication, every client is superuser: a --host other than loopback needs
      --allow-remote. Reading only: etl, privacy and db migrate refuse a served PGlite (stop it first)

Warehouse: DATABASE_URL, or embedded PGlite in <DATA_DIR>/dwh when unset (--serve: PGlite only;
with DATABASE_URL set, connect to that server directly). Tables: README.md, "Operating".`;

export const DEFAULT_SQL_PORT = 5433;

export async function run(args: string[]): Promise<number> {
  try {
    if (args.length === 0 || wantsHelp(args)) {
      console.error(USAGE);
      return 0;
    }
    const { values, positionals } = parseArgs({
      args,
      options: {
        json: { type: 'boolean' },
        csv: { type: 'boolean' },
        'read-only': { type: 'boolean' },
        serve: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-remote': { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.serve) {
      if (positionals.length || values.json || values.csv || values['read-only']) {
        throw new UsageError('--serve takes no query, no format and no --read-only');
      }
      const host = values.host ?? '127.0.0.1';
      if (!isLoopback(host) && !values['allow-remote']) {
        throw new UsageError(
          `--host ${host} is not a loopback address: the served warehouse has no authentication and every client is its superuser; ` +
            'pass --allow-remote to serve it there anyway',
        );
      }
      return await serve(parsePort(values.port), host);
    }
    if (values.port || values.host || values['allow-remote']) {
      throw new UsageError('--port, --host and --allow-remote belong to --serve');
    }
    if (positionals.length !== 1) throw new UsageError('give one query, quoted: clickstream sql "SELECT …"');
    if (values.json && values.csv) throw new UsageError('--json and --csv exclude each other');
    return await query(
      positionals[0] as string,
      values.json ? 'json' : values.csv ? 'csv' : 'table',
      values['read-only'] === true,
    );
  } catch (err) {
    return commandFailure('sql', err);
  }
}

/** 127.0.0.0/8, ::1 or localhost: reachable from this machine only. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SQL_PORT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0-65535, got ${value}`);
  return n;
}

export type Format = 'table' | 'json' | 'csv';

/** A value as text: timestamps in ISO 8601 UTC, objects (jsonb) as JSON, NULL as empty. */
function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The rows in `format`, one string per output line. */
export function formatRows(rows: Record<string, unknown>[], format: Format): string[] {
  const columns = rows.length ? Object.keys(rows[0] as object) : [];
  if (format === 'json') {
    return rows.map((r) =>
      JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v)),
    );
  }
  if (format === 'csv') {
    return [columns.map(csvField).join(','), ...rows.map((r) => columns.map((c) => csvField(text(r[c]))).join(','))];
  }
  const cells = rows.map((r) => columns.map((c) => text(r[c]).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) =>
    Math.min(60, Math.max(c.length, ...cells.map((row) => (row[i] as string).length))),
  );
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (values: string[]) =>
    values
      .map((v, i) => cut(v, widths[i] as number))
      .join(' | ')
      .trimEnd();
  return [
    line(columns),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map(line),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
  ];
}

async function query(sql: string, format: Format, readOnly: boolean): Promise<number> {
  const config = loadConfig();
  const { openWarehouse, warehouseOptions } = await import('./warehouse.ts');
  const opts = warehouseOptions(config);
  if (!opts.databaseUrl) console.error(`opening the embedded warehouse in ${opts.pgliteDir} …`);
  const warehouse = await openWarehouse(opts);
  try {
    let rows: Record<string, unknown>[];
    try {
      rows = readOnly
        ? await warehouse.withSession(async (s) => {
            await s.query('BEGIN');
            try {
              await s.query('SET TRANSACTION READ ONLY');
              return (await s.query<Record<string, unknown>>(sql, [])).rows;
            } finally {
              await s.query('ROLLBACK');
            }
          })
        : await warehouse.query<Record<string, unknown>>(sql);
    } catch (err) {
      const e = err as { message: string; code?: string; position?: string };
      // Both warehouses use the extended protocol, which takes one statement per query.
      const hint = e.code === '42601' && /multiple commands/.test(e.message) ? ': give one statement' : '';
      console.error(`clickstream sql: ${e.message}${e.code ? ` [SQLSTATE ${e.code}]` : ''}${hint}`);
      return 1;
    }
    for (const out of formatRows(rows, format)) console.log(out);
    return 0;
  } finally {
    await warehouse.close();
  }
}

export interface ServedWarehouse {
  /** `postgres://postgres@host:port/postgres` */
  url: string;
  close(): Promise<void>;
}

/** Serves the (migrated) PGlite warehouse in `dir` on host:port (0 = any free port). */
export async function serveWarehouse(opts: {
  dir: string;
  port: number;
  host: string;
  log?: (msg: string) => void;
}): Promise<ServedWarehouse> {
  const [{ openPgliteDir, migratePgliteDb }, { PGLiteSocketServer }, { MIGRATIONS_DIR }] = await Promise.all([
    import('../db/connect.ts'),
    import('@electric-sql/pglite-socket'),
    import('./warehouse.ts'),
  ]);
  opts.log?.(`opening the embedded warehouse in ${opts.dir} …`);
  const db = await openPgliteDir(opts.dir);
  try {
    opts.log?.('applying pending migrations …');
    await migratePgliteDb(db, { migrationsFolder: MIGRATIONS_DIR });
    // Queries from all connections run one at a time on the one PGlite; a transaction keeps its connection's turn.
    const server = new PGLiteSocketServer({ db, port: opts.port, host: opts.host, maxConnections: 16 });
    await server.start();
    const [host, port] = [opts.host, server.getServerConn().split(':').at(-1)];
    return {
      url: `postgres://postgres@${host}:${port}/postgres`,
      close: async () => {
        await server.stop();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw Object.assign(new Error(`port ${opts.port} on ${opts.host} is in use: choose another with --port <n>`), {
        code: 'EADDRINUSE',
      });
    }
    throw err;
  }
}

async function serve(port: number, host: string): Promise<number> {
  const config = loadConfig();
  if (config.DATABASE_URL) {
    throw new UsageError(`--serve serves the embedded PGlite; DATABASE_URL is set, connect to it directly`);
  }
  const { warehouseOptions } = await import('./warehouse.ts');
  const served = await serveWarehouse({
    dir: warehouseOptions(config).pgliteDir as string,
    port,
    host,
    log: (m) => console.error(m),
  });
  const url = new URL(served.url);
  console.error(
    `serving the warehouse on ${served.url}\n  psql -h ${url.hostname} -p ${url.port} -U postgres postgres\n` +
      `  clickstream sql, the dashboard: DATABASE_URL=${served.url}\n` +
      '  (etl, privacy and db migrate refuse it: stop serving to run them)\nCtrl-C stops.',
  );
  const reason = await untilShutdown();
  console.error(`${reason}: stopping`);
  await served.close();
  return 0;
}
