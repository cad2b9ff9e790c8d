/**
 * Builds the dashboard host's bundle directory: `dashboard.mjs` (entry.ts and everything it
 * imports — AWS SDK, pg, hono — in one ESM file, nothing to install on the host), `start.mjs`
 * (the launcher systemd runs), the event catalogue the dashboard serves at /catalog and the RDS CA
 * certificates the warehouse connection is verified against (ca.ts). The
 * dashboard normally builds its browser assets with esbuild at start; here they are built once now
 * and compiled in, so the host needs no esbuild and no source.
 *
 * The files keep their repository paths (services/dashboard/…, generated/catalog/EVENTS.md): the
 * code finds the catalogue relative to its own module URL, which then resolves the same way.
 *
 *   npx tsx infra/dashboard-host/build.ts <outdir>     (what the CDK asset runs at synth)
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { dashboardAssets } from '../../services/dashboard/assets.ts';
import { RDS_CA_FILE, rdsCaBundle } from './ca.ts';

export const BUNDLE_DIR = 'services/dashboard';
export const BUNDLE_FILES = [
  `${BUNDLE_DIR}/dashboard.mjs`,
  `${BUNDLE_DIR}/start.mjs`,
  'generated/catalog/EVENTS.md',
  RDS_CA_FILE,
];
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Replaces services/dashboard/assets.ts with its output, computed at build time. */
function prebuiltAssets(assets: unknown): Plugin {
  return {
    name: 'prebuilt-dashboard-assets',
    setup(b) {
      b.onLoad({ filter: /services[\\/]dashboard[\\/]assets\.ts$/ }, () => ({
        contents: `const assets = ${JSON.stringify(assets)};\nexport function dashboardAssets() { return Promise.resolve(assets); }\n`,
        loader: 'js',
      }));
    },
  };
}

export async function buildDashboardBundle(outdir: string): Promise<{ dir: string; bytes: number }> {
  await mkdir(path.join(outdir, BUNDLE_DIR), { recursive: true });
  await mkdir(path.join(outdir, 'generated', 'catalog'), { recursive: true });
  const result = await build({
    entryPoints: [path.join(import.meta.dirname, 'entry.ts')],
    outfile: path.join(outdir, BUNDLE_DIR, 'dashboard.mjs'),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // PGlite's JS comes along (the warehouse module imports it) but not its WASM/data files: the
    // host always has a DATABASE_URL, so the embedded database is never opened there.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    plugins: [prebuiltAssets(await dashboardAssets())],
    metafile: true,
    logLevel: 'warning',
  });
  await copyFile(path.join(import.meta.dirname, 'start.mjs'), path.join(outdir, BUNDLE_DIR, 'start.mjs'));
  const catalog = 'generated/catalog/EVENTS.md';
  await copyFile(path.join(REPO_ROOT, catalog), path.join(outdir, catalog));
  await writeFile(path.join(outdir, RDS_CA_FILE), rdsCaBundle());
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  return { dir: outdir, bytes };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const outdir = process.argv[2];
  if (!outdir) {
    console.error('usage: tsx infra/dashboard-host/build.ts <outdir>');
    process.exit(2);
  }
  const { bytes } = await buildDashboardBundle(path.resolve(outdir));
  console.error(`dashboard bundle: ${(bytes / 1024).toFixed(0)} KiB in ${outdir}`);
}
