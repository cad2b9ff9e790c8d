/**
 * Runs every generator over a loaded registry and formats the output. No file I/O: the CLI
 * writes or compares what this returns.
 */
import { ensureNewline, formatGenerated } from './format.ts';
import * as athena from './generators/athena.ts';
import * as catalog from './generators/catalog.ts';
import * as drizzle from './generators/drizzle.ts';
import * as lakeLine from './generators/lake-line.ts';
import * as mappers from './generators/mappers.ts';
import * as registryHash from './generators/registry-hash.ts';
import * as tracker from './generators/tracker.ts';
import * as types from './generators/types.ts';
import * as validators from './generators/validators.ts';
import type { GeneratedFile } from './layout.ts';
import { byCodeUnit } from './layout.ts';
import type { Registry } from './registry.ts';

type Generator = (registry: Registry) => GeneratedFile[] | Promise<GeneratedFile[]>;

export const GENERATORS: Record<string, Generator> = {
  types: types.generate,
  tracker: tracker.generate,
  validators: validators.generate,
  lakeLine: lakeLine.generate,
  mappers: mappers.generate,
  drizzle: drizzle.generate,
  catalog: catalog.generate,
  athena: athena.generate,
};

export async function generateAll(registry: Registry): Promise<GeneratedFile[]> {
  const outputs = await Promise.all(Object.values(GENERATORS).map((g) => g(registry)));
  const files = outputs.flat();
  files.push(registryHash.generate(files));
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw new Error(`two generators write ${f.path}`);
    paths.add(f.path);
  }
  const formatted = await Promise.all(
    files.map(async (f) => ({
      path: f.path,
      contents: f.format === false ? ensureNewline(f.contents) : await formatGenerated(f.path, f.contents),
    })),
  );
  return formatted.sort((a, b) => byCodeUnit(a.path, b.path));
}
