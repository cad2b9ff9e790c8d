/**
 * The typed tracker API: one function per event (its newest model), so a missing or mistyped
 * property is a compile error in the shop's code, not a quarantined event in the lake.
 */
import { banner, byCodeUnit, camel, type GeneratedFile, importPath, layout, propertiesTypeName } from '../layout.ts';
import { type EventModel, latestModels, type Registry } from '../registry.ts';

/** True when an empty object satisfies the event's properties. */
const allOptional = (e: EventModel) => (e.schema.required ?? []).length === 0;

export function generate(registry: Registry): GeneratedFile[] {
  const events = latestModels(registry.events).sort((a, b) => byCodeUnit(a.name, b.name));
  const typesImport = importPath(layout.trackerApi, layout.eventTypes);
  const fns = events
    .map((e) => {
      const param = allOptional(e)
        ? `properties: ${propertiesTypeName(e)} = {}`
        : `properties: ${propertiesTypeName(e)}`;
      const doc = `${e.description}${e.deprecated ? '\n     * @deprecated this event model is deprecated.' : ''}\n     * Schema: ${e.file}`;
      return `    /**\n     * ${doc}\n     */\n    ${camel(e.name)}: (${param}): void => track('${e.name}', ${e.model}, properties),`;
    })
    .join('\n');
  const contents = `${banner(['schemas/events/*/*.json'])}
import type {
${['EventName', 'EventPropertiesMap', 'EventVersion', ...events.map(propertiesTypeName)].map((n) => `  ${n},`).join('\n')}
} from '${typesImport}';

/** The core's low-level track call that the typed API delegates to. */
export type TrackFn = <N extends EventName, V extends EventVersion<N>>(
  eventName: N,
  eventVersion: V,
  properties: EventPropertiesMap[N][V],
) => void;

/** The event models the typed API sends: the newest model of each event. */
export const trackedEventModels = {
${events.map((e) => `  ${e.name}: ${e.model},`).join('\n')}
} as const;

/** Builds the typed API over a tracker core's \`track\`. */
export function createEventApi(track: TrackFn) {
  return {
${fns}
  };
}

export type EventApi = ReturnType<typeof createEventApi>;
`;
  return [{ path: layout.trackerApi, contents, format: false }];
}
