/**
 * The dashboard's static assets, built once per process in memory: client.ts and uPlot bundled
 * and minified by esbuild (no CDN, no build step to forget), uPlot's stylesheet and ours.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

export interface Asset {
  body: string;
  type: string;
}

const require = createRequire(import.meta.url);

async function buildAssets(): Promise<Record<string, Asset>> {
  const bundle = await build({
    entryPoints: [new URL('./client.ts', import.meta.url).pathname],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  const css = [
    await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    await readFile(new URL('./style.css', import.meta.url), 'utf8'),
  ].join('\n');
  return {
    'dashboard.js': { body: bundle.outputFiles[0]?.text ?? '', type: 'text/javascript; charset=utf-8' },
    'dashboard.css': { body: css, type: 'text/css; charset=utf-8' },
  };
}

let assets: Promise<Record<string, Asset>> | undefined;

export function dashboardAssets(): Promise<Record<string, Asset>> {
  assets ??= buildAssets();
  return assets;
}
