/**
 * Test helper: turns the compact schema trees of the fixture files into real `schemas/` folders
 * the loader reads. Headers, descriptions and the shared envelope are filled in here because the
 * loader requires them and they never matter for compatibility.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from '../meta-schema.ts';

/** File path under `schemas/` → content; `null` deletes a baseline file. */
export type Tree = Record<string, unknown>;

type Json = Record<string, unknown>;

const header = (rel: string, title: string) => ({
  $schema: SCHEMA_DIALECT,
  $id: `${SCHEMA_BASE_URI}${rel}`,
  title,
  description: `Fixture schema ${rel}.`,
  'x-owner': 'fixtures',
});

const BASELINE: Tree = {
  'common/envelope.json': {
    type: 'object',
    additionalProperties: false,
    required: ['event_name', 'event_version', 'event_id', 'properties'],
    properties: {
      event_name: { type: 'string', maxLength: 64 },
      event_version: { type: 'integer', minimum: 1, maximum: 1000 },
      event_id: { type: 'string', format: 'uuid' },
      properties: { type: 'object' },
    },
  },
  'common/enrichment.json': {
    type: 'object',
    additionalProperties: false,
    required: ['received_at'],
    properties: { received_at: { type: 'string', format: 'date-time' } },
  },
  'warehouse/facts.json': {
    primaryKey: ['event_id'],
    columns: {
      event_id: { type: 'uuid', nullable: false, source: '/event_id' },
      event_name: { type: 'varchar(64)', nullable: false, source: '/event_name' },
      received_at: { type: 'timestamptz', nullable: false, source: '/received_at' },
    },
  },
};

/** Adds the description every property must have, recursively. */
function describe(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(describe);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(
        Object.entries(v as Json).map(([name, sub]) => [
          name,
          { description: `Field ${name}.`, ...(describe(sub) as Json) },
        ]),
      );
    } else out[k] = k === 'enum' || k === 'const' || k === 'default' || k === 'examples' ? v : describe(v);
  }
  return out;
}

function expand(rel: string, content: Json): Json {
  if (rel.startsWith('events/')) {
    const [, name] = rel.split('/');
    return {
      ...header(rel, name as string),
      type: 'object',
      additionalProperties: false,
      required: [],
      ...(describe(content) as Json),
    };
  }
  if (rel.startsWith('common/')) {
    const base = path.basename(rel, '.json');
    const title = base.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
    return { ...header(rel, title), ...(describe(content) as Json) };
  }
  const table = path.basename(rel, '.json');
  const columns = Object.fromEntries(
    Object.entries(content.columns as Json)
      .filter(([, c]) => c !== null)
      .map(([name, c]) => [name, { description: `Column ${name}.`, ...(c as Json) }]),
  );
  return { ...header(rel, table), table, primaryKey: ['event_id'], ...content, columns };
}

/** The full file map of a fixture tree: baseline files, overridden or deleted by the tree. */
function fullTree(tree: Tree): Record<string, Json> {
  const files: Record<string, Json> = {};
  for (const [rel, content] of Object.entries({ ...BASELINE, ...tree })) {
    if (content === null) continue;
    let c = content as Json;
    if (rel.startsWith('warehouse/') && Object.hasOwn(BASELINE, rel) && Object.hasOwn(tree, rel)) {
      // Warehouse overrides add to (or with null remove from) the baseline columns.
      const base = BASELINE[rel] as Json;
      c = { ...base, ...c, columns: { ...(base.columns as Json), ...((c.columns as Json) ?? {}) } };
    }
    files[rel] = expand(rel, c);
  }
  return files;
}

/** Writes the tree as `<dir>/schemas/…` and returns the schemas folder. */
export async function writeTree(dir: string, tree: Tree): Promise<string> {
  const root = path.join(dir, 'schemas');
  for (const [rel, content] of Object.entries(fullTree(tree))) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(content, null, 2)}\n`);
  }
  return root;
}
