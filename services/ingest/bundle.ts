/**
 * Builds the ingest Lambda (services/ingest/lambda.ts) into one minified ESM file with esbuild.
 * `@aws-sdk/*` stays external: the Lambda Node.js runtime ships SDK v3, so bundling it would only
 * add size and cold-start parse time. Used by the benchmark (P5) and by infra to package the code.
 */
import path from 'node:path';
import { build } from 'esbuild';

export interface LambdaBundle {
  /** Absolute path of the bundle (`index.mjs`, handler export `handler`). */
  file: string;
  bytes: number;
}

export async function bundleIngestLambda(outdir: string, opts: { bundleAwsSdk?: boolean } = {}): Promise<LambdaBundle> {
  const file = path.resolve(outdir, 'index.mjs');
  const result = await build({
    entryPoints: [path.join(import.meta.dirname, 'lambda.ts')],
    outfile: file,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: opts.bundleAwsSdk ? [] : ['@aws-sdk/*'],
    // CommonJS dependencies (ajv-formats) call require(); ESM output needs one in scope.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  return { file, bytes };
}
