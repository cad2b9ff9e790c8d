/**
 * The whole platform in one Node process (`clickstream start`, `npm start`): the warehouse and
 * OLTP migrations (and the catalogue seed), the ingest API, the storefront, the dashboard and the
 * ETL on a timer, all sharing one lake store and one database handle per PGlite folder — PGlite is
 * one process's database (docs/adr-002-local-stack.md). Each part is the same code its own
 * `serve`/`run` command starts.
 *
 * Wiring only this mode does: the shop's tracker posts to this ingest, the ingest allows the shop's
 * origin (CORS) and verifies the shop's local ID tokens (JWT_ISSUER + JWKS_URI from the shop's key
 * pair in <DATA_DIR>/identity) unless Cognito is configured.
 *
 * A failure at start (a port in use, an unwritable DATA_DIR, a busy PGlite folder) is one
 * StartupError line, with whatever had started closed again.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { type Config, etlIntervalMs } from '../config.ts';
import { type DashboardServer, startDashboardServer } from '../dashboard/server.ts';
import { PgliteBusyError } from '../db/connect.ts';
import { type EtlResult, runEtl } from '../etl/core.ts';
import { objectLimitsFrom } from '../etl/object-lines.ts';
import { retentionFrom } from '../etl/retention.ts';
import type { Warehouse } from '../etl/warehouse.ts';
import { openConfiguredWarehouse } from '../etl/warehouse.ts';
import { type IngestServer, startIngestServer } from '../ingest/server.ts';
import { openLake } from '../lake/open.ts';
import { createLogger, entrySink, type Logger, type LogLevel } from '../log.ts';
import { localIssuerOf, type StorefrontServer, startStorefrontServer } from '../storefront/server.ts';

/** A start-up failure, said in one line that names its cause and what changes it. */
export class StartupError extends Error {
  override name = 'StartupError';
}

export interface StackOptions {
  config: Config;
  /** Overrides PORT / STOREFRONT_PORT / DASHBOARD_PORT; 0 picks a free port (tests). */
  ports?: { ingest?: number; storefront?: number; dashboard?: number };
  /** The clock of every part (default: the real one); tests pin it. */
  now?: () => Date;
  /** Minimum level of the parts' JSON logs on stderr (default: config.LOG_LEVEL). */
  logLevel?: LogLevel;
  /** Where log lines go (default: stderr). */
  write?: (line: string) => void;
}

export interface Stack {
  urls: { storefront: string; dashboard: string; ingest: string };
  /** What runs embedded, for the banner: absent when a server is configured instead. */
  embedded: { lake?: string; warehouse?: string; oltp?: string; identityKeys?: string };
  warehouse: Warehouse;
  storefront: StorefrontServer;
  ingest: IngestServer;
  etlIntervalMs: number;
  /** Runs an ETL tick now (after the one running, if any) and resolves with its result. */
  runEtlNow(): Promise<EtlResult>;
  /**
   * Stops cleanly: no new requests, in-flight ingest requests answered and their lake writes
   * finished, a running ETL tick finished (it commits or rolls back), then the databases closed.
   */
  close(): Promise<void>;
}

const PORT_VARIABLES = { ingest: 'PORT', storefront: 'STOREFRONT_PORT', dashboard: 'DASHBOARD_PORT' } as const;

/** A host a browser can open: a wildcard bind address is reached through localhost. */
function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

async function writableDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(
      `DATA_DIR=${dir} is not a writable folder (${code}): set DATA_DIR to a folder this user can write`,
    );
  }
}

