/**
 * The dashboard on node:http (`clickstream dashboard serve`): opens the warehouse (DATABASE_URL or
 * the embedded PGlite, with the ETL's own opener) and the lake (for pipeline health), and serves
 * the Hono app on HOST:DASHBOARD_PORT. Refuses to listen beyond loopback without DASHBOARD_TOKEN.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { type Config, ConfigError } from '../config.ts';
import type { Warehouse } from '../etl/warehouse.ts';
import { openConfiguredWarehouse } from '../etl/warehouse.ts';
import { openLake } from '../lake/open.ts';
import type { RawStore } from '../lake/raw-store.ts';
import { createDashboardApp } from './app.tsx';

export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface StartDashboardOptions {
  config: Config;
  /** Defaults to the configured warehouse (closed with the server). */
  warehouse?: Warehouse;
  store?: RawStore;
  now?: () => Date;
  log?: (entry: Record<string, unknown>) => void;
  /** Overrides DASHBOARD_PORT (tests pass 0 for a free port). */
  port?: number;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startDashboardServer(opts: StartDashboardOptions): Promise<DashboardServer> {
  const { config } = opts;
  if (!isLoopback(config.HOST) && !config.DASHBOARD_TOKEN) {
    throw new ConfigError(
      `HOST=${config.HOST} is not loopback: set DASHBOARD_TOKEN (16+ characters) so the dashboard is not open to the network`,
    );
  }
  const warehouse = opts.warehouse ?? (await openConfiguredWarehouse(config));
  const store = opts.store ?? openLake(config);
  const app = createDashboardApp({
    db: warehouse,
    now: opts.now,
    token: config.DASHBOARD_TOKEN || undefined,
    lake: { store, hours: config.ETL_LOOKBACK_HOURS },
    log: opts.log,
  });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.HOST });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? config.DASHBOARD_PORT, config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (!opts.warehouse) await warehouse.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeAllConnections' in server) server.closeAllConnections();
      await closed;
      if (!opts.warehouse) await warehouse.close();
    },
  };
}
