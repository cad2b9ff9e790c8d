import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../load.ts';
import { checkCompatibility, exitCodeOf } from './check.ts';
import { type Finding, RULES } from './rules.ts';
import { makeSide, type Side } from './side.ts';
import { type Tree, writeTree } from './testing.ts';

interface Expected {
  rule: string;
  direction: string;
  event?: string | null;
  model?: number | null;
  file?: string;
  pointer?: string;
}

interface Case {
  name: string;
  before: Tree;
  after: Tree;
  /** Older states of the base, newest first. */
  history?: Tree[];
  includeInfo?: boolean;
  expect: Expected[];
}

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json')).sort();
const suites = await Promise.all(
  files.map(async (f) => ({
    file: f,
    cases: (JSON.parse(await readFile(path.join(FIXTURES, f), 'utf8')) as { cases: Case[] }).cases,
  })),
);

let temp: string;
beforeAll(async () => {
  temp = await mkdtemp(path.join(tmpdir(), 'compat-fixtures-'));
});
afterAll(() => rm(temp, { recursive: true, force: true }));

let counter = 0;
/** Many cases share a tree; each distinct tree is written and loaded once (loading dominates). */
const loaded = new Map<string, Promise<Side>>();
function side(tree: Tree, label: string): Promise<Side> {
  const key = JSON.stringify(tree);
  let side = loaded.get(key);
  if (!side) {
    side = (async () => {
      const dir = await writeTree(path.join(temp, String(counter++)), tree);
      const registry = await loadRegistry(dir, { refuseMisfits: false, enforcePolicy: false });
      return makeSide('fixture', registry);
    })();
    loaded.set(key, side);
  }
  return side.then((s) => ({ ...s, label }));
}

/** Pairs each expectation with one finding that has every field it names. */
function unmatched(findings: Finding[], expected: Expected[]) {
  const left = [...findings];
  const missing: Expected[] = [];
  for (const e of expected) {
    const i = left.findIndex((f) =>
      Object.entries(e).every(([k, v]) => (f as unknown as Record<string, unknown>)[k] === v),
    );
    if (i < 0) missing.push(e);
    else left.splice(i, 1);
  }
  return { missing, unexpected: left };
}

describe.each(suites)('fixtures/$file', ({ cases }) => {
  it.each(cases)('$name', async (c) => {
    const [base, head, ...history] = await Promise.all([
      side(c.before, 'base'),
      side(c.after, 'head'),
      ...(c.history ?? []).map((t, i) => side(t, `older-${i}`)),
    ]);
    const findings = checkCompatibility({ base: base as Side, head: head as Side, history: history as Side[] });
    const relevant = findings.filter((f) => c.includeInfo || f.severity !== 'info');
    const { missing, unexpected } = unmatched(relevant, c.expect);
    expect({
      missing,
      unexpected: unexpected.map(({ rule, direction, file, pointer, message }) => ({
        rule,
        direction,
        file,
        pointer,
        message,
      })),
    }).toEqual({
      missing: [],
      unexpected: [],
    });
    for (const f of findings) {
      expect(RULES[f.rule].severity).toBe(f.severity);
      expect(f.fix.length).toBeGreaterThan(10);
    }
    const breaking = c.expect.some((e) => RULES[e.rule as keyof typeof RULES].severity === 'error');
    const undecided = c.expect.some((e) => e.direction === 'X');
    expect(exitCodeOf(findings)).toBe(undecided ? 2 : breaking ? 1 : 0);
  });
});

describe('the fixture corpus', () => {
  it('has at least 80 cases and covers every rule that compares schemas', () => {
    const all = suites.flatMap((s) => s.cases);
    expect(all.length).toBeGreaterThanOrEqual(80);
    const covered = new Set(all.flatMap((c) => c.expect.map((e) => e.rule)));
    const uncovered = Object.keys(RULES).filter(
      (r) => !covered.has(r) && !['ALLOWLIST_ENTRY_UNUSED', 'UNCLASSIFIED_KEYWORD'].includes(r),
    );
    expect(uncovered).toEqual([]);
  });
});
