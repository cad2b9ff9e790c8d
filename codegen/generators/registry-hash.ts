/**
 * `REGISTRY_HASH`: sha256 of the validator sources this build generated (every file under
 * generated/validators/, by path, before formatting — deterministic) and of the versions of the
 * packages they call at run time (ajv, ajv-formats). The sources are built from the registry's
 * schemas by the vocabulary, the formats and ajv, so a change to any of them, or an upgrade of those
 * packages, changes the hash. Ingest stores it with each lake object it writes (its lines passed
 * these validators); the ETL skips the schema validation of an object whose hash equals its own
 * (docs/etl.md).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { banner, byCodeUnit, GENERATED_DIR, type GeneratedFile, layout } from '../layout.ts';

const VALIDATORS_DIR = `${GENERATED_DIR}/validators/`;
/** Packages the generated validators load at run time. */
const RUNTIME_PACKAGES = ['ajv', 'ajv-formats'];

/** Takes the other generators' output (not the registry): the hash is of what validates. */
export function generate(files: readonly GeneratedFile[]): GeneratedFile {
  const hash = createHash('sha256');
  const validators = files.filter((f) => f.path.startsWith(VALIDATORS_DIR)).sort((a, b) => byCodeUnit(a.path, b.path));
  if (!validators.length) throw new Error(`registry hash: no generated files under ${VALIDATORS_DIR}`);
  for (const f of validators) hash.update(`${f.path}\0${f.contents}\0`);
  // The validators call into these at run time (ajv-formats' format checks are not in their text).
  const require = createRequire(import.meta.url);
  for (const pkg of RUNTIME_PACKAGES)
    hash.update(`${pkg}@${(require(`${pkg}/package.json`) as { version: string }).version}\0`);
  return {
    path: layout.registryHash,
    contents: `${banner(['schemas/ through the validators in generated/validators/'])}
/** sha256 of the generated validators' sources: equal hashes validate alike (codegen/generators/registry-hash.ts). */
export const REGISTRY_HASH = '${hash.digest('hex')}';
`,
  };
}
