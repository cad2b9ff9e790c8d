/**
 * ETL mappers: one function per event model turning an enriched event into a warehouse row,
 * typed against the generated event and row types, plus a dispatch table.
 */
import { banner, type GeneratedFile, importPath, layout, pascal } from '../layout.ts';
import type { ColumnMapping, EventMapping, Registry, WarehouseTable } from '../registry.ts';
import { columnsConst, rowInterface } from './drizzle.ts';

const mapperName = (m: EventMapping) => `map${pascal(m.event)}V${m.model}`;

/** `/properties/product/id` → `e.properties.product?.id`, with `?.` after optional segments. */
function access(mapping: ColumnMapping): string {
  const segments = (mapping.pointer ?? '').split('/').slice(1);
  let expr = 'e';
  segments.forEach((segment, i) => {
    const optionalParent = i > 0 && mapping.segmentsRequired[i - 1] === false;
    const key = /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
    expr += optionalParent ? `?.${key.replace(/^\./, '')}` : key;
  });
  return expr;
}

function valueExpr(mapping: ColumnMapping, table: WarehouseTable): string {
  const column = table.columns.find((c) => c.name === mapping.column);
  if (!column) throw new Error(`no column ${mapping.column} in ${table.name}`);
  const fallback = column.default !== undefined ? JSON.stringify(column.default) : 'null';
  if (mapping.pointer === null) return fallback;
  // A column default also covers a field the schema allows to be null.
  const mayBeAbsent = mapping.segmentsRequired.includes(false) || column.default !== undefined;
  return mayBeAbsent ? `${access(mapping)} ?? ${fallback}` : access(mapping);
}

export function generate(registry: Registry): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const table of registry.tables) {
    const mappings = registry.mappings.filter((m) => m.table === table.name);
    if (mappings.length === 0) continue;
    const path = layout.mappers(table.name);
    const row = rowInterface(table);
    const fns = mappings.map(
      (m) => `/** ${m.event} v${m.model} → ${table.name} */
export function ${mapperName(m)}(e: EnrichedEvent<'${m.event}', ${m.model}>): ${row} {
  return {
${[
  ...m.columns.map((c) => `    ${c.column}: ${valueExpr(c, table)},`),
  ...table.columns
    .filter((c) => c.sources.length === 0)
    .map((c) => `    ${c.name}: ${c.default !== undefined ? JSON.stringify(c.default) : 'null'},`),
].join('\n')}
  };
}
`,
    );
    const byName = new Map<string, string[]>();
    for (const m of mappings) byName.set(m.event, [...(byName.get(m.event) ?? []), `${m.model}: ${mapperName(m)}`]);
    files.push({
      path,
      format: false,
      contents: `${banner([table.file, 'schemas/events/*/*.json'])}
import type { ${row} } from '${importPath(path, layout.dbSchema)}';
import { ${columnsConst(table)} } from '${importPath(path, layout.dbSchema)}';
import type { EnrichedEvent } from '${importPath(path, layout.eventTypes)}';

export { ${columnsConst(table)} };

${fns.join('\n')}
/** An enriched event of any model, as read back from the lake (validated before mapping). */
export type Mapper = (e: never) => ${row};

/** Dispatch table: event_name → event_version → mapper. */
export const mappers: Readonly<Record<string, Readonly<Record<number, Mapper>>>> = {
${[...byName].map(([name, models]) => `  ${name}: { ${models.join(', ')} },`).join('\n')}
};

/** The mapper of one event model, or undefined for an unknown name or version. */
export function mapperFor(eventName: string, eventVersion: number): ((e: unknown) => ${row}) | undefined {
  if (!Object.hasOwn(mappers, eventName)) return undefined;
  const models = mappers[eventName] as Readonly<Record<number, Mapper>>;
  return Object.hasOwn(models, eventVersion) ? (models[eventVersion] as (e: unknown) => ${row}) : undefined;
}
`,
    });
  }
  return files;
}
