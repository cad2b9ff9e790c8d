import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from './cli.ts';
import type { Finding } from './rules.ts';
import { type Tree, writeTree } from './testing.ts';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

let repo: string;

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd: repo,
  });
  return stdout.trim();
}

/** Replaces the working tree's schemas with `tree` and commits it. */
async function commit(tree: Tree, message: string): Promise<string> {
  await rm(path.join(repo, 'schemas'), { recursive: true, force: true });
  await writeTree(repo, tree);
  await git('add', '-A');
  await git('commit', '-q', '--allow-empty', '-m', message);
  return git('rev-parse', 'HEAD');
}

async function check(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { cwd: repo, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const v1: Tree = {
  'events/add_to_cart/1.json': { properties: { sku: { type: 'string', maxLength: 64 } } },
};
const safe: Tree = {
  'events/add_to_cart/1.json': {
    description: 'A product was added to the cart, with the quantity.',
    properties: { sku: { type: 'string', maxLength: 64 }, quantity: { type: 'integer', minimum: 1, maximum: 99 } },
  },
};
const breaking: Tree = {
  'events/add_to_cart/1.json': {
    required: ['quantity'],
    properties: { sku: { type: 'string', maxLength: 64 }, quantity: { type: 'integer', minimum: 1, maximum: 99 } },
  },
};

beforeEach(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'schemas-check-repo-'));
  await git('init', '-q', '-b', 'main');
});
afterEach(() => rm(repo, { recursive: true, force: true }));

