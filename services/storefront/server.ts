/**
 * Wiring of the storefront from the configuration (`openStorefront`) and the node:http server
 * around it (`startStorefrontServer`, what `clickstream storefront serve` runs):
 *
 * - the OLTP database (OLTP_DATABASE_URL, or PGlite in <DATA_DIR>/oltp), migrated and seeded;
 * - the identity provider: Cognito with COGNITO_USER_POOL_ID + COGNITO_CLIENT_ID, else the local
 *   stand-in signing with the key pair of <DATA_DIR>/identity/ (iss JWT_ISSUER, aud
 *   COGNITO_CLIENT_ID, with defaults the start-up log repeats for the ingest's configuration);
 * - the media folder <DATA_DIR>/media served under /media/ when MEDIA_BASE_URL is `/media`;
 * - the tracker and page script, built in memory.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Config } from '../config.ts';
import { createCognitoIdentityProvider } from '../identity/cognito.ts';
import { createLocalIdentityProvider } from '../identity/local.ts';
import type { IdentityProvider } from '../identity/provider.ts';
import { createTokenIssuer, identityKeyFiles, loadOrCreateSigningKey } from '../identity/tokens.ts';
import { createLogger, type Logger } from '../log.ts';
import { userDirectory } from './accounts.ts';
import { createStorefrontApp } from './app.tsx';
import { buildAssets } from './assets.ts';
import { type Oltp, type OpenOltpOptions, openOltp } from './db/open.ts';
import { seedCatalogue, writeMedia } from './seed.ts';

export const DEFAULT_AUDIENCE = 'clickstream-storefront';

/** The `iss` and `aud` of the local identity provider's tokens (what the ingest must expect). */
export function localIssuerOf(config: Pick<Config, 'JWT_ISSUER' | 'COGNITO_CLIENT_ID' | 'STOREFRONT_PORT'>): {
  issuer: string;
  audience: string;
} {
  return {
    issuer: config.JWT_ISSUER || `http://localhost:${config.STOREFRONT_PORT}`,
    audience: config.COGNITO_CLIENT_ID || DEFAULT_AUDIENCE,
  };
}

type OltpConfig = Pick<
  Config,
  | 'OLTP_DATABASE_URL'
  | 'OLTP_DATA_API_RESOURCE_ARN'
  | 'OLTP_DATA_API_SECRET_ARN'
  | 'OLTP_DATA_API_DATABASE'
  | 'DATA_DIR'
>;

/** Which OLTP driver the configuration selects: the Data API, OLTP_DATABASE_URL, or PGlite in <DATA_DIR>/oltp. */
export function oltpOptions(config: OltpConfig): OpenOltpOptions {
  if (config.OLTP_DATA_API_RESOURCE_ARN) {
    return {
      dataApi: {
        resourceArn: config.OLTP_DATA_API_RESOURCE_ARN,
        secretArn: config.OLTP_DATA_API_SECRET_ARN,
        database: config.OLTP_DATA_API_DATABASE,
        // The cluster's own region (arn:aws:rds:<region>:…), whatever AWS_REGION says.
        region: config.OLTP_DATA_API_RESOURCE_ARN.split(':')[3],
      },
    };
  }
  if (config.OLTP_DATABASE_URL) return { databaseUrl: config.OLTP_DATABASE_URL };
  return { pgliteDir: path.resolve(config.DATA_DIR, 'oltp') };
}

export function openConfiguredOltp(config: OltpConfig): Promise<Oltp> {
  return openOltp(oltpOptions(config));
}

/** Applies the OLTP migrations (unless `migrate: false`) and inserts the seed catalogue where it is missing. */
export async function prepareOltp(
  oltp: Oltp,
  now: () => Date,
  opts: { migrate?: boolean } = {},
): Promise<{ productsInserted: number }> {
  if (opts.migrate ?? true) await oltp.migrate();
  return seedCatalogue(oltp.db, now);
}

