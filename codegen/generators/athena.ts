/**
 * Athena/Glue table columns over the raw lake, from the registry: the lake's event lines are the
 * envelope and the server enrichment side by side (one typed column each) plus `properties`, a
 * struct holding the union of every event model's properties. The quarantine table's columns are
 * the `{ raw, errors, received_at }` record ingest and the ETL write (services/ingest/core.ts).
 *
 * Glue types follow what the OpenX JSON SerDe reads: strings (date-times too — parse them with
 * from_iso8601_timestamp), bigint, double, boolean, struct<…>, array<…>. Where one Glue type
 * cannot describe a field — two events give the same property different types, a free-form
 * object, a value that is several JSON types — that field becomes `string`, which the SerDe fills
 * with the value's JSON text, and the generated file lists it in `typeFallbacks`: a schema PR still
 * generates a queryable table, and the fallback shows up in its diff.
 */
import { banner, byCodeUnit, type GeneratedFile, layout } from '../layout.ts';
import type { JsonSchema, Registry } from '../registry.ts';
import type { Located, SchemaIndex } from '../schema-index.ts';

type Scalar = 'string' | 'bigint' | 'double' | 'boolean';
export type GlueShape =
  | { kind: 'scalar'; type: Scalar }
  | { kind: 'struct'; fields: Map<string, GlueShape> }
  | { kind: 'array'; items: GlueShape };

export interface GlueColumn {
  name: string;
  type: string;
  comment: string;
}

export interface TypeFallback {
  /** JSON pointer of the field in a lake line, e.g. `/properties/value`. */
  path: string;
  reason: string;
}

const STRING: GlueShape = { kind: 'scalar', type: 'string' };
const SCALARS: Record<string, Scalar> = { string: 'string', integer: 'bigint', number: 'double', boolean: 'boolean' };

/** Glue type of one schema node; fields no single Glue type describes become `string` (noted). */
export function shapeOf(located: Located, index: SchemaIndex, path: string, notes: TypeFallback[]): GlueShape {
  const { node, base } = index.deref(located);
  const fallback = (reason: string): GlueShape => {
    notes.push({ path, reason });
    return STRING;
  };
  if (node.allOf) return fallback('allOf is not mapped to a Glue type');
  const branches = node.anyOf ?? node.oneOf;
  if (branches) {
    const shapes = branches.map((b) => shapeOf({ node: b as JsonSchema, base }, index, path, notes));
    return shapes.reduce((a, b) => mergeShapes(a, b, path, notes));
  }
  const declared = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  const values = node.const !== undefined ? [node.const] : node.enum;
  let types = declared.length
    ? declared
    : values
      ? [...new Set(values.map((v) => (v === null ? 'null' : typeof v === 'number' ? 'number' : typeof v)))]
      : [];
  if (types.length === 0) return fallback('no type declared: any JSON value, read as JSON text');
  // A nullable field is a nullable column: null adds nothing to the Glue type.
  if (types.length > 1) types = types.filter((t) => t !== 'null');
  if (types.length === 1 && types[0] === 'null') return STRING;
  if (types.length > 1) {
    if (types.every((t) => t === 'integer' || t === 'number')) return { kind: 'scalar', type: 'double' };
    return fallback(`several JSON types (${types.join(', ')}), read as JSON text`);
  }
  const type = types[0] as string;
  if (type === 'object') {
    const props = Object.entries(node.properties ?? {});
    if (props.length === 0) return fallback('object without declared properties, read as JSON text');
    const fields = new Map<string, GlueShape>();
    for (const [name, sub] of props)
      fields.set(name, shapeOf({ node: sub as JsonSchema, base }, index, `${path}/${name}`, notes));
    return { kind: 'struct', fields };
  }
  if (type === 'array') {
    if (!node.items) return fallback('array without items, read as JSON text');
    return { kind: 'array', items: shapeOf({ node: node.items as JsonSchema, base }, index, `${path}/0`, notes) };
  }
  return { kind: 'scalar', type: SCALARS[type] as Scalar };
}

