/**
 * `npm run build`: bundles the tracker with esbuild into dist/tracker/:
 *   clickstream.min.js        IIFE, global `clickstream`, core + generated typed API (what pages load)
 *   clickstream.core.min.js   IIFE, core only: `clickstream.init(…).track(name, version, properties)`
 *   clickstream.min.mjs       ESM of the full tracker, for apps with their own bundler
 *   clickstream.debug.js      IIFE, full tracker + generated validators, with a source map
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = path.resolve(here, '../../dist/tracker');

/** Browsers with ES2020 (optional chaining, ??) natively (Chrome 80+, Firefox 78+, Safari 14+): no down-levelling bytes. */
const browserTarget = 'es2020';

export const bundles = {
  full: { entryPoints: [path.join(here, 'index.ts')], format: 'iife', globalName: 'clickstream', minify: true },
  core: { entryPoints: [path.join(here, 'browser.ts')], format: 'iife', globalName: 'clickstream', minify: true },
  esm: { entryPoints: [path.join(here, 'index.ts')], format: 'esm', minify: true },
  debug: {
    entryPoints: [path.join(here, 'debug.ts')],
    format: 'iife',
    globalName: 'clickstream',
    minify: true,
    sourcemap: true,
  },
} satisfies Record<string, BuildOptions>;

const fileNames: Record<keyof typeof bundles, string> = {
  full: 'clickstream.min.js',
  core: 'clickstream.core.min.js',
  esm: 'clickstream.min.mjs',
  debug: 'clickstream.debug.js',
};

export const commonOptions = { bundle: true, target: browserTarget, platform: 'browser', logLevel: 'warning' } as const;

/** Builds every bundle into `outDir`; returns the written file paths by bundle. */
export async function buildTracker(outDir = DEFAULT_OUT_DIR): Promise<Record<keyof typeof bundles, string>> {
  const written = {} as Record<keyof typeof bundles, string>;
  for (const [name, options] of Object.entries(bundles) as [keyof typeof bundles, BuildOptions][]) {
    written[name] = path.join(outDir, fileNames[name]);
    await build({ ...commonOptions, ...options, outfile: written[name] });
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const written = await buildTracker();
  for (const file of Object.values(written)) console.log(path.relative(process.cwd(), file));
}
