/**
 * The shop's static assets, built in memory at start: the tracker exactly as `npm run build`
 * bundles it (services/tracker/build.ts: `bundles.full`, global `clickstream`), the page script
 * (client/shop.ts) and the style sheet. Names carry a content hash, so they are cached for good.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundles, commonOptions } from '../tracker/build.ts';

export interface Asset {
  /** `/assets/<name>.<hash>.<ext>` */
  path: string;
  type: string;
  body: Uint8Array;
}

export interface Assets {
  tracker: Asset;
  script: Asset;
  css: Asset;
}

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

function asset(name: string, ext: string, type: string, body: Uint8Array): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
  return { path: `/assets/${name}.${hash}.${ext}`, type, body };
}

async function bundle(options: Parameters<typeof build>[0]): Promise<Uint8Array> {
  const out = await build({ ...commonOptions, ...options, write: false });
  return out.outputFiles![0]!.contents;
}

export async function buildAssets(): Promise<Assets> {
  const [tracker, script, css] = await Promise.all([
    bundle({ ...bundles.full, outfile: 'clickstream.min.js' }),
    bundle({ entryPoints: [here('./client/shop.ts')], format: 'iife', minify: true, outfile: 'shop.js' }),
    readFile(here('./client/shop.css')),
  ]);
  return {
    tracker: asset('clickstream.min', 'js', 'text/javascript; charset=utf-8', tracker),
    script: asset('shop', 'js', 'text/javascript; charset=utf-8', script),
    css: asset('shop', 'css', 'text/css; charset=utf-8', css),
  };
}
