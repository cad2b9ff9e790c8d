/**
 * One lake line → one fact-table row, or the reasons it cannot be loaded.
 *
 * A lake line is an enriched event: the wire event the tracker sent plus the fields the ingest
 * service added. The generated validators describe the WIRE event (with additionalProperties:
 * false), so the line is split: the wire part goes through the generated validator of its
 * (event_name, event_version), and the server part through the generated validator of
 * schemas/common/enrichment.json (generated/validators/lake-line.ts does both). Both must pass
 * before the generated mapper runs:
 * the lake is the source of truth, but a line written by an older or buggy writer must not poison
 * the warehouse.
 */

import type { ClickstreamEventsRow } from '../../generated/db/schema.ts';
import { mapperFor } from '../../generated/mappers/clickstream_events.ts';
import type { ValidationError } from '../../generated/validators/index.ts';
import { validateLakeLine } from '../../generated/validators/lake-line.ts';
import { findUnstorable, mayHoldUnstorable } from '../storable.ts';

export interface LineError {
  /** JSON pointer into the line, '' for the whole line. */
  path: string;
  /**
   * Stable machine-readable rule: `json`, `type`, `unknown_event_version`, `unstorable_character`,
   * an ajv keyword, or one of the load's rules (lake/line-reader.ts, etl/copy-rows.ts).
   */
  rule: string;
  message: string;
}

export type MappedLine = { ok: true; row: ClickstreamEventsRow } | { ok: false; errors: LineError[] };

function fromAjv(errors: ValidationError[] | null | undefined, prefix = ''): LineError[] {
  return (errors ?? []).map((e) => ({
    path: prefix + e.instancePath,
    rule: e.keyword,
    message: e.message ?? e.keyword,
  }));
}

/**
 * Parses, validates and maps one line. `line` is decoded from UTF-8 (the lake's encoding), so it
 * cannot hold a raw lone surrogate.
 */
export function validateAndMapLine(line: string): MappedLine {
  return mapLine(line, true);
}

/**
 * Like validateAndMapLine but without the schema validation, for a line of an object that ingest
 * wrote after validating it with the validators of this build (the object's registry hash equals
 * REGISTRY_HASH, docs/etl.md): the line is still parsed, must still be an object naming a known
 * event model and hold nothing unstorable — only the generated validators are not run again.
 */
export function mapValidatedLine(line: string): MappedLine {
  return mapLine(line, false);
}

function mapLine(line: string, validate: boolean): MappedLine {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch (err) {
    return { ok: false, errors: [{ path: '', rule: 'json', message: (err as Error).message }] };
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { ok: false, errors: [{ path: '', rule: 'type', message: 'line is not a JSON object' }] };
  }
  const record = event as Record<string, unknown>;
  const { event_name: name, event_version: version } = record;
  const failures = validate ? validateLakeLine(record) : [];
  const map = typeof name === 'string' && typeof version === 'number' ? mapperFor(name, version) : undefined;
  if (!failures || !map) {
    return {
      ok: false,
      errors: [
        {
          path: '/event_version',
          rule: 'unknown_event_version',
          message: `no schema for event ${JSON.stringify(name)} version ${JSON.stringify(version)}`,
        },
      ],
    };
  }
  if (failures.length) return { ok: false, errors: fromAjv(failures) };
  // The same storability rule ingest applies before it acknowledges an event.
  const unstorable = mayHoldUnstorable(line, true) ? findUnstorable(record) : undefined;
  if (unstorable) return { ok: false, errors: [unstorable] };
  return { ok: true, row: map(record) };
}