/** Turns a part's start-up failure into the one line the operator needs. */
function explain(err: unknown, part?: keyof typeof PORT_VARIABLES, port?: number): unknown {
  const e = err as NodeJS.ErrnoException;
  if (part && e.code === 'EADDRINUSE') {
    const name = PORT_VARIABLES[part];
    return new StartupError(
      `port ${port} is already in use (${name}, the ${part}): stop what listens there or set ${name} to another port`,
    );
  }
  if (part && e.code === 'EACCES' && e.syscall === 'listen') {
    const name = PORT_VARIABLES[part];
    return new StartupError(`port ${port} may not be used by this user (${name}): set ${name} to a port above 1023`);
  }
  if (err instanceof PgliteBusyError) return new StartupError(err.message);
  if (e.code === 'EACCES' || e.code === 'EROFS') {
    return new StartupError(
      `${e.path ?? 'a file'} is not writable (${e.code}): set DATA_DIR to a folder this user can write`,
    );
  }
  return err;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const { config } = opts;
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const level = opts.logLevel ?? config.LOG_LEVEL;
  const logger = (service: string): Logger => createLogger(level, write, { service });
  const etlLog = logger('etl');
  const etlSink = entrySink(etlLog);
  const intervalMs = etlIntervalMs(config.ETL_INTERVAL);
  const dataDir = path.resolve(config.DATA_DIR);
  const ports = {
    ingest: opts.ports?.ingest ?? config.PORT,
    storefront: opts.ports?.storefront ?? config.STOREFRONT_PORT,
    dashboard: opts.ports?.dashboard ?? config.DASHBOARD_PORT,
  };
  const cognito = Boolean(config.COGNITO_USER_POOL_ID && config.COGNITO_CLIENT_ID);
  const embeddedLake = config.LAKE_URL.startsWith('file://');
  if (!config.DATABASE_URL || !config.OLTP_DATABASE_URL || embeddedLake || !cognito) await writableDataDir(dataDir);

  // A port in use is found before anything starts (a few seconds of PGlite start-up sooner); one
  // taken in between is still caught where its server listens.
  for (const part of ['storefront', 'ingest', 'dashboard'] as const) {
    if (ports[part] !== 0)
      await probePort(config.HOST, ports[part]).catch((err) => Promise.reject(explain(err, part, ports[part])));
  }

  // What has started, closed again in reverse order when a later part fails to start.
  const started: (() => Promise<void>)[] = [];
  const closeStarted = async () => {
    for (const close of started.reverse()) await close().catch(() => {});
    started.length = 0;
  };

  try {
    const store = openLake(config);
    const warehouse = await openConfiguredWarehouse(config).catch((err) => {
      throw explain(err);
    });
    started.push(() => warehouse.close());
    await warehouse.migrate();

    // The shop's tracker needs the ingest's URL before the ingest listens (the ingest needs the
    // shop's origin for CORS): a free port is found first when the ingest's is 0.
    const ingestPort = ports.ingest === 0 ? await freeLoopbackPort(config.HOST) : ports.ingest;
    const host = browserHost(config.HOST);
    const ingestUrl = `http://${host}:${ingestPort}/clickstream`;
    // The issuer follows the configured STOREFRONT_PORT, so `clickstream simulate` with the same
    // configuration mints the same tokens.
    const issuerConfig = cognito ? {} : { JWT_ISSUER: localIssuerOf(config).issuer };
    const storefront = await startStorefrontServer({
      config: { ...config, ...issuerConfig, STOREFRONT_PORT: ports.storefront, INGEST_URL: ingestUrl },
      now: opts.now,
      logger: logger('storefront'),
    }).catch((err) => {
      throw explain(err, 'storefront', ports.storefront);
    });
    started.push(() => storefront.close());

    const shopOrigins = new Set([storefront.url, `http://${host}:${storefront.port}`]);
    if (host === '127.0.0.1' || host === 'localhost') {
      shopOrigins.add(`http://127.0.0.1:${storefront.port}`);
      shopOrigins.add(`http://localhost:${storefront.port}`);
    }
    const corsOrigins = [
      ...new Set([
        ...config.CORS_ORIGINS.split(',')
          .map((o) => o.trim())
          .filter(Boolean),
        ...shopOrigins,
      ]),
    ];
    const local = storefront.localIssuer;
    const ingest = await startIngestServer({
      config: {
        ...config,
        PORT: ingestPort,
        CORS_ORIGINS: corsOrigins.join(','),
        ...(local
          ? { JWT_ISSUER: local.issuer, JWKS_URI: `file://${local.jwksFile}`, COGNITO_CLIENT_ID: local.audience }
          : {}),
      },
      store,
      now: opts.now,
      logger: logger('ingest'),
    }).catch((err) => {
      throw explain(err, 'ingest', ingestPort);
    });
    started.push(() => ingest.close());

    const dashboard: DashboardServer = await startDashboardServer({
      config,
      warehouse,
      store,
      port: ports.dashboard,
      now: opts.now,
      log: entrySink(logger('dashboard')),
    }).catch((err) => {
      throw explain(err, 'dashboard', ports.dashboard);
    });
    started.push(() => dashboard.close());

    // ---- the ETL: one tick at a time, every ETL_INTERVAL after the previous one ended ----
    let chain: Promise<unknown> = Promise.resolve();
    let stopping = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = (trigger: 'schedule' | 'manual'): Promise<EtlResult> => {
      const run = chain.then(() =>
        runEtl(
          { warehouse, store },
          {
            trigger,
            lookbackHours: config.ETL_LOOKBACK_HOURS,
            retention: retentionFrom(config),
            objectLimits: objectLimitsFrom(config),
            now: opts.now,
            log: etlSink,
          },
        ),
      );
      chain = run.catch(() => {});
      return run;
    };
    const schedule = () => {
      if (stopping) return;
      // runEtl logs its own outcome and never throws for a failed run (the next tick retries).
      timer = setTimeout(() => {
        tick('schedule')
          .catch((err: Error) => etlLog.error('scheduled etl run failed', { error: err.message }))
          .finally(schedule);
      }, intervalMs);
    };
    // The first tick at once: it loads what arrived after the last tick before the stack last stopped.
    tick('schedule')
      .catch((err: Error) => etlLog.error('scheduled etl run failed', { error: err.message }))
      .finally(schedule);

    const folder = (location: string) => location.replace(/^pglite:/, '');
    let closing: Promise<void> | undefined;
    return {
      urls: { storefront: storefront.url, dashboard: dashboard.url, ingest: `${ingest.url}/clickstream` },
      embedded: {
        ...(embeddedLake ? { lake: config.LAKE_URL } : {}),
        ...(warehouse.kind === 'pglite' ? { warehouse: folder(warehouse.location) } : {}),
        ...(storefront.oltp.kind === 'pglite' ? { oltp: folder(storefront.oltp.location) } : {}),
        ...(local ? { identityKeys: path.dirname(local.jwksFile) } : {}),
      },
      warehouse,
      storefront,
      ingest,
      etlIntervalMs: intervalMs,
      runEtlNow: () => tick('manual'),
      close() {
        closing ??= (async () => {
          // Let a running tick end (it commits or rolls back) and start no other; stop taking
          // clicks (the ingest answers what is in flight and drains its lake writes); then the
          // dashboard and the warehouse.
          stopping = true;
          clearTimeout(timer);
          await chain;
          await Promise.all([storefront.close(), ingest.close()]);
          await dashboard.close();
          await warehouse.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeStarted();
    throw err;
  }
}

/** Resolves when `port` can be bound on `host` (and frees it again); rejects with the listen error. */
async function probePort(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, host, resolve);
  });
  await new Promise((resolve) => probe.close(resolve));
}

/** A TCP port free on `host` a moment ago. */
async function freeLoopbackPort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, resolve);
  });
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
