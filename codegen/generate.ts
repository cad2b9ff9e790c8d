/**
 * Runs every generator over a loaded registry and formats the output. No file I/O: the CLI
 * writes or compares what this returns.
 */
import { ensureNewline, formatGenerated, formatStats } from './format.ts';
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
import { type Part, timed, timings } from './timings.ts';

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

/** What each generator's time is counted as (codegen/timings.ts). */
const PART: Record<string, Part> = {
  types: 'json-schema-to-typescript',
  validators: 'ajv standalone',
  lakeLine: 'ajv standalone',
};

export async function generateAll(registry: Registry): Promise<GeneratedFile[]> {
  const started = formatStats.ms;
  // One at a time (all run on this thread), so each part's time is its own; the ajv ones last, so
  // the worker formats the others' files meanwhile (codegen/format.ts).
  const order = Object.entries(GENERATORS).sort(
    ([a], [b]) => Number(PART[a] === 'ajv standalone') - Number(PART[b] === 'ajv standalone'),
  );
  const files: GeneratedFile[] = [];
  const formatting: Promise<GeneratedFile>[] = [];
  const emit = (f: GeneratedFile) => {
    files.push(f);
    const contents = f.format === false ? ensureNewline(f.contents) : formatGenerated(f.path, f.contents);
    const done = Promise.resolve(contents).then((c) => ({ path: f.path, contents: c }));
    done.catch(() => {}); // awaited below, unless a later generator throws first
    formatting.push(done);
  };
  for (const [name, g] of order)
    for (const f of await timed(PART[name] ?? 'other generators', () => g(registry))) emit(f);
  // The hash of what the others generated (the validators), so it comes last.
  emit(registryHash.generate(files));
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw new Error(`two generators write ${f.path}`);
    paths.add(f.path);
  }
  const formatted = await timed('Prettier wait', () => Promise.all(formatting));
  timings['Prettier (worker)'] = (timings['Prettier (worker)'] ?? 0) + formatStats.ms - started;
  return formatted.sort((a, b) => byCodeUnit(a.path, b.path));
}
