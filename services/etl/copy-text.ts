/**
 * PostgreSQL COPY text format: one line per row, columns separated by a tab, `\N` for NULL, and
 * backslash, tab, newline and carriage return escaped. Cheaper to produce and to parse than CSV.
 */
import { type ClickstreamEventsRow, clickstreamEventsColumns } from '../../generated/db/schema.ts';

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] as string) : s;
}

export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  switch (typeof value) {
    case 'string':
      return escapeText(value);
    case 'boolean':
      return value ? 't' : 'f';
    case 'number':
    case 'bigint':
      return String(value);
    default:
      // jsonb columns
      return escapeText(JSON.stringify(value));
  }
}

/** The COPY text line (with `\n`) of a fact row preceded by `prefix` columns (e.g. the source object). */
export function copyLine(row: ClickstreamEventsRow, prefix: string): string {
  let out = prefix;
  for (const column of clickstreamEventsColumns) out += `\t${copyField(row[column])}`;
  return `${out}\n`;
}
