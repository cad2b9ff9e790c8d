/**
 * `npm run size`: min, min+gzip and min+brotli bytes of the core bundle and of the bundle with the
 * full generated API (every shipped event model), built exactly as `npm run build` builds them.
 * Exits 1 when the core is over its 3 KB min+gzip budget.
 */
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { trackedEventModels } from '../../generated/tracker/api.ts';
import { bundles, commonOptions } from './build.ts';

export const CORE_BUDGET_GZIP_BYTES = 3 * 1024;

export interface BundleSize {
  bundle: string;
  min: number;
  gzip: number;
  brotli: number;
}

export async function measure(name: 'core' | 'full'): Promise<BundleSize> {
  const result = await build({ ...commonOptions, ...bundles[name], write: false, outfile: 'out.js' });
  const code = result.outputFiles[0]!.contents;
  return {
    bundle: name,
    min: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const events = Object.keys(trackedEventModels).length;
  const rows = [await measure('core'), await measure('full')];
  const label = {
    core: 'core (clickstream.core.min.js)',
    full: `core + typed API, ${events} events (clickstream.min.js)`,
  };
  console.log('| bundle | min | min+gzip | min+brotli |\n|---|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${label[r.bundle as 'core' | 'full']} | ${r.min} B | ${r.gzip} B | ${r.brotli} B |`);
  const core = rows[0]!;
  if (core.gzip > CORE_BUDGET_GZIP_BYTES) {
    console.error(`core is ${core.gzip} B min+gzip, over the ${CORE_BUDGET_GZIP_BYTES} B budget`);
    process.exitCode = 1;
  }
}
