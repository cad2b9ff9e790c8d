/**
 * The one mapping and fit engine: which event field fills each warehouse column, and whether it
 * fits. The loader turns its issues into registry problems (codegen refuses a registry that does
 * not fit) and keeps the mappings for the mapper generator; the compatibility checker reports the
 * same issues as findings of a change.
 */
import type {
  Column,
  ColumnMapping,
  EventMapping,
  EventModel,
  JsonSchema,
  Registry,
  WarehouseTable,
} from './registry.ts';
import type { Located, SchemaIndex } from './schema-index.ts';
import { describeShape, type ValueShape, whyNotFit } from './sql-types.ts';

/** Rule ids as the compatibility checker names them (a subset of its `RuleId`). */
export type MappingRule = 'WAREHOUSE_FIELD_DOES_NOT_FIT' | 'WAREHOUSE_FIELD_MAY_BE_MISSING' | 'WAREHOUSE_SOURCE_UNUSED';

export interface MappingIssue {
  rule: MappingRule;
  /** The event model concerned; null for a source no event has. */
  event: EventModel | null;
  column: Column;
  /** The source pointer: the one used, the unused one, or null when the event has none. */
  source: string | null;
  /** Position of `source` in the column's sources (for WAREHOUSE_SOURCE_UNUSED). */
  sourceIndex?: number;
  /** The field the source resolved to (absent when the event has none of the sources). */
  field?: Located;
  /** Why the field does not fit (WAREHOUSE_FIELD_DOES_NOT_FIT). */
  why?: string;
  shape?: ValueShape;
  /** The event-independent description, e.g. `add_to_cart v1 field /x is … but column t.c is …`. */
  message: string;
}

type Holders = Pick<Registry, 'envelope' | 'enrichment'>;

/**
 * Resolves a pointer into the enriched event of one model: the wire envelope, the server's
 * enrichment and, under `/properties`, the event's own schema.
 */
export function resolveEventPointer(
  index: SchemaIndex,
  registry: Holders,
  event: EventModel,
  pointer: string,
): { located: Located; segmentsRequired: boolean[] } | undefined {
  const [first, ...rest] = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (first === undefined) return undefined;
  let located: Located;
  let required: boolean;
  if (first === 'properties') {
    located = { node: event.schema, base: event.id };
    required = true;
  } else {
    const holder = [registry.envelope, registry.enrichment].find((c) =>
      Object.hasOwn(c.schema.properties ?? {}, first),
    );
    if (!holder) return undefined;
    located = { node: holder.schema.properties?.[first] as JsonSchema, base: holder.id };
    required = (holder.schema.required ?? []).includes(first);
  }
  const segmentsRequired = [required];
  for (const segment of rest) {
    const next = index.child(located, segment);
    if (!next) return undefined;
    located = next.located;
    segmentsRequired.push(next.required);
  }
  return { located, segmentsRequired };
}

/**
 * Maps every event model of `registry` into `table`: for each column with sources, the first
 * source the event has. Issues: a field whose values the column cannot store, a field that may be
 * missing for a NOT NULL column without default, and a source no event has. A table without
 * sourced columns maps nothing.
 */
export function mapTable(
  index: SchemaIndex,
  registry: Holders & Pick<Registry, 'events'>,
  table: WarehouseTable,
): { mappings: EventMapping[]; issues: MappingIssue[] } {
  const issues: MappingIssue[] = [];
  const mappings: EventMapping[] = [];
  if (!table.columns.some((c) => c.sources.length > 0)) return { mappings, issues };
  const used = new Set<string>();
  const target = (column: Column) => `column ${table.name}.${column.name}`;
  const required = (column: Column) => !column.nullable && column.default === undefined;
  for (const event of registry.events) {
    const columns: ColumnMapping[] = [];
    const model = `${event.name} v${event.model}`;
    for (const column of table.columns) {
      if (column.sources.length === 0) continue;
      let found: ColumnMapping | undefined;
      for (const pointer of column.sources) {
        const hit = resolveEventPointer(index, registry, event, pointer);
        if (!hit) continue;
        used.add(pointer);
        found = { column: column.name, pointer, segmentsRequired: hit.segmentsRequired };
        const shape = index.shape(hit.located);
        const field = { event, column, source: pointer, field: hit.located, shape };
        const why = whyNotFit(shape, column.type);
        if (why)
          issues.push({
            rule: 'WAREHOUSE_FIELD_DOES_NOT_FIT',
            ...field,
            why,
            message: `${model} field ${pointer} is ${describeShape(shape)} but ${target(column)} is ${column.type.sql}: ${why}`,
          });
        const mayBeAbsent = hit.segmentsRequired.includes(false) || shape.types.has('null');
        if (mayBeAbsent && required(column))
          issues.push({
            rule: 'WAREHOUSE_FIELD_MAY_BE_MISSING',
            ...field,
            message: `${model} field ${pointer} may be absent or null but ${target(column)} is NOT NULL without a default`,
          });
        break;
      }
      if (!found) {
        if (required(column))
          issues.push({
            rule: 'WAREHOUSE_FIELD_MAY_BE_MISSING',
            event,
            column,
            source: null,
            message: `${model} has none of ${column.sources.join(', ')} but ${target(column)} is NOT NULL without a default`,
          });
        found = { column: column.name, pointer: null, segmentsRequired: [] };
      }
      columns.push(found);
    }
    mappings.push({ table: table.name, event: event.name, model: event.model, columns });
  }
  if (registry.events.length > 0)
    for (const column of table.columns)
      column.sources.forEach((pointer, i) => {
        if (!used.has(pointer))
          issues.push({
            rule: 'WAREHOUSE_SOURCE_UNUSED',
            event: null,
            column,
            source: pointer,
            sourceIndex: i,
            message: `${target(column)} reads ${pointer}, which no event model has`,
          });
      });
  return { mappings, issues };
}
