/**
 * Reading past states of `schemas/` out of git: which commit to compare with, which earlier
 * states a model had, and extracting one state into a folder the loader can read.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A problem with the repository or the ref asked for: reported as a message, exit 2. */
export class GitError extends Error {}

export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

async function tryGit(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return await git(cwd, args);
  } catch {
    return undefined;
  }
}

export interface BaseRef {
  commit: string;
  /** How the base was chosen, for messages. */
  label: string;
}

/**
 * The commit to compare with: `against` when given; else the merge-base with origin/main when
 * that ref exists; else HEAD~1. Undefined when there is nothing to compare (a single commit).
 */
export async function resolveBase(cwd: string, against?: string): Promise<BaseRef | undefined> {
  if (!(await tryGit(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])))
    throw new GitError(`${cwd} is not a git repository with commits; compare folders with --base-dir`);
  if (against !== undefined) {
    const commit = await tryGit(cwd, ['rev-parse', '--verify', '--quiet', `${against}^{commit}`]);
    if (!commit) throw new GitError(`--against ${against}: not a commit in this repository`);
    return { commit, label: against };
  }
  if (await tryGit(cwd, ['rev-parse', '--verify', '--quiet', 'origin/main^{commit}'])) {
    const commit = await git(cwd, ['merge-base', 'HEAD', 'origin/main']);
    return { commit, label: `merge-base with origin/main (${commit.slice(0, 7)})` };
  }
  const parent = await tryGit(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD~1^{commit}']);
  return parent ? { commit: parent, label: 'HEAD~1' } : undefined;
}

export interface SchemaState {
  /** Commit whose tree holds this state. */
  commit: string;
  /** Hash of the schemas folder's tree: equal trees are the same state. */
  tree: string;
}

/**
 * Distinct states of the folder `relPath` in the history of `commit`, the commit's own state
 * first, then older ones newest first. Empty when the folder does not exist at `commit`.
 */
export async function schemaStates(cwd: string, commit: string, relPath: string, all: boolean): Promise<SchemaState[]> {
  const tree = await tryGit(cwd, ['rev-parse', '--verify', '--quiet', `${commit}:${relPath}`]);
  if (!tree) return [];
  const states: SchemaState[] = [{ commit, tree }];
  if (!all) return states;
  const seen = new Set([tree]);
  const touching = (await git(cwd, ['rev-list', commit, '--', relPath])).split('\n').filter(Boolean);
  for (const c of touching) {
    const t = await tryGit(cwd, ['rev-parse', '--verify', '--quiet', `${c}:${relPath}`]);
    if (!t || seen.has(t)) continue;
    seen.add(t);
    states.push({ commit: c, tree: t });
  }
  return states;
}

/** Writes the tree of one state into `dest/<folderName>/`. */
export async function extractTree(cwd: string, tree: string, folderName: string, dest: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const archive = spawn('git', ['archive', '--format=tar', `--prefix=${folderName}/`, tree], { cwd });
    const tar = spawn('tar', ['-x', '-C', dest]);
    archive.stdout.pipe(tar.stdin);
    let stderr = '';
    archive.stderr.on('data', (d) => {
      stderr += d;
    });
    tar.stderr.on('data', (d) => {
      stderr += d;
    });
    let pending = 2;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${what} failed (${code}): ${stderr.trim()}`));
      else if (--pending === 0) resolve();
    };
    archive.on('error', reject);
    tar.on('error', reject);
    archive.on('close', done('git archive'));
    tar.on('close', done('tar'));
  });
}
