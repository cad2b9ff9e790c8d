/**
 * `npm run bench:codegen [-- --events 200] [--rounds 3]`
 *
 * Runs `npm run codegen` and `npm run codegen -- --check` as a product team does, as child
 * processes, on two private copies of the project: the 14 shipped events, and those plus N
 * synthetic event schemas (the write run generates their files; then --check finds all up to date).
 * Prints, for the first run on each copy (drizzle-kit asked) and the median of the later ones
 * (its "no migration" answer cached), the wall time and where it goes (`--timings`): process start and exit (npm,
 * Node, loading the bundle), ajv compiling (registry load + standalone validators),
 * json-schema-to-typescript, Prettier (worker thread) and drizzle-kit (child process) — the last two
 * run beside the main thread, so their own time and the main thread's wait for them are both shown.
 * Goals: ≤ 1.5 s on the shipped events, ≤ 5 s with 200 more, on a 2-core machine.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from './meta-schema.ts';
import type { Part } from './timings.ts';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '..');

function syntheticEvent(i: number) {
  const name = `synthetic_event_${String(i).padStart(3, '0')}`;
  return {
    name,
    schema: {
      $schema: SCHEMA_DIALECT,
      $id: `${SCHEMA_BASE_URI}events/${name}/1.json`,
      title: name,
      description: `Synthetic benchmark event number ${i}.`,
      'x-owner': 'bench-team',
      type: 'object',
      additionalProperties: false,
      required: ['product', 'quantity', 'label'],
      properties: {
        product: { $ref: '../../common/product.json', description: 'A product.' },
        quantity: { type: 'integer', minimum: 1, maximum: 999, description: 'Units.' },
        label: { type: 'string', minLength: 1, maxLength: 64, description: 'A label.' },
        mode: { type: 'string', enum: ['a', 'b', 'c'], description: 'A mode.' },
        at: { type: 'string', format: 'date-time', description: 'A time.' },
        tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 20 }, description: 'Tags.' },
      },
    },
  };
}

/** A copy of the project's contract, generated code and migrations, plus `extra` synthetic events. */
async function project(extra: number): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'bench-codegen-'));
  for (const dir of ['schemas', 'generated', 'migrations'])
    await cp(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true });
  // Links to the packages in a node_modules of its own: the cache under node_modules/.cache (codegen
  // remembers drizzle-kit's "no migration" per inputs) starts empty for each copy.
  await mkdir(path.join(root, 'node_modules'));
  for (const name of await readdir(path.join(REPO_ROOT, 'node_modules')))
    if (name !== '.cache')
      await symlink(path.join(REPO_ROOT, 'node_modules', name), path.join(root, 'node_modules', name));
  for (let i = 0; i < extra; i++) {
    const { name, schema } = syntheticEvent(i);
    await mkdir(path.join(root, 'schemas', 'events', name), { recursive: true });
    await writeFile(path.join(root, 'schemas', 'events', name, '1.json'), JSON.stringify(schema, null, 2));
  }
  return root;
}

type Timings = Partial<Record<Part | 'total', number>>;

/** `npm run -s codegen -- <args> --root <root> --timings`: wall ms and the run's own timings. */
async function codegen(root: string, args: string[]): Promise<{ wall: number; t: Timings }> {
  const started = performance.now();
  const { stderr } = await run('npm', ['run', '-s', 'codegen', '--', ...args, '--root', root, '--timings'], {
    cwd: REPO_ROOT,
  });
  const wall = performance.now() - started;
  const line = stderr.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`codegen printed no timings:\n${stderr}`);
  return { wall, t: JSON.parse(line) as Timings };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const { values } = parseArgs({
  options: { events: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' } },
});
const extra = Number(values.events);
const rounds = Number(values.rounds);
const load = [loadavg()[0]];
const roots = { shipped: await project(0), more: await project(extra) };
type Run = Awaited<ReturnType<typeof codegen>>;
const runs: Record<string, Run[]> = {};
try {
  const node: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = performance.now();
    await run(process.execPath, ['-e', '']);
    node.push(performance.now() - s);
    for (const [which, root] of Object.entries(roots)) {
      // The first write run of the larger project writes its new events' files; later ones write nothing.
      for (const [mode, args] of [
        ['codegen', []],
        ['codegen --check', ['--check']],
      ] as const) {
        const key = `${which}|${mode}`;
        runs[key] = [...(runs[key] ?? []), await codegen(root, [...args])];
      }
    }
  }
  load.push(loadavg()[0]);

  const ms = (x: number | undefined) => `${Math.round(x ?? 0)}`;
  const header = [
    'command',
    'events',
    'run',
    'wall',
    'process start + exit',
    'ajv compile (load + standalone)',
    'json-schema-to-typescript',
    'Prettier (worker) / wait',
    'drizzle-kit (child) / wait',
    'other',
    'goal',
  ];
  const rows: string[][] = [];
  // The first run on a copy asks drizzle-kit; later ones find its "no migration" answer cached
  // (for the larger copy the first write run also generates the new events' files and migration).
  const picks = Object.entries(runs).flatMap(([key, list]) => {
    const repeats = list.slice(1);
    const wall = repeats.length ? median(repeats.map((x) => x.wall)) : undefined;
    return [
      { key, run: 'first', m: list[0] as Run },
      ...(wall === undefined ? [] : [{ key, run: 'repeat (median)', m: repeats.find((x) => x.wall === wall) as Run }]),
    ];
  });
  for (const { key, run, m } of picks) {
    const [which, mode] = key.split('|') as [keyof typeof roots, string];
    const wall = m.wall;
    const t = m.t;
    const total = t.total ?? 0;
    const ajv = (t['registry load (ajv)'] ?? 0) + (t['ajv standalone'] ?? 0);
    const onMain =
      ajv + (t['json-schema-to-typescript'] ?? 0) + (t['Prettier wait'] ?? 0) + (t['drizzle-kit wait'] ?? 0);
    rows.push([
      `npm run ${mode}`,
      which === 'shipped' ? '14' : `14 + ${extra}`,
      run,
      `${(wall / 1000).toFixed(2)} s`,
      ms(wall - total),
      ms(ajv),
      ms(t['json-schema-to-typescript']),
      `${ms(t['Prettier (worker)'])} / ${ms(t['Prettier wait'])}`,
      `${ms(t['drizzle-kit (child)'])} / ${ms(t['drizzle-kit wait'])}`,
      ms(total - onMain),
      which === 'shipped' ? '≤ 1.5 s' : '≤ 5 s',
    ]);
  }
  console.log(
    `codegen (ms unless noted; ${rounds} rounds: the first, and the median of the others; \`node -e ''\` ${ms(median(node))} ms)`,
  );
  console.log(`load average ${load.map((l) => l.toFixed(2)).join(' → ')}`);
  for (const r of [header, header.map(() => '---'), ...rows]) console.log(`| ${r.join(' | ')} |`);
} finally {
  await Promise.all(Object.values(roots).map((r) => rm(r, { recursive: true, force: true })));
}
