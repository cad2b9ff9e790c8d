/**
 * `npm run build:storefront`'s output, built for real: a valid deployment-specification manifest
 * whose compute entry exists and whose static assets are the ones the pages link, settings baked
 * from the build environment, and the bundled server started from compute/default/ alone (as
 * Amplify runs it) answering on a free port against a migrated PostgreSQL OLTP database.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../services/testing/ports.ts';
import { createTempDatabase, type TempDatabase } from '../../services/testing/postgres.ts';
import { type ServerChild, startServerChild } from '../../services/testing/server-child.ts';
import { AMPLIFY_RUNTIME, buildStorefrontBundle, type DeployManifest, ENTRYPOINT } from './build.ts';
import { runtimeEnv } from './runtime-env.ts';

const BAKED = {
  COGNITO_USER_POOL_ID: 'eu-west-1_AbCdEfGhI',
  COGNITO_CLIENT_ID: '3n4b5urk1ft4fl3mg5e62d9ado',
  INGEST_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com/clickstream',
  MEDIA_BASE_URL: 'https://d111111abcdef8.cloudfront.net',
};

describe('storefront Amplify bundle', () => {
  let dir: string;
  let built: Awaited<ReturnType<typeof buildStorefrontBundle>>;
  let temp: TempDatabase;
  let server: ServerChild | undefined;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'amplify-'));
    built = await buildStorefrontBundle(path.join(dir, '.amplify-hosting'), {
      env: { ...BAKED, PATH: '/usr/bin', OLTP_DATABASE_URL: 'postgres://not-baked' },
    });
    temp = await createTempDatabase('amplify');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const compute = path.join(built.outdir, 'compute', 'default');
    // The local identity stand-in (no Cognito at run time here): runtime variables override baked ones.
    server = await startServerChild(
      [ENTRYPOINT],
      {
        cwd: compute,
        env: {
          PATH: process.env.PATH,
          HOST: '127.0.0.1',
          STOREFRONT_PORT: String(port),
          OLTP_DATABASE_URL: temp.url,
          DATA_DIR: path.join(dir, 'data'),
          COGNITO_USER_POOL_ID: '',
          COGNITO_CLIENT_ID: 'local-test',
          MEDIA_BASE_URL: '/media',
        },
      },
      '"listening"',
    );
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await temp?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a deployment manifest v1 whose compute entry and static assets exist', async () => {
    const manifest: DeployManifest = JSON.parse(
      await readFile(path.join(built.outdir, 'deploy-manifest.json'), 'utf8'),
    );
    expect(manifest.version).toBe(1);
    expect(manifest.computeResources).toEqual([{ name: 'default', runtime: AMPLIFY_RUNTIME, entrypoint: ENTRYPOINT }]);
    expect(existsSync(path.join(built.outdir, 'compute', 'default', ENTRYPOINT))).toBe(true);
    // Every route targets Static or the one compute resource, and the catch-all comes last.
    for (const r of manifest.routes) {
      for (const t of [r.target, r.fallback].filter(Boolean)) {
        expect(['Static', 'Compute']).toContain(t?.kind);
        if (t?.kind === 'Compute') expect(t.src).toBe('default');
      }
    }
    expect(manifest.routes.at(-1)).toEqual({ path: '/*', target: { kind: 'Compute', src: 'default' } });
    for (const asset of built.assets) expect(existsSync(path.join(built.outdir, 'static', asset))).toBe(true);
  });

  it('bakes only the listed settings, never a database URL', async () => {
    const baked = JSON.parse(await readFile(path.join(built.outdir, 'compute', 'default', 'runtime-env.json'), 'utf8'));
    expect(baked).toEqual(BAKED);
    expect(runtimeEnv(baked, { MEDIA_BASE_URL: '/media', EMPTY: '' })).toMatchObject({
      ...BAKED,
      MEDIA_BASE_URL: '/media',
      HOST: '0.0.0.0',
      STOREFRONT_PORT: '3000',
    });
  });

  it('starts from compute/default alone and serves the shop and its assets', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const asset of built.assets) {
      expect(html).toContain(asset);
      const res = await fetch(`${url}${asset}`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(await readFile(path.join(built.outdir, 'static', asset)));
    }
  });
});
