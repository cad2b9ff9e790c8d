/**
 * Every `clickstream` command and subcommand answers --help (and -h) with its usage and exit 0,
 * spawned through bin/clickstream.js as a user runs it; an unknown command or option is one line
 * and exit 2. Same for the npm scripts' CLIs (codegen, new-event, schemas:check, oltp:generate).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVICES } from './cli.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'clickstream.js');

function spawnNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, DATA_DIR: '/nonexistent/help' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Subcommands per command, beyond `<command> --help` itself. */
const SUBCOMMANDS: Record<string, string[]> = {
  ingest: ['serve'],
  etl: ['run', 'backfill', 'rebuild'],
  db: ['migrate'],
  storefront: ['serve', 'media'],
  oltp: ['migrate'],
  dashboard: ['serve'],
  quarantine: ['list', 'show', 'replay'],
  privacy: ['erase'],
};

describe('clickstream --help', { timeout: 120_000 }, () => {
  const cases = [
    [],
    ['--help'],
    ['-h'],
    ...Object.keys(SERVICES).flatMap((c) => [
      [c, '--help'],
      [c, '-h'],
      ...(SUBCOMMANDS[c] ?? []).map((s) => [c, s, '--help']),
    ]),
  ];

  it(`answers all ${cases.length} with usage and exit 0`, async () => {
    const results = [];
    // A few at a time: each is a Node process on a shared machine.
    for (let i = 0; i < cases.length; i += 4) {
      results.push(
        ...(await Promise.all(
          cases.slice(i, i + 4).map(async (args) => ({ args, ...(await spawnNode([BIN, ...args])) })),
        )),
      );
    }
    for (const r of results) {
      expect({ args: r.args, code: r.code, usage: /usage/i.test(r.stderr) }).toEqual({
        args: r.args,
        code: 0,
        usage: true,
      });
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('an unknown command or option is one line and exit 2', async () => {
    for (const args of [['explode'], ['etl', 'run', '--bogus'], ['sql', '--bogus'], ['quarantine', 'list', '--x']]) {
      const r = await spawnNode([BIN, ...args]);
      expect({ args, code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ args, code: 2, lines: 1 });
    }
  });

  it('the npm scripts answer --help with exit 0 and refuse unknown options in one line', async () => {
    const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    for (const script of [
      'codegen/cli.ts',
      'codegen/new-event.ts',
      'codegen/compat/cli.ts',
      'codegen/oltp-generate.ts',
    ]) {
      const help = await spawnNode([tsx, script, '--help']);
      expect({ script, code: help.code, usage: /usage/i.test(help.stderr + help.stdout) }).toEqual({
        script,
        code: 0,
        usage: true,
      });
      const bad = await spawnNode([tsx, script, '--bogus-option']);
      expect({ script, code: bad.code, trace: /\n\s+at /.test(bad.stderr) }).toEqual({ script, code: 2, trace: false });
    }
  });
});
