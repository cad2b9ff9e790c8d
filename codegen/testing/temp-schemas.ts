/**
 * Test helper: a private copy of the real `schemas/` folder that a test may break on purpose.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface TempSchemas {
  dir: string;
  /** Reads a JSON file under the copy, lets `change` edit it, writes it back. */
  // biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary schema JSON to break it on purpose.
  edit(rel: string, change: (json: Record<string, any>) => void): Promise<void>;
  write(rel: string, contents: string): Promise<void>;
  remove(): Promise<void>;
}

export async function copySchemas(): Promise<TempSchemas> {
  const root = await mkdtemp(path.join(tmpdir(), 'schemas-'));
  const dir = path.join(root, 'schemas');
  await cp(path.join(REPO_ROOT, 'schemas'), dir, { recursive: true });
  return {
    dir,
    async edit(rel, change) {
      const file = path.join(dir, rel);
      const json = JSON.parse(await readFile(file, 'utf8'));
      change(json);
      await writeFile(file, JSON.stringify(json, null, 2));
    },
    async write(rel, contents) {
      await writeFile(path.join(dir, rel), contents);
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