/** One shape for a field two schemas both describe: structs merge by field; disagreement → string. */
export function mergeShapes(a: GlueShape, b: GlueShape, path: string, notes: TypeFallback[]): GlueShape {
  if (a.kind === 'scalar' && b.kind === 'scalar') {
    if (a.type === b.type) return a;
    const numeric = new Set<Scalar>(['bigint', 'double']);
    if (numeric.has(a.type) && numeric.has(b.type)) return { kind: 'scalar', type: 'double' };
  } else if (a.kind === 'struct' && b.kind === 'struct') {
    const fields = new Map(a.fields);
    for (const [name, shape] of b.fields) {
      const mine = fields.get(name);
      fields.set(name, mine ? mergeShapes(mine, shape, `${path}/${name}`, notes) : shape);
    }
    return { kind: 'struct', fields };
  } else if (a.kind === 'array' && b.kind === 'array') {
    return { kind: 'array', items: mergeShapes(a.items, b.items, `${path}/0`, notes) };
  }
  notes.push({ path, reason: `conflicting types (${render(a)} vs ${render(b)}), read as JSON text` });
  return STRING;
}

/** Hive type string as Glue stores it; struct fields in code-unit order so output is stable. */
export function render(shape: GlueShape): string {
  if (shape.kind === 'scalar') return shape.type;
  if (shape.kind === 'array') return `array<${render(shape.items)}>`;
  const fields = [...shape.fields.entries()].sort(([x], [y]) => byCodeUnit(x, y));
  return `struct<${fields.map(([name, s]) => `${name}:${render(s)}`).join(',')}>`;
}

/** Glue limits a column comment to 255 characters. */
const comment = (description: string | undefined) => {
  const text = (description ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 255 ? `${text.slice(0, 254)}…` : text;
};

export interface AthenaTables {
  events: GlueColumn[];
  quarantine: GlueColumn[];
  typeFallbacks: TypeFallback[];
}

export function athenaTables(registry: Registry): AthenaTables {
  const { index } = registry;
  const notes: TypeFallback[] = [];
  const events: GlueColumn[] = [];
  const seen = new Set<string>();
  for (const shape of [registry.envelope, registry.enrichment]) {
    for (const [name, sub] of Object.entries(shape.schema.properties ?? {})) {
      if (name === 'properties') continue;
      if (seen.has(name)) throw new Error(`athena: column ${name} is declared by both the envelope and the enrichment`);
      seen.add(name);
      const node = sub as JsonSchema;
      const type = render(shapeOf({ node, base: shape.id }, index, `/${name}`, notes));
      events.push({ name, type, comment: comment(node.description) });
    }
  }
  let properties: GlueShape | undefined;
  for (const e of registry.events) {
    const shape = shapeOf({ node: e.schema, base: e.id }, index, '/properties', notes);
    properties = properties ? mergeShapes(properties, shape, '/properties', notes) : shape;
  }
  events.push({
    name: 'properties',
    type: properties ? render(properties) : 'string',
    comment: 'Event-specific payload: the union of every event model’s properties (absent fields are null).',
  });
  const quarantine: GlueColumn[] = [
    {
      name: 'raw',
      type: 'string',
      comment: 'The rejected input as JSON text (ingest: the event as received; ETL: the lake line).',
    },
    {
      name: 'errors',
      type: 'array<struct<path:string,rule:string,message:string>>',
      comment: 'Why it was rejected: JSON pointer, stable rule id, message.',
    },
    { name: 'received_at', type: 'string', comment: 'When ingest received it (ISO 8601, UTC).' },
  ];
  // One note per path, in path order: the same conflict met through several events is one entry.
  const unique = new Map<string, TypeFallback>();
  for (const n of notes) if (!unique.has(n.path)) unique.set(n.path, n);
  const typeFallbacks = [...unique.values()].sort((a, b) => byCodeUnit(a.path, b.path));
  return { events, quarantine, typeFallbacks };
}

export function generate(registry: Registry): GeneratedFile[] {
  const tables = athenaTables(registry);
  const contents = `${banner(['schemas/common/envelope.json', 'schemas/common/enrichment.json', 'schemas/events/*/*.json'])}
/** A Glue column: name, Hive type string, comment. */
export interface GlueColumn {
  name: string;
  type: string;
  comment: string;
}

/** Columns of the Athena table over \`events/\` (lake lines: envelope + enrichment + properties). */
export const eventsColumns: readonly GlueColumn[] = ${JSON.stringify(tables.events, null, 2)};

/** Columns of the Athena table over \`quarantine/\` (\`{ raw, errors, received_at }\` lines). */
export const quarantineColumns: readonly GlueColumn[] = ${JSON.stringify(tables.quarantine, null, 2)};

/** Fields typed \`string\` (their JSON text) because no single Glue type describes them. */
export const typeFallbacks: readonly { path: string; reason: string }[] = ${JSON.stringify(tables.typeFallbacks, null, 2)};
`;
  return [{ path: layout.athenaTables, contents }];
}
