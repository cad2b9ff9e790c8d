/**
 * Running `drizzle-kit generate` the way this project does, for the warehouse (codegen) and the
 * shop's OLTP schema (`npm run oltp:generate`): offline, named, and with the journal kept in order.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

export interface Journal {
  entries: { tag: string; when?: number }[];
}

/**
 * drizzle's migrator applies a migration only when its journal `when` (drizzle-kit stamps
 * Date.now()) is later than the newest one the database has applied, so a migration generated on a
 * machine whose clock is behind the author of the previous one would be skipped without a word.
 * New entries are stamped at least one millisecond after the entry before them.
 */
function keepJournalOrdered(journal: Journal, firstNew: number): boolean {
  let changed = false;
  for (let i = Math.max(1, firstNew); i < journal.entries.length; i++) {
    const prev = journal.entries[i - 1]?.when ?? 0;
    const entry = journal.entries[i] as { when?: number };
    if ((entry.when ?? 0) <= prev) {
      entry.when = prev + 1;
      changed = true;
    }
  }
  return changed;
}

/**
 * Runs `drizzle-kit generate` for `schemaFile` into `outDir` and returns the tags of migrations it
 * added. drizzle-kit itself decides whether the schema differs from the last snapshot.
 */
export async function drizzleGenerate(
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
  if (keepJournalOrdered(after, before.entries.length)) {
    await writeFile(journalPath, JSON.stringify(after, null, 2));
  }
  return after.entries.slice(before.entries.length).map((e) => e.tag);
}
