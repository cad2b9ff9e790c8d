/**
 * Loads the sides the check compares: the head folder, and the base either from a folder or from
 * git (the base commit's `schemas/` plus every earlier distinct state in its history).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadRegistry } from '../load.ts';
import { extractTree, GitError, git, resolveBase, schemaStates } from './git.ts';
import { makeSide, type Side } from './side.ts';

/** A side that must load for the check to mean anything did not: exit 2. */
export class StateError extends Error {}

export type BaseStates = { base: Side; history: Side[]; label: string } | { nothingToCompare: string };

export async function loadSide(dir: string, label: string): Promise<Side> {
  return makeSide(label, await loadRegistry(dir, { refuseMisfits: false, enforcePolicy: false }));
}

async function mustLoad(dir: string, label: string, what: string): Promise<Side> {
  try {
    return await loadSide(dir, label);
  } catch (e) {
    throw new StateError(`cannot check: ${what} do not load\n${(e as Error).message}`);
  }
}

export const loadHead = (headDir: string) => mustLoad(headDir, 'head', 'the head schemas');

export async function loadBaseDir(baseDir: string): Promise<BaseStates> {
  return { base: await mustLoad(baseDir, baseDir, `the base schemas in ${baseDir}`), history: [], label: baseDir };
}

/**
 * The base from git, extracted under `temp`. `allStates` adds every earlier distinct state of the
 * folder; one the current loader refuses is skipped and reported through `note`.
 */
export async function loadBaseGit(
  headDir: string,
  options: { against?: string; allStates: boolean; temp: string; note: (text: string) => void },
): Promise<BaseStates> {
  const repo = await git(path.dirname(headDir), ['rev-parse', '--show-toplevel']).catch(() => {
    throw new GitError(`${headDir} is not inside a git repository; compare folders with --base-dir`);
  });
  const relPath = path.relative(repo, headDir).split(path.sep).join('/');
  const ref = await resolveBase(repo, options.against);
  if (!ref) return { nothingToCompare: 'HEAD has no parent commit and there is no origin/main; passing' };
  const states = await schemaStates(repo, ref.commit, relPath, options.allStates);
  if (states.length === 0)
    return { nothingToCompare: `${relPath}/ does not exist at ${ref.label}; every schema is new` };
  const folder = path.basename(headDir);
  const loaded: Side[] = [];
  for (const [i, state] of states.entries()) {
    const dest = path.join(options.temp, String(i));
    await mkdir(dest);
    await extractTree(repo, state.tree, folder, dest);
    if (i === 0) {
      loaded.push(await mustLoad(path.join(dest, folder), ref.label, `the base schemas at ${ref.label}`));
      continue;
    }
    const label = state.commit.slice(0, 7);
    try {
      loaded.push(await loadSide(path.join(dest, folder), label));
    } catch {
      // An old state the current loader refuses (e.g. written before a meta-schema rule existed).
      options.note(`skipped state ${label}, which does not load with today's loader`);
    }
  }
  const [base, ...history] = loaded as [Side, ...Side[]];
  return { base, history, label: ref.label };
}
