/**
 * The Registry model: everything under `schemas/`, loaded once and validated (see load.ts).
 * Generators and the compatibility checker read only this model, never the files.
 *
 * Words, used in one sense each in hand-written code:
 * - envelope: the fields every wire event carries (`schemas/common/envelope.json`); never the
 *   request body (that is the batch `{ sent_at, events }`; the public error code
 *   `invalid_envelope` keeps its name).
 * - model: one numbered schema of an event (`schemas/events/<name>/<model>.json`). On the wire
 *   and in generated public names it is spelled `event_version` / `EventVersion`, which stay.
 */
import type { SchemaNode, WarehouseColumn } from './meta-schema.ts';
import type { SchemaIndex } from './schema-index.ts';
import type { SqlType } from './sql-types.ts';

export type JsonSchema = SchemaNode & {
  $schema?: string;
  $id?: string;
  'x-owner'?: string;
};

export interface CommonShape {
  /** Absolute `$id` of the file. */
  id: string;
  /** Path relative to the repository root, e.g. `schemas/common/product.json`. */
  file: string;
  /** TypeScript type name (the schema's title), e.g. `Product`. */
  typeName: string;
  schema: JsonSchema;
}

export interface EventModel {
  name: string;
  model: number;
  id: string;
  file: string;
  title: string;
  description: string;
  owner: string;
  deprecated: boolean;
  /** The file as written: describes the event's `properties` object. */
  schema: JsonSchema;
}

export interface Column extends Omit<WarehouseColumn, 'type' | 'source'> {
  name: string;
  type: SqlType;
  /** JSON pointers into the enriched event, tried in order; the first one an event has wins. */
  sources: string[];
}

export interface WarehouseTable {
  name: string;
  id: string;
  file: string;
  description: string;
  owner: string;
  columns: Column[];
  primaryKey: string[];
  timeColumn?: string;
  indexes: { name: string; columns: string[]; unique: boolean }[];
}

/** How one column is filled for one event model. */
export interface ColumnMapping {
  column: string;
  /** The pointer used, or null when the event has none of the column's sources. */
  pointer: string | null;
  /** For each pointer segment: whether the schema guarantees it is present. */
  segmentsRequired: boolean[];
}

export interface EventMapping {
  table: string;
  event: string;
  model: number;
  columns: ColumnMapping[];
}

export interface Registry {
  commons: CommonShape[];
  envelope: CommonShape;
  enrichment: CommonShape;
  events: EventModel[];
  tables: WarehouseTable[];
  /** Column mappings of every event model into every table that declares sources. */
  mappings: EventMapping[];
  /**
   * The commons and events by `$id`, as the loader built it. A registry edited after loading
   * (a test's copy) needs a fresh one: `SchemaIndex.of(registry)`.
   */
  index: SchemaIndex;
}

export const eventKey = (e: { name: string; model: number }) => `${e.name}@${e.model}`;

/** The newest model of each event, in the registry's event order (by name). */
export function latestModels(events: readonly EventModel[]): EventModel[] {
  const latest = new Map<string, EventModel>();
  for (const e of events) {
    const seen = latest.get(e.name);
    if (!seen || e.model > seen.model) latest.set(e.name, e);
  }
  return [...latest.values()];
}
