/**
 * `npm run codegen [-- --check] [--schemas dir] [--root dir] [--migration-name name]`
 *
 * Writes `generated/` and asks drizzle-kit for a migration in `migrations/` when the warehouse
 * schema changed. With `--check` it writes nothing inside the project and exits 1 naming every
 * stale file, and whether a new migration would be generated.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { generateAll } from './generate.ts';
import { GENERATED_DIR, layout, MIGRATIONS_DIR } from './layout.ts';
import { loadRegistry, RegistryError } from './load.ts';

const run = promisify(execFile);

async function listFiles(dir: string, root: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(path.join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(rel, root)));
    else out.push(rel);
  }
  return out;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

interface Journal {
  entries: { tag: string }[];
}

/**
 * Runs `drizzle-kit generate` for `schemaFile` into `outDir` and returns the tags of migrations it
 * added. drizzle-kit itself decides whether the schema differs from the last snapshot.
 */
async function drizzleGenerate(
  root: string,
  cwd: string,
  schemaFile: string,
  outDir: string,
  name: string,
): Promise<string[]> {
  // drizzle-kit only handles paths relative to its working directory.
  const journalPath = path.join(cwd, outDir, 'meta', '_journal.json');
  const before = JSON.parse((await readOrNull(journalPath)) ?? '{"entries":[]}') as Journal;
  const bin = path.join(root, 'node_modules', '.bin', 'drizzle-kit');
  const { stdout, stderr } = await run(
    bin,
    ['generate', '--dialect', 'postgresql', '--schema', schemaFile, '--out', outDir, '--name', name],
    { cwd },
  );
  // drizzle-kit reports some failures (e.g. no schema file found) on stdout with exit code 0.
  if (/\bError\b/.test(stdout + stderr)) throw new Error(`drizzle-kit generate failed:\n${stdout}${stderr}`);
  const after = JSON.parse((await readOrNull(journalPath)) ?? '{"entries":[]}') as Journal;
  return after.entries.slice(before.entries.length).map((e) => e.tag);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      check: { type: 'boolean', default: false },
      root: { type: 'string', default: process.cwd() },
      schemas: { type: 'string' },
      'migration-name': { type: 'string', default: 'schema' },
    },
  });
  const root = path.resolve(values.root);
  const schemasDir = path.resolve(root, values.schemas ?? 'schemas');
  const started = performance.now();

  let files: Awaited<ReturnType<typeof generateAll>>;
  try {
    files = await generateAll(await loadRegistry(schemasDir));
  } catch (e) {
    if (e instanceof RegistryError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }

  const produced = new Set(files.map((f) => f.path));
  const existing = await listFiles(GENERATED_DIR, root);
  const stale: string[] = [];
  for (const f of files) {
    if ((await readOrNull(path.join(root, f.path))) !== f.contents) stale.push(f.path);
  }
  const orphans = existing.filter((p) => !produced.has(p));

  // drizzle-kit ignores schema files under node_modules, so the scratch copy lives in the OS temp
  // dir, with a node_modules link so the copy resolves drizzle-orm like the real file does.
  const scratch = path.join(tmpdir(), `clickstream-codegen-${process.pid}-${Date.now()}`);
  const migrationName = values['migration-name'];

  if (values.check) {
    await mkdir(path.join(scratch, 'db'), { recursive: true });
    await symlink(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
    const dbSchema = files.find((f) => f.path === layout.dbSchema);
    if (!dbSchema) throw new Error('the drizzle generator produced no schema');
    await writeFile(path.join(scratch, 'db', 'schema.ts'), dbSchema.contents);
    await cp(path.join(root, MIGRATIONS_DIR), path.join(scratch, 'migrations'), { recursive: true }).catch(() => {});
    const wouldAdd = await drizzleGenerate(root, scratch, 'db/schema.ts', 'migrations', migrationName);
    await rm(scratch, { recursive: true, force: true });
    const problems = [
      ...stale.map((p) => `stale: ${p}`),
      ...orphans.map((p) => `not produced by codegen (remove it): ${p}`),
      ...wouldAdd.map((t) => `missing migration: drizzle-kit would generate ${MIGRATIONS_DIR}/${t}.sql`),
    ];
    if (problems.length) {
      console.error(
        `codegen --check: generated code is out of date. Run \`npm run codegen\`.\n  ${problems.join('\n  ')}`,
      );
      return 1;
    }
    console.log(
      `codegen --check: ${files.length} generated files and ${MIGRATIONS_DIR}/ are up to date (${Math.round(performance.now() - started)} ms)`,
    );
    return 0;
  }

  for (const f of files) {
    if (!stale.includes(f.path)) continue;
    await mkdir(path.dirname(path.join(root, f.path)), { recursive: true });
    await writeFile(path.join(root, f.path), f.contents);
  }
  for (const p of orphans) await rm(path.join(root, p));
  const added = await drizzleGenerate(root, root, layout.dbSchema, MIGRATIONS_DIR, migrationName);
  console.log(
    `codegen: ${files.length} files (${stale.length} updated, ${orphans.length} removed), ${added.length ? `new migration ${added.join(', ')}` : 'no new migration'} in ${Math.round(performance.now() - started)} ms`,
  );
  return 0;
}

// Run only when executed directly (compare paths: the URL is percent-encoded).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