describe('npm run schemas:check in a git repository', () => {
  it('passes with a clear message when there is no earlier commit to compare with', async () => {
    await commit(v1, 'first');
    const r = await check();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('nothing to compare');
    expect(JSON.parse((await check('--format', 'json')).stdout)).toEqual([]);
  });

  it('passes a safe commit against HEAD~1', async () => {
    await commit(v1, 'first');
    await commit(safe, 'add optional quantity');
    const r = await check();
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('no breaking changes against HEAD~1');
  });

  it('fails a breaking commit with exit 1 and one line naming rule, location and fix', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    const r = await check();
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toContain(
      'ERROR EVENT_REQUIRED_ADDED schemas/events/add_to_cart/1.json#/required/0 — new property "quantity" is required; old events do not send it. Fix: leave the property out of "required" (optional), or create `schemas/events/add_to_cart/2.json` with the change instead (old trackers keep sending v1)',
    );
  });

  it('compares uncommitted edits with --against <ref>', async () => {
    const first = await commit(v1, 'first');
    await commit(safe, 'safe');
    await writeTree(repo, breaking);
    expect((await check('--against', 'HEAD')).code).toBe(1);
    expect((await check('--against', first)).code).toBe(1);
    expect((await check('--against', 'no-such-ref')).code).toBe(2);
  });

  it('uses the merge-base with origin/main when that ref exists', async () => {
    const first = await commit(v1, 'first');
    await commit(breaking, 'breaking');
    await commit(breaking, 'unrelated follow-up');
    await git('update-ref', 'refs/remotes/origin/main', first);
    const r = await check();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`merge-base with origin/main (${first.slice(0, 7)})`);
  });

  it('exits 2 when a head schema is corrupt', async () => {
    await commit(v1, 'first');
    await commit(safe, 'safe');
    await writeFile(path.join(repo, 'schemas/events/add_to_cart/1.json'), '{ "type": "object", ');
    const r = await check();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('schemas/events/add_to_cart/1.json');
  });

  it('exits 2 with a clear message outside a git repository without --base-dir', async () => {
    const plain = await mkdtemp(path.join(tmpdir(), 'schemas-check-plain-'));
    try {
      await writeTree(plain, v1);
      const err: string[] = [];
      const code = await main([], { cwd: plain, out: () => {}, err: (t) => err.push(t) });
      expect(code).toBe(2);
      expect(err.join('\n')).toContain('not inside a git repository; compare folders with --base-dir');
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
  });

  it('exits 2 on bad arguments', async () => {
    await commit(v1, 'first');
    expect((await check('--format', 'xml')).code).toBe(2);
    expect((await check('--against', 'HEAD', '--base-dir', 'x')).code).toBe(2);
  });

  it('compares with every earlier state of a model, not just the base', async () => {
    await commit(
      { 'events/add_to_cart/1.json': { properties: { pay: { type: 'string', enum: ['card', 'cash'] } } } },
      'v1',
    );
    await commit(
      { 'events/add_to_cart/1.json': { properties: { pay: { type: 'string', enum: ['card'] } } } },
      'drop cash',
    );
    await writeTree(repo, {
      'events/add_to_cart/1.json': {
        properties: { pay: { type: 'string', enum: ['card'] }, note: { type: 'string' } },
      },
    });
    const all = await check('--against', 'HEAD', '--format', 'json');
    expect(all.code).toBe(1);
    expect((JSON.parse(all.stdout) as Finding[]).map((f) => f.rule)).toContain('EVENT_ENUM_VALUE_REMOVED');
    expect(all.stderr).toContain('2 base state(s)');
    expect((await check('--against', 'HEAD', '--base-only')).code).toBe(0);
  });

  it('accepts an allowlisted break and reports the reason', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    await writeFile(
      path.join(repo, 'schemas/compat-allowlist.json'),
      JSON.stringify({
        entries: [
          {
            rule: 'EVENT_REQUIRED_ADDED',
            event: 'add_to_cart',
            model: 1,
            pointer: '/required/0',
            reason: 'no tracker sends add_to_cart v1 yet (launch is next week)',
          },
        ],
      }),
    );
    const r = await check('--against', 'HEAD~1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ALLOWED EVENT_REQUIRED_ADDED .*\(allowlisted: no tracker sends add_to_cart v1 yet/);
  });

  it('does not let an old entry accept a property made required later', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    await writeFile(
      path.join(repo, 'schemas/compat-allowlist.json'),
      JSON.stringify({
        entries: [
          {
            rule: 'EVENT_REQUIRED_ADDED',
            event: 'add_to_cart',
            model: 1,
            pointer: '/required/0',
            reason: 'no tracker sends add_to_cart v1 yet (launch is next week)',
          },
        ],
      }),
    );
    await writeTree(repo, {
      'events/add_to_cart/1.json': {
        required: ['quantity', 'coupon'],
        properties: {
          sku: { type: 'string', maxLength: 64 },
          quantity: { type: 'integer', minimum: 1, maximum: 99 },
          coupon: { type: 'string', maxLength: 16 },
        },
      },
    });
    const r = await check('--against', 'HEAD');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR EVENT_REQUIRED_ADDED \S+#\/required\/1 — new property "coupon"/m);
    expect(r.stdout).toMatch(/^ALLOWED EVENT_REQUIRED_ADDED \S+#\/required\/0 — new property "quantity"/m);
  });

  it('fails on an allowlist entry that matches nothing, unless only part of the history is compared', async () => {
    await commit(v1, 'first');
    await commit(safe, 'safe');
    await writeFile(
      path.join(repo, 'schemas/compat-allowlist.json'),
      JSON.stringify({
        entries: [
          {
            rule: 'EVENT_REQUIRED_ADDED',
            event: 'add_to_cart',
            model: 1,
            pointer: '/required/0',
            reason: 'quantity was required briefly; the change was reverted',
          },
        ],
      }),
    );
    const r = await check();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^ERROR ALLOWLIST_ENTRY_UNUSED schemas\/compat-allowlist\.json#\/entries\/0 — entry for EVENT_REQUIRED_ADDED on add_to_cart v1 at \/required\/0 matched no finding/,
    );
    const partial = await check('--base-only');
    expect(partial.code).toBe(0);
    expect(partial.stderr).toContain('unused allowlist entries are reported only when the whole history is compared');
  });

  it('exits 2 on an allowlist entry without a pointer', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    await writeFile(
      path.join(repo, 'schemas/compat-allowlist.json'),
      JSON.stringify({
        entries: [
          { rule: 'EVENT_REQUIRED_ADDED', event: 'add_to_cart', model: 1, reason: 'no tracker sends v1 yet (launch)' },
        ],
      }),
    );
    const r = await check();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/allowlist .*compat-allowlist\.json is invalid/);
    expect(r.stderr).toContain('pointer');
  });

  it('exits 2 on an allowlist entry without a reason', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    await writeFile(
      path.join(repo, 'schemas/compat-allowlist.json'),
      JSON.stringify({ entries: [{ rule: 'EVENT_REQUIRED_ADDED', event: 'add_to_cart' }] }),
    );
    const r = await check();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('allowlist');
  });

  it('renders json, github annotations and a markdown summary', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    const json = JSON.parse((await check('--format', 'json')).stdout) as Finding[];
    expect(json).toContainEqual(
      expect.objectContaining({
        rule: 'EVENT_REQUIRED_ADDED',
        severity: 'error',
        event: 'add_to_cart',
        model: 1,
        file: 'schemas/events/add_to_cart/1.json',
        pointer: '/required/0',
      }),
    );
    const github = await check('--format', 'github');
    // The annotation points at the newly required name inside the "required" array.
    expect(github.stdout).toMatch(
      /^::error file=schemas\/events\/add_to_cart\/1\.json,line=\d+,title=EVENT_REQUIRED_ADDED::new property "quantity" is required/m,
    );
    const line = Number(/line=(\d+)/.exec(github.stdout)?.[1]);
    const text = (await run('git', ['show', 'HEAD:schemas/events/add_to_cart/1.json'], { cwd: repo })).stdout;
    expect(text.split('\n')[line - 1]).toContain('"quantity"');
    const md = await check('--format', 'markdown');
    expect(md.stdout).toContain('### Schema compatibility: ❌ 1 breaking change(s)');
    expect(md.stdout).toContain('| ERROR | `EVENT_REQUIRED_ADDED` | add_to_cart v1 |');
  });

  it('compares two folders with --base-dir and --head-dir, without git', async () => {
    const before = await writeTree(path.join(repo, 'before'), v1);
    const after = await writeTree(path.join(repo, 'after'), breaking);
    const r = await check('--base-dir', before, '--head-dir', after);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('EVENT_REQUIRED_ADDED');
  });

  it('runs as `npm run schemas:check` with the exit code as process status', async () => {
    await commit(v1, 'first');
    await commit(breaking, 'require quantity');
    const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
    const failed = await run(tsx, [path.join(REPO_ROOT, 'codegen/compat/cli.ts')], { cwd: repo }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stdout: string }).stdout).toContain('ERROR EVENT_REQUIRED_ADDED');
  });

  it('runs from a checkout whose path has a space and non-ASCII characters', async () => {
    // A copy of the checker's code (not a symlink: node resolves the main module's symlinks, and a
    // real checkout under "My Projects/" is a plain folder too).
    const checkout = path.join(repo, 'my checkout ü');
    await cp(path.join(REPO_ROOT, 'codegen'), path.join(checkout, 'codegen'), { recursive: true });
    // The one module codegen imports from services/ (it imports nothing itself).
    await cp(path.join(REPO_ROOT, 'services/json-pointer.ts'), path.join(checkout, 'services/json-pointer.ts'));
    await cp(path.join(REPO_ROOT, 'package.json'), path.join(checkout, 'package.json'));
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
    const before = await writeTree(path.join(checkout, 'before'), v1);
    const after = await writeTree(path.join(checkout, 'after'), breaking);
    const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
    const cli = path.join(checkout, 'codegen/compat/cli.ts');
    const failed = await run(tsx, [cli, '--base-dir', before, '--head-dir', after], { cwd: checkout }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stdout: string }).stdout).toContain('ERROR EVENT_REQUIRED_ADDED');
  });
});
