/**
 * `npm run build:storefront [-- <outdir>]`: the storefront as an Amplify Hosting deployment bundle
 * (the deployment specification: `deploy-manifest.json` v1, `compute/default/`, `static/`), in
 * `.amplify-hosting/` by default, for `aws amplify create-deployment` (docs/infra.md).
 *
 * - compute/default/server.mjs: infra/amplify/server.ts and everything it imports in one ESM file;
 *   the browser assets (tracker, page script, CSS) built now and compiled in, so the runtime needs
 *   no esbuild; migrations/oltp/ beside it (the shop migrates at start).
 * - static/assets/: the same content-hashed assets, served by Amplify's CDN (the route falls back
 *   to the server for anything not there).
 * - compute/default/runtime-env.json: the shop's settings read from this process's environment
 *   (Amplify gives compute no branch variables at run time); ARNs and URLs only, never a password.
 *
 * Modules under services/ find files relative to their own URL (migrations, …): every
 * `import.meta.url` there is rewritten to the URL the file has at the same place under
 * compute/default/, so the relative paths resolve as in the repository (and the services'
 * "am I the main module" guards stay false inside the bundle).
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { buildAssets } from '../../services/storefront/assets.ts';
import { RUNTIME_ENV_FILE } from './runtime-env.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const DEFAULT_OUTDIR = path.join(REPO_ROOT, '.amplify-hosting');
/** Amplify compute's Node.js runtime (the deployment specification's `runtime`). */
export const AMPLIFY_RUNTIME = 'nodejs20.x';
export const ENTRYPOINT = 'server.mjs';
/** Settings baked into runtime-env.json when set at build time. */
export const RUNTIME_ENV_KEYS = [
  'COGNITO_USER_POOL_ID',
  'COGNITO_CLIENT_ID',
  'INGEST_URL',
  'MEDIA_BASE_URL',
  'OLTP_DATA_API_RESOURCE_ARN',
  'OLTP_DATA_API_SECRET_ARN',
  'OLTP_DATA_API_DATABASE',
  'LOG_LEVEL',
] as const;

export interface DeployManifest {
  version: 1;
  routes: { path: string; target: Record<string, string>; fallback?: Record<string, string> }[];
  computeResources: { name: string; runtime: string; entrypoint: string }[];
  framework: { name: string; version: string };
}

export function deployManifest(): DeployManifest {
  return {
    version: 1,
    routes: [
      {
        path: '/assets/*',
        target: { kind: 'Static', cacheControl: 'public, max-age=31536000, immutable' },
        fallback: { kind: 'Compute', src: 'default' },
      },
      { path: '/*', target: { kind: 'Compute', src: 'default' } },
    ],
    computeResources: [{ name: 'default', runtime: AMPLIFY_RUNTIME, entrypoint: ENTRYPOINT }],
    framework: { name: 'hono', version: '4' },
  };
}

type Assets = Awaited<ReturnType<typeof buildAssets>>;

/** services/storefront/assets.ts replaced by its output, computed at build time. */
function prebuiltAssets(assets: Assets): Plugin {
  const entries = Object.entries(assets).map(
    ([k, a]) =>
      `${JSON.stringify(k)}: { path: ${JSON.stringify(a.path)}, type: ${JSON.stringify(a.type)}, body: new Uint8Array(Buffer.from(${JSON.stringify(Buffer.from(a.body).toString('base64'))}, 'base64')) }`,
  );
  return {
    name: 'prebuilt-storefront-assets',
    setup(b) {
      b.onLoad({ filter: /services[\\/]storefront[\\/]assets\.ts$/ }, () => ({
        contents: `const assets = { ${entries.join(', ')} };\nexport async function buildAssets() { return assets; }\n`,
        loader: 'js',
      }));
    },
  };
}

/** `import.meta.url` of services/ modules → their URL at the same relative place in the bundle. */
function moduleUrls(): Plugin {
  return {
    name: 'repository-module-urls',
    setup(b) {
      b.onLoad({ filter: /[\\/]services[\\/].*\.tsx?$/ }, async (args) => {
        const rel = path.relative(REPO_ROOT, args.path).split(path.sep).join('/');
        const source = await readFile(args.path, 'utf8');
        return {
          contents: source.replaceAll('import.meta.url', `__moduleUrl(${JSON.stringify(rel)})`),
          loader: args.path.endsWith('x') ? 'tsx' : 'ts',
        };
      });
    },
  };
}

export interface BuildOptions {
  /** Where the settings come from (default process.env). */
  env?: Record<string, string | undefined>;
}

export async function buildStorefrontBundle(outdir = DEFAULT_OUTDIR, opts: BuildOptions = {}) {
  const env = opts.env ?? process.env;
  await rm(outdir, { recursive: true, force: true });
  const compute = path.join(outdir, 'compute', 'default');
  await mkdir(compute, { recursive: true });
  const assets = await buildAssets();
  const result = await build({
    entryPoints: [path.join(import.meta.dirname, 'server.ts')],
    outfile: path.join(compute, ENTRYPOINT),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // PGlite's JS comes along (imported by the shared db module) but not its WASM: an OLTP
    // database is required on Amplify (server.ts), so the embedded one is never opened.
    banner: {
      js: [
        "import { createRequire as __cr } from 'node:module';",
        'const require = __cr(import.meta.url);',
        'const __moduleUrl = (p) => new URL(p, import.meta.url).href;',
      ].join(' '),
    },
    // Order matters: the first onLoad that answers wins.
    plugins: [prebuiltAssets(assets), moduleUrls()],
    metafile: true,
    logLevel: 'warning',
  });
  await cp(path.join(REPO_ROOT, 'migrations', 'oltp'), path.join(compute, 'migrations', 'oltp'), { recursive: true });
  const baked = Object.fromEntries(RUNTIME_ENV_KEYS.flatMap((k) => (env[k] ? [[k, env[k] as string]] : [])));
  await writeFile(path.join(compute, RUNTIME_ENV_FILE), `${JSON.stringify(baked, null, 2)}\n`);
  for (const a of Object.values(assets)) {
    const file = path.join(outdir, 'static', ...a.path.split('/').filter(Boolean));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, a.body);
  }
  await writeFile(path.join(outdir, 'deploy-manifest.json'), `${JSON.stringify(deployManifest(), null, 2)}\n`);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  return { outdir, bytes, assets: Object.values(assets).map((a) => a.path), baked };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const outdir = path.resolve(process.argv[2] ?? DEFAULT_OUTDIR);
  const { bytes, baked } = await buildStorefrontBundle(outdir);
  console.error(
    `storefront bundle: ${(bytes / 1024).toFixed(0)} KiB in ${outdir}; baked settings: ${Object.keys(baked).join(', ') || 'none'}`,
  );
}
