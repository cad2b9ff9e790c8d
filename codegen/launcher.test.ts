/**
 * bin/codegen.js (what `npm run codegen` runs) uses its esbuild bundle of codegen/ only while every
 * file the bundle was built from is unchanged: an edited, added-to or deleted source is rebuilt
 * before it runs, so a product team never runs stale codegen.
 */
import { execFile } from 'node:child_process';
import {
  appendFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './testing/temp-schemas.ts';

const run = promisify(execFile);
let root: string;

/** `node bin/codegen.js --help` in the copy: the usage text (stderr). */
async function help(): Promise<string> {
  const { stderr } = await run(process.execPath, [path.join(root, 'bin', 'codegen.js'), '--help'], { cwd: root });
  return stderr;
}

const bundle = () => readFile(path.join(root, 'dist', 'codegen', 'cli.js'), 'utf8');

beforeAll(async () => {
  // A copy of the launcher and the codegen sources, so the edits below stay private.
  root = await mkdtemp(path.join(tmpdir(), 'codegen-launcher-'));
  await mkdir(path.join(root, 'bin'));
  await cp(path.join(REPO_ROOT, 'bin', 'codegen.js'), path.join(root, 'bin', 'codegen.js'));
  await cp(path.join(REPO_ROOT, 'codegen'), path.join(root, 'codegen'), { recursive: true });
  // The one module codegen imports from services/.
  await mkdir(path.join(root, 'services'));
  await cp(path.join(REPO_ROOT, 'services', 'json-pointer.ts'), path.join(root, 'services', 'json-pointer.ts'));
  await cp(path.join(REPO_ROOT, 'tsconfig.json'), path.join(root, 'tsconfig.json'));
  // node_modules: links to the real packages, and a private copy of npm's record of the install.
  await mkdir(path.join(root, 'node_modules'));
  for (const name of await readdir(path.join(REPO_ROOT, 'node_modules'))) {
    if (name === '.package-lock.json') continue;
    await symlink(path.join(REPO_ROOT, 'node_modules', name), path.join(root, 'node_modules', name));
  }
  await cp(
    path.join(REPO_ROOT, 'node_modules', '.package-lock.json'),
    path.join(root, 'node_modules', '.package-lock.json'),
  );
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('bin/codegen.js', { timeout: 60_000 }, () => {
  it('builds the bundle once and reuses it while the sources are unchanged', async () => {
    expect(await help()).toContain('npm run codegen -- --check');
    const built = await bundle();
    expect(built).toMatch(/^\/\/ codegen-bundle-inputs \{.*"codegen\/cli\.ts":"[0-9a-f]{64}"/);
    expect(await help()).toContain('npm run codegen -- --check');
    expect(await bundle()).toBe(built);
  });

  it('rebuilds when a source changes, even with its modification time put back', async () => {
    const cli = path.join(root, 'codegen', 'cli.ts');
    const source = await readFile(cli, 'utf8');
    const { atime, mtime } = await stat(cli);
    await writeFile(cli, source.replace('write nothing; exit 1', 'write nothing (edited); exit 1'));
    await utimes(cli, atime, mtime);
    expect(await help()).toContain('write nothing (edited); exit 1');
    // A new module imported by an edited one is part of the next bundle.
    await writeFile(path.join(root, 'codegen', 'probe.ts'), "export const PROBE = 'from a new module';\n");
    // USAGE is a template literal: the edit interpolates the new module's export into it.
    const interpolated = ['write nothing (', '$', '{PROBE}); exit 1'].join('');
    await writeFile(
      cli,
      `import { PROBE } from './probe.ts';\n${source.replace('write nothing; exit 1', interpolated)}`,
    );
    expect(await help()).toContain('write nothing (from a new module); exit 1');
    await writeFile(path.join(root, 'codegen', 'probe.ts'), "export const PROBE = 'probe edited';\n");
    expect(await help()).toContain('write nothing (probe edited); exit 1');
  });

  it('rebuilds when a recorded source is gone, and when the bundle is not one it wrote', async () => {
    await rm(path.join(root, 'codegen', 'probe.ts'));
    await writeFile(path.join(root, 'codegen', 'cli.ts'), await readFile(path.join(REPO_ROOT, 'codegen', 'cli.ts')));
    expect(await help()).toContain('write nothing; exit 1');
    await writeFile(path.join(root, 'dist', 'codegen', 'cli.js'), 'export const main = async () => 0;\n');
    expect(await help()).toContain('write nothing; exit 1');
  });

  it('rebuilds after npm changed the installed packages (the bundle holds ajv, TypeBox, …)', async () => {
    const record = async () => (await bundle()).slice(0, (await bundle()).indexOf('\n'));
    expect(await help()).toContain('npm run codegen -- --check');
    const before = await record();
    expect(before).toMatch(/node_modules\/ajv\/package\.json":"[0-9a-f]{64}"/);
    await appendFile(path.join(root, 'node_modules', '.package-lock.json'), '\n');
    expect(await help()).toContain('npm run codegen -- --check');
    const after = await record();
    expect(after).not.toBe(before);
    expect(after.replace(/"node_modules\/\.package-lock\.json":"\w+"/, '')).toBe(
      before.replace(/"node_modules\/\.package-lock\.json":"\w+"/, ''),
    );
    // An install without npm's hidden lockfile still builds (recorded as absent) and runs.
    await rm(path.join(root, 'node_modules', '.package-lock.json'));
    expect(await help()).toContain('npm run codegen -- --check');
    expect(await record()).toContain('"node_modules/.package-lock.json":"absent"');
  });
});
