/**
 * TypeScript types of every common shape and event model (json-schema-to-typescript), plus the
 * maps that tie `(event_name, event_version)` to its properties, wire and enriched event types.
 * Shared shapes are emitted once and referenced by name (`tsType`), never inlined per event.
 */
import { compile } from 'json-schema-to-typescript';
import { banner, type GeneratedFile, layout, propertiesTypeName } from '../layout.ts';
import { type JsonSchema, latestModels, type Registry } from '../registry.ts';
import { SchemaIndex } from '../schema-index.ts';

/** Replaces each `$ref` by the TypeScript name of the shape it points to. */
function refsToTypeNames(node: unknown, base: string, names: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => refsToTypeNames(n, base, names));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === 'string') {
    const target = SchemaIndex.target(obj.$ref, base);
    const tsType = names.get(target);
    if (!tsType) throw new Error(`no TypeScript type for ${target}`);
    return { tsType, ...(obj.description ? { description: obj.description } : {}) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = refsToTypeNames(v, base, names);
  return out;
}

async function toTs(schema: JsonSchema, base: string, name: string, names: Map<string, string>): Promise<string> {
  const { $id: _id, $schema: _s, 'x-owner': _o, ...rest } = schema;
  const prepared = { ...(refsToTypeNames(rest, base, names) as object), title: name };
  return compile(prepared as never, name, {
    bannerComment: '',
    format: false,
    additionalProperties: false,
    declareExternallyReferenced: true,
    strictIndexSignatures: true,
    unknownAny: true,
    enableConstEnums: false,
    inferStringEnumKeysFromValues: false,
    ignoreMinAndMaxItems: true,
    $refOptions: {},
  });
}

export async function generate(registry: Registry): Promise<GeneratedFile[]> {
  const names = new Map(registry.commons.map((c) => [c.id, c.typeName]));
  const parts: string[] = [];
  for (const c of registry.commons) parts.push(await toTs(c.schema, c.id, c.typeName, names));
  for (const e of registry.events) parts.push(await toTs(e.schema, e.id, propertiesTypeName(e), names));

  const byName = new Map<string, number[]>();
  for (const e of registry.events) byName.set(e.name, [...(byName.get(e.name) ?? []), e.model]);
  const map = [...byName]
    .map(
      ([name, models]) =>
        `  ${name}: { ${models.map((m) => `${m}: ${propertiesTypeName({ name, model: m })}`).join('; ')} };`,
    )
    .join('\n');
  const latest = latestModels(registry.events)
    .map((e) => `  ${e.name}: ${e.model};`)
    .join('\n');
  const env = registry.envelope.typeName;
  const enr = registry.enrichment.typeName;

  const contents = `${banner(['schemas/common/*.json', 'schemas/events/*/*.json'])}
${parts.join('\n')}

/** Properties type of every event model, by event name and model. */
export interface EventPropertiesMap {
${map}
}

/** The newest model of each event: what a tracker built today sends. */
export interface LatestEventVersion {
${latest}
}

export type EventName = keyof EventPropertiesMap;
export type EventVersion<N extends EventName> = keyof EventPropertiesMap[N] & number;

/** One event as the tracker sends it. */
export type WireEvent<N extends EventName, V extends EventVersion<N>> = Omit<${env}, 'event_name' | 'event_version' | 'properties'> & {
  event_name: N;
  event_version: V;
  properties: EventPropertiesMap[N][V];
};

/** One event after the ingest service added its fields: what the lake stores and the ETL maps. */
export type EnrichedEvent<N extends EventName, V extends EventVersion<N>> = WireEvent<N, V> & ${enr};

/** Any event model, as a union discriminated by event_name and event_version. */
export type AnyEnrichedEvent = { [N in EventName]: { [V in EventVersion<N>]: EnrichedEvent<N, V> }[EventVersion<N>] }[EventName];
`;
  return [{ path: layout.eventTypes, contents }];
}
