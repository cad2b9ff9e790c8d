/**
 * `npm run bench:codegen [-- --events 200]`
 *
 * Builds a registry of N synthetic event schemas on top of the shipped schemas (14 events)
 * in a temp dir and prints how long `codegen` and `codegen --check` take on it.
 * Goal: ≤ 5 s each for 200 events on a 2-core machine.
 */
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { main } from './cli.ts';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from './meta-schema.ts';

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

async function timed(label: string, args: string[]): Promise<number> {
  const started = performance.now();
  const log = console.log;
  console.log = () => {};
  try {
    const code = await main(args);
    if (code !== 0) throw new Error(`${label} exited ${code}`);
  } finally {
    console.log = log;
  }
  return performance.now() - started;
}

const { values } = parseArgs({ options: { events: { type: 'string', default: '200' } } });
const count = Number(values.events);
const root = await mkdtemp(path.join(tmpdir(), 'bench-codegen-'));
try {
  await cp(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  for (let i = 0; i < count; i++) {
    const { name, schema } = syntheticEvent(i);
    await mkdir(path.join(root, 'schemas', 'events', name), { recursive: true });
    await writeFile(path.join(root, 'schemas', 'events', name, '1.json'), JSON.stringify(schema, null, 2));
  }
  const generate = await timed('codegen', ['--root', root]);
  const check = await timed('codegen --check', ['--check', '--root', root]);
  const rows = [
    ['step', 'events', 'time', 'goal'],
    ['codegen (write generated/ + migration)', `${count} + 14`, `${(generate / 1000).toFixed(2)} s`, '≤ 5 s'],
    ['codegen --check', `${count} + 14`, `${(check / 1000).toFixed(2)} s`, '≤ 5 s'],
  ];
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  await rm(root, { recursive: true, force: true });
}