export interface Storefront {
  app: Hono;
  oltp: Oltp;
  identity: IdentityProvider;
  /** What the ingest needs to verify this shop's local tokens (absent with Cognito). */
  localIssuer?: { issuer: string; audience: string; jwksFile: string };
  close(): Promise<void>;
}

export interface OpenStorefrontOptions {
  config: Config;
  /** The clock of sessions, tokens and orders (default: the real one); tests pin it. */
  now?: () => Date;
  logger?: Logger;
  /** An already opened OLTP database (tests); default: the configured one. */
  oltp?: Oltp;
}

export async function openStorefront({
  config,
  now = () => new Date(),
  logger,
  oltp: given,
}: OpenStorefrontOptions): Promise<Storefront> {
  const log = logger ?? createLogger(config.LOG_LEVEL, undefined, { service: 'storefront' });
  const oltp = given ?? (await openConfiguredOltp(config));
  try {
    // On AWS (the Data API) the shop signs in as shop_app, which may not create anything: the
    // deploy's OLTP step has migrated as admin already (infra/lambda/oltp-setup.ts).
    const seeded = await prepareOltp(oltp, now, { migrate: oltp.kind !== 'data-api' });
    if (seeded.productsInserted) log.info('seeded catalogue', { products: seeded.productsInserted });

    let identity: IdentityProvider;
    let jwks: object | undefined;
    let localIssuer: Storefront['localIssuer'];
    if (config.COGNITO_USER_POOL_ID && config.COGNITO_CLIENT_ID) {
      identity = createCognitoIdentityProvider({ clientId: config.COGNITO_CLIENT_ID, region: config.AWS_REGION });
    } else {
      const key = await loadOrCreateSigningKey(config.DATA_DIR);
      const { issuer, audience } = localIssuerOf(config);
      identity = createLocalIdentityProvider({
        directory: userDirectory(oltp.db),
        issue: createTokenIssuer({ key, issuer, audience, now }),
        now,
      });
      jwks = key.jwks;
      localIssuer = { issuer, audience, jwksFile: identityKeyFiles(config.DATA_DIR).jwksFile };
    }

    let mediaDir: string | undefined;
    if (config.MEDIA_BASE_URL === '/media') {
      mediaDir = path.resolve(config.DATA_DIR, 'media');
      await writeMedia(mediaDir);
    }

    const app = createStorefrontApp({
      db: oltp.db,
      identity,
      ...(jwks ? { jwks } : {}),
      assets: await buildAssets(),
      mediaBaseUrl: config.MEDIA_BASE_URL,
      ...(mediaDir ? { mediaDir } : {}),
      ingestUrl: config.INGEST_URL,
      now,
      logger: log,
    });
    return {
      app: app as unknown as Hono,
      oltp,
      identity,
      ...(localIssuer ? { localIssuer } : {}),
      close: () => oltp.close(),
    };
  } catch (err) {
    if (!given) await oltp.close();
    throw err;
  }
}

export interface StorefrontServer extends Storefront {
  url: string;
  port: number;
}

export async function startStorefrontServer(opts: OpenStorefrontOptions): Promise<StorefrontServer> {
  const { config } = opts;
  const log = opts.logger ?? createLogger(config.LOG_LEVEL, undefined, { service: 'storefront' });
  const shop = await openStorefront({ ...opts, logger: log });
  const server = createAdaptorServer({ fetch: shop.app.fetch, hostname: config.HOST });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.STOREFRONT_PORT, config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await shop.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${port}`;
  log.info('listening', {
    url,
    oltp: shop.oltp.location,
    identity: shop.identity.kind,
    ingest: config.INGEST_URL,
    // What `clickstream ingest serve` needs to accept this shop's events and verify its tokens.
    ingest_config: {
      CORS_ORIGINS: url,
      ...(shop.localIssuer
        ? {
            JWT_ISSUER: shop.localIssuer.issuer,
            JWKS_URI: `file://${shop.localIssuer.jwksFile}`,
            COGNITO_CLIENT_ID: shop.localIssuer.audience,
          }
        : {}),
    },
  });
  return {
    ...shop,
    url,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      await shop.close();
      log.info('stopped');
    },
  };
}
