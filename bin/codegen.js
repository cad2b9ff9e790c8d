#!/usr/bin/env node
/**
 * `npm run codegen`: runs codegen/cli.ts from an esbuild bundle (dist/codegen/cli.js) instead of
 * through tsx, which starts a second Node process and transpiles every module on the way — about
 * 0.5 s of a 1.5 s run. The bundle's first line records the SHA-256 of every source file esbuild
 * built it from (its metafile), of tsconfig.json, of esbuild's version and of this file. Before each
 * run those hashes are compared with the files as they are now (a few ms); when one differs — an
 * edit, a checkout, a deleted file — the bundle is rebuilt first (≈ 0.1 s), so edited codegen
 * sources always run as edited. The packages codegen imports (ajv, TypeBox,
 * json-schema-to-typescript: some 380 files, 0.3–0.4 s of loading) are in the bundle too; for them
 * the record holds each package's package.json and npm's node_modules/.package-lock.json, so an
 * upgrade or reinstall rebuilds it as well.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ENTRY = 'codegen/cli.ts';
const OUT = path.join(ROOT, 'dist', 'codegen', 'cli.js');
/** Inputs of the build that esbuild's metafile does not list. */
const BUILD_INPUTS = [
  'bin/codegen.js',
  'tsconfig.json',
  'node_modules/esbuild/package.json',
  'node_modules/.package-lock.json',
];
/** Loaded at run time, not bundled: Prettier in its worker (codegen/format.ts), esbuild here. */
const EXTERNAL = ['prettier', 'esbuild'];
const MARK = '// codegen-bundle-inputs ';

/** SHA-256 of a file relative to ROOT, or 'absent' (npm may not have written node_modules/.package-lock.json). */
function sha256(file) {
  try {
    return createHash('sha256')
      .update(readFileSync(path.join(ROOT, file)))
      .digest('hex');
  } catch (e) {
    if (e.code === 'ENOENT') return 'absent';
    throw e;
  }
}

/** The bundle, if every file it records still has the recorded hash. */
function freshBundle() {
  let first;
  try {
    const text = readFileSync(OUT, 'utf8');
    first = text.slice(0, text.indexOf('\n'));
  } catch {
    return false;
  }
  if (!first.startsWith(MARK)) return false;
  let inputs;
  try {
    inputs = JSON.parse(first.slice(MARK.length));
  } catch {
    return false; // a damaged record: rebuild
  }
  return Object.entries(inputs).every(([file, hash]) => sha256(file) === hash);
}

/**
 * Bundles ENTRY. Each source's `import.meta.url` / `dirname` / `filename` is replaced by its own
 * file's, so modules that read files next to themselves (codegen/generators/validators.ts reads
 * codegen/formats.ts) behave as when run from source.
 */
async function build() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS packages require Node's built-ins.
    banner: {
      js: "import { createRequire as __codegenRequire } from 'node:module';\nconst require = __codegenRequire(import.meta.url);",
    },
    metafile: true,
    write: false,
    outfile: OUT,
    logLevel: 'warning',
    plugins: [
      {
        name: 'source-import-meta',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => {
            const meta = {
              url: pathToFileURL(args.path).href,
              dirname: path.dirname(args.path),
              filename: args.path,
            };
            const contents = readFileSync(args.path, 'utf8').replace(
              /\bimport\.meta\.(url|dirname|filename)\b/g,
              (_m, key) => JSON.stringify(meta[key]),
            );
            return { contents, loader: 'ts' };
          });
        },
      },
    ],
  });
  const files = new Set(BUILD_INPUTS);
  for (const file of Object.keys(result.metafile.inputs)) {
    // A file of a package is recorded through its package's package.json (its version).
    const pkg = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
    files.add(pkg ? `${pkg[1]}/package.json` : file);
  }
  const inputs = {};
  for (const file of [...files].sort()) inputs[file] = sha256(file);
  const [bundle] = result.outputFiles;
  mkdirSync(path.dirname(OUT), { recursive: true });
  // Written whole and renamed: a codegen started meanwhile reads either bundle, never half of one.
  const tmp = `${OUT}.${process.pid}.tmp`;
  writeFileSync(tmp, `${MARK}${JSON.stringify(inputs)}\n${bundle.text}`);
  renameSync(tmp, OUT);
}

if (!freshBundle()) await build();
const { main } = await import(pathToFileURL(OUT).href);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
