/**
 * The event catalogue (Markdown): every event model with its owner, properties and the
 * warehouse columns it feeds. The page product teams read before adding or changing an event.
 */
import { banner, type GeneratedFile, layout } from '../layout.ts';
import type { EventModel, JsonSchema, Registry } from '../registry.ts';
import { SchemaIndex } from '../schema-index.ts';
import { FAMILIES } from '../vocabulary/index.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(node: JsonSchema, base: string, registry: Registry): string {
  if (node.$ref) {
    const target = SchemaIndex.target(node.$ref, base);
    const common = registry.commons.find((c) => c.id === target);
    return common ? `\`${common.typeName}\`` : node.$ref;
  }
  if (node.enum) return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  const t = Array.isArray(node.type) ? node.type.join(' \\| ') : (node.type ?? 'any');
  if (t === 'array' && node.items) return `${typeOf(node.items as JsonSchema, base, registry)}[]`;
  return t;
}

/** The bounds cell: each keyword family's entries, ordered by rank across families. */
function bounds(node: JsonSchema): string {
  return FAMILIES.flatMap((f) => f.catalogue?.(node) ?? [])
    .sort((x, y) => x.rank - y.rank)
    .map((x) => x.text)
    .join(', ');
}

function propertyTable(schema: JsonSchema, base: string, registry: Registry): string {
  const rows = Object.entries(schema.properties ?? {}).map(([name, sub]) => {
    const node = sub as JsonSchema;
    const required = (schema.required ?? []).includes(name) ? 'yes' : 'no';
    return `| \`${name}\` | ${typeOf(node, base, registry)} | ${required} | ${cell(bounds(node))} | ${cell(node.description ?? '')} |`;
  });
  if (rows.length === 0) return '_No properties._\n';
  return `| property | type | required | bounds | description |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`;
}

/** The catalogue's anchor of one event model: the one place that spells it. */
const anchor = (e: Pick<EventModel, 'name' | 'model'>) => `${e.name}-model-${e.model}`;

export function generate(registry: Registry): GeneratedFile[] {
  const sections = registry.events.map((e) => {
    const feeds = registry.mappings
      .filter((m) => m.event === e.name && m.model === e.model)
      .flatMap((m) =>
        m.columns
          .filter((c) => c.pointer?.startsWith('/properties/'))
          .map((c) => `\`${m.table}.${c.column}\` ← \`${c.pointer}\``),
      );
    return `## ${e.name} (model ${e.model})

${e.deprecated ? '**Deprecated**: trackers should move to a newer model; it is removed once they have.\n\n' : ''}${e.description}

- Owner: \`${e.owner}\`
- Schema: [\`${e.file}\`](../../${e.file})

${propertyTable(e.schema, e.id, registry)}
Warehouse columns fed from its properties (besides the envelope columns every event fills): ${feeds.join(', ') || 'none'}
`;
  });
  const shapes = registry.commons.map(
    (c) => `### ${c.typeName}

${c.schema.description} ([\`${c.file}\`](../../${c.file}))

${c.schema.properties ? propertyTable(c.schema, c.id, registry) : `Type: ${typeOf(c.schema, c.id, registry)}\n`}`,
  );
  const index = registry.events
    .map((e) => `| [\`${e.name}\`](#${anchor(e)}) | ${e.model} | \`${e.owner}\` | ${cell(e.description)} |`)
    .join('\n');
  const contents = `${banner(['schemas/'], 'md')}
# Event catalogue

${registry.events.length} event models. Each travels inside the shared envelope (see EventEnvelope under Shared shapes) with its own \`properties\`; the ingest service adds ServerEnrichment.

| event | model | owner | description |
| --- | --- | --- | --- |
${index}

${sections.join('\n')}
## Shared shapes

${shapes.join('\n')}`;
  // The same list as data, for services that show per-model figures (the dashboard's data quality).
  const models = `${banner(['schemas/events/*/*.json'])}
/** Every event model of the registry, with its deprecation flag and its anchor in EVENTS.md. */
export const eventModels = [
${registry.events.map((e) => `  { name: '${e.name}', model: ${e.model}, deprecated: ${e.deprecated}, owner: '${e.owner}', anchor: '${anchor(e)}' },`).join('\n')}
] as const;

export type EventModelInfo = (typeof eventModels)[number];
`;
  return [
    { path: layout.catalog, contents, format: false },
    { path: layout.catalogModels, contents: models },
  ];
}
