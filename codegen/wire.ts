/**
 * The wire schema of one event model: the shared envelope with `event_name` and `event_version`
 * pinned and `properties` replaced by the event's own schema. Ingest validates whole events
 * against it; it is derived, never written by hand.
 */
import { SCHEMA_BASE_URI } from './meta-schema.ts';
import type { EventModel, JsonSchema, Registry } from './registry.ts';
import { SchemaIndex } from './schema-index.ts';

export const wireSchemaId = (e: Pick<EventModel, 'name' | 'model'>) =>
  `${SCHEMA_BASE_URI}wire/${e.name}/${e.model}.json`;

/** Deep copy with every `$ref` made absolute, so the copy can live under another `$id`. */
function absolutizeRefs(node: unknown, base: string): unknown {
  if (Array.isArray(node)) return node.map((n) => absolutizeRefs(n, base));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' ? SchemaIndex.target(v, base) : absolutizeRefs(v, base);
  }
  return out;
}

export function wireSchema(registry: Pick<Registry, 'envelope'>, event: EventModel): JsonSchema {
  const {
    $id: _id,
    title: _title,
    'x-owner': _owner,
    ...envelope
  } = absolutizeRefs(registry.envelope.schema, registry.envelope.id) as JsonSchema;
  const props = envelope.properties ?? {};
  return {
    ...envelope,
    $id: wireSchemaId(event),
    description: `${event.name} v${event.model} as sent by the tracker: ${event.description}`,
    properties: {
      ...props,
      event_name: { ...props.event_name, const: event.name },
      event_version: { ...props.event_version, const: event.model },
      properties: { $ref: event.id, description: props.properties?.description },
    },
  };
}
