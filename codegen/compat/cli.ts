/**
 * `npm run schemas:check -- [--against <git-ref>] [--base-dir <dir>] [--head-dir <dir>]
 *   [--format text|json|github|markdown] [--allowlist <file>] [--base-only]`
 *
 * Exit 0: no breaking change · 1: breaking changes · 2: could not decide or failed.
 * Findings go to stdout in the chosen format; the one-line summary and notes go to stderr.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadRegistry, RegistryError } from '../load.ts';
import { AllowlistError, applyAllowlist, readAllowlist } from './allowlist.ts';
import { checkCompatibility, exitCodeOf } from './check.ts';
import { extractTree, GitError, git, resolveBase, schemaStates } from './git.ts';
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
import { makeSide, type Side } from './side.ts';

export interface Io {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE =
  'usage: npm run schemas:check -- [--against <git-ref>] [--base-dir <dir>] [--head-dir <dir>] [--format text|json|github|markdown] [--allowlist <file>] [--base-only]';

class UsageError extends Error {}

async function loadSide(dir: string, label: string): Promise<Side> {
  const { mappingIssues, ...registry } = await loadRegistry(dir, { collectMappingIssues: true });
  return makeSide(label, registry, mappingIssues);
}

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
    let head: Side;
    try {
      head = await loadSide(headDir, 'head');
    } catch (e) {
      io.err(`schemas:check: cannot check: the head schemas do not load\n${(e as Error).message}`);
      return 2;
    }

    let base: Side;
    let history: Side[] = [];
    let baseLabel: string;
    if (values['base-dir']) {
      const baseDir = path.resolve(io.cwd, values['base-dir']);
      baseLabel = baseDir;
      try {
        base = await loadSide(baseDir, baseDir);
      } catch (e) {
        io.err(`schemas:check: cannot check: the base schemas in ${baseDir} do not load\n${(e as Error).message}`);
        return 2;
      }
    } else {
      const repo = await git(path.dirname(headDir), ['rev-parse', '--show-toplevel']).catch(() => {
        throw new GitError(`${headDir} is not inside a git repository; compare folders with --base-dir`);
      });
      const relPath = path.relative(repo, headDir).split(path.sep).join('/');
      const ref = await resolveBase(repo, values.against);
      if (!ref) {
        if (format === 'json') io.out('[]');
        io.err('schemas:check: nothing to compare: HEAD has no parent commit and there is no origin/main; passing');
        return 0;
      }
      const states = await schemaStates(repo, ref.commit, relPath, !values['base-only']);
      if (states.length === 0) {
        if (format === 'json') io.out('[]');
        io.err(`schemas:check: nothing to compare: ${relPath}/ does not exist at ${ref.label}; every schema is new`);
        return 0;
      }
      baseLabel = ref.label;
      const loaded: Side[] = [];
      for (const [i, state] of states.entries()) {
        const dest = path.join(temp, String(i));
        await mkdir(dest);
        await extractTree(repo, state.tree, path.basename(headDir), dest);
        const label = i === 0 ? ref.label : state.commit.slice(0, 7);
        try {
          loaded.push(await loadSide(path.join(dest, path.basename(headDir)), label));
        } catch (e) {
          if (i === 0) {
            io.err(
              `schemas:check: cannot check: the base schemas at ${ref.label} do not load\n${(e as Error).message}`,
            );
            return 2;
          }
          // An old state the current loader refuses (e.g. written before a meta-schema rule).
          io.err(`schemas:check: note: skipped state ${label}, which does not load with today's loader`);
        }
      }
      [base, ...history] = loaded as [Side, ...Side[]];
    }

    const allowlistFile = path.resolve(io.cwd, values.allowlist ?? path.join(headDir, 'compat-allowlist.json'));
    const allowlistName = path.relative(path.dirname(headDir), allowlistFile).split(path.sep).join('/');
    let findings = applyAllowlist(
      checkCompatibility({ head, base, history }),
      await readAllowlist(allowlistFile),
      allowlistName,
    );
    findings = findings
      .map((f, i) => ({ f, i }))
      .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i)
      .map(({ f }) => f);

    const rendered = await render(format, findings, baseLabel, path.dirname(headDir));
    if (rendered) io.out(rendered);
    const code = exitCodeOf(findings);
    const errors = findings.filter((f) => f.severity === 'error' && !f.allowlisted).length;
    const verdict =
      code === 2 ? 'could not decide' : code === 1 ? `${errors} breaking change(s)` : 'no breaking changes';
    io.err(`schemas:check: ${verdict} against ${baseLabel} (${1 + history.length} base state(s) compared)`);
    return code;
  } catch (e) {
    if (e instanceof RegistryError || e instanceof AllowlistError || e instanceof GitError)
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

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await main(process.argv.slice(2), {
    cwd: process.cwd(),
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  });
  process.exitCode = code;
}
