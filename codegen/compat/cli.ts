/**
 * `npm run schemas:check -- [--against <git-ref>] [--base-dir <dir>] [--head-dir <dir>]
 *   [--format text|json|github|markdown] [--allowlist <file>] [--base-only]`
 *
 * Exit 0: no breaking change · 1: breaking changes · 2: could not decide or failed.
 * Findings go to stdout in the chosen format; the one-line summary and notes go to stderr.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AllowlistError, applyAllowlist, readAllowlist } from './allowlist.ts';
import { checkCompatibility, exitCodeOf } from './check.ts';
import { GitError } from './git.ts';
import {
  FORMATS,
  type Format,
  lineOfPointer,
  pointerLines,
  renderGithub,
  renderJson,
  renderMarkdown,
  renderText,
} from './render.ts';
import type { Finding } from './rules.ts';
import { loadBaseDir, loadBaseGit, loadHead, StateError } from './states.ts';

export interface Io {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE =
  'usage: npm run schemas:check -- [--against <git-ref>] [--base-dir <dir>] [--head-dir <dir>] [--format text|json|github|markdown] [--allowlist <file>] [--base-only]';

class UsageError extends Error {}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

export async function main(argv: string[], io: Io): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
    if (values['base-dir'] && values.against) throw new UsageError('use either --against or --base-dir, not both');
    if (!FORMATS.includes(values.format as Format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  } catch (e) {
    io.err(`schemas:check: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const format = values.format as Format;
  const headDir = path.resolve(io.cwd, values['head-dir'] ?? 'schemas');
  const temp = await mkdtemp(path.join(tmpdir(), 'schemas-check-'));
  try {
    const head = await loadHead(headDir);
    const states = values['base-dir']
      ? await loadBaseDir(path.resolve(io.cwd, values['base-dir']))
      : await loadBaseGit(headDir, {
          against: values.against,
          allStates: !values['base-only'],
          temp,
          note: (text) => io.err(`schemas:check: note: ${text}`),
        });
    if ('nothingToCompare' in states) {
      if (format === 'json') io.out('[]');
      io.err(`schemas:check: nothing to compare: ${states.nothingToCompare}`);
      return 0;
    }
    const { base, history, label: baseLabel } = states;

    const allowlistFile = path.resolve(io.cwd, values.allowlist ?? path.join(headDir, 'compat-allowlist.json'));
    const allowlistName = path.relative(path.dirname(headDir), allowlistFile).split(path.sep).join('/');
    // Only a comparison with the whole history can tell that an entry is stale: with --base-only
    // or --base-dir the break it accepts may sit in a state that was not compared.
    const wholeHistory = !values['base-dir'] && !values['base-only'];
    const entries = await readAllowlist(allowlistFile);
    if (!wholeHistory && entries.length > 0)
      io.err('schemas:check: note: unused allowlist entries are reported only when the whole history is compared');
    const findings = applyAllowlist(
      checkCompatibility({ head, base, history }),
      entries,
      allowlistName,
      wholeHistory,
    ).sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]); // stable: keeps check order

    const rendered = await render(format, findings, baseLabel, path.dirname(headDir));
    if (rendered) io.out(rendered);
    const code = exitCodeOf(findings);
    const errors = findings.filter((f) => f.severity === 'error' && !f.allowlisted).length;
    const verdict =
      code === 2 ? 'could not decide' : code === 1 ? `${errors} breaking change(s)` : 'no breaking changes';
    io.err(`schemas:check: ${verdict} against ${baseLabel} (${1 + history.length} base state(s) compared)`);
    return code;
  } catch (e) {
    if (e instanceof StateError || e instanceof AllowlistError || e instanceof GitError)
      io.err(`schemas:check: ${e.message}`);
    else io.err(`schemas:check: failed: ${(e as Error).stack ?? e}`);
    return 2;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      against: { type: 'string' },
      'base-dir': { type: 'string' },
      'head-dir': { type: 'string' },
      format: { type: 'string', default: 'text' },
      allowlist: { type: 'string' },
      'base-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}

async function render(format: Format, findings: Finding[], baseLabel: string, root: string): Promise<string> {
  switch (format) {
    case 'text':
      return renderText(findings);
    case 'json':
      return renderJson(findings);
    case 'markdown':
      return renderMarkdown(findings, baseLabel);
    case 'github': {
      const cache = new Map<string, Map<string, number> | undefined>();
      for (const f of findings) {
        if (cache.has(f.file)) continue;
        const text = await readFile(path.join(root, f.file), 'utf8').catch(() => undefined);
        cache.set(f.file, text === undefined ? undefined : pointerLines(text));
      }
      return renderGithub(findings, (file, pointer) => {
        const lines = cache.get(file);
        return lines ? lineOfPointer(lines, pointer) : undefined;
      });
    }
  }
}

// Compared as resolved paths: a file URL percent-encodes spaces and non-ASCII characters, so a
// string comparison with argv[1] fails in such checkouts and the CLI would silently do nothing.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const code = await main(process.argv.slice(2), {
    cwd: process.cwd(),
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  });
  process.exitCode = code;
}
