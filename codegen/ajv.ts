/**
 * The one place that configures ajv for event schemas. The loader, the standalone-validator
 * generator and the tests all build their instance here, so runtime and generated validators
 * apply the same dialect, formats and strictness.
 */
import { _, type Format, type Options } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import { fastFormats, fullFormats } from 'ajv-formats/dist/formats.js';
import { fastDateTimeFormat, isCanonicalUuid, isSchemeUri } from './formats.ts';
import { CUSTOM_KEYWORDS } from './vocabulary/annotations.ts';
import type { FormatName } from './vocabulary/string.ts';

/**
 * Formats the registry may use, and which implementation validates each: one of ajv-formats' two,
 * or `storable` (STORABLE_FORMATS below: narrowed to what the warehouse column stores).
 * `uri` uses the fast check (scheme + no whitespace): the full RFC 3986 regex was a third of
 * ingest's validation time, and page URLs only need to be plausible and bounded (maxLength).
 * `full+fast`: the full check behind a fast path (codegen/formats.ts). `uuid` and `uri` run as
 * the character loops of CHEAP_CHECKS, which accept the same strings as their regexes.
 * Runtime ajv and the generated validators both take their format functions from this table.
 */
export const FORMAT_MODES = {
  uuid: 'storable',
  'date-time': 'full+fast',
  date: 'full',
  uri: 'fast',
  email: 'full',
} as const satisfies Record<FormatName, 'full' | 'fast' | 'storable' | 'full+fast'>;

/**
 * Formats narrowed to the form the warehouse column stores, so that what the generated validators
 * accept at ingest the ETL can load. `uuid`: only the canonical 8-4-4-4-12 hex form (either case;
 * ingest stores it lower-cased) — ajv-formats' `uuid` also accepts `urn:uuid:<uuid>`, which
 * PostgreSQL's uuid input refuses: one such acknowledged event failed every later ETL run.
 * Regular expressions, so the generated runtime can spell them out.
 */
export const STORABLE_FORMATS: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i,
};

/** Loops equivalent to a mode's regex (codegen/formats.ts), by format name; the generated runtime names them. */
export const CHEAP_CHECKS: Record<string, { fn: (s: string) => boolean; name: string }> = {
  uuid: { fn: isCanonicalUuid, name: 'isCanonicalUuid' },
  uri: { fn: isSchemeUri, name: 'isSchemeUri' },
};

/** The format ajv gets for `name` under its FORMAT_MODES entry (the generated runtime builds the same). */
export function formatFor(name: keyof typeof FORMAT_MODES): Format {
  const mode = FORMAT_MODES[name] as string;
  const cheap = CHEAP_CHECKS[name];
  if (cheap) return cheap.fn;
  if (mode === 'storable') return STORABLE_FORMATS[name] as Format;
  if (mode === 'fast') return fastFormats[name] as Format;
  if (mode === 'full+fast') return fastDateTimeFormat(fullFormats[name]) as Format;
  return fullFormats[name] as Format;
}

export function createSchemaAjv(options: { standalone?: boolean } = {}): Ajv2020 {
  const opts: Options = {
    strict: true,
    allErrors: true,
    // Types like ["string", "null"] are part of our contract (nullable enrichment fields).
    allowUnionTypes: true,
  };
  if (options.standalone) {
    // Generated code imports the format table (built from FORMAT_MODES) instead of embedding it.
    opts.code = { source: true, esm: true, lines: true, formats: _`formats` };
  }
  const ajv = new Ajv2020(opts);
  for (const name of Object.keys(FORMAT_MODES) as (keyof typeof FORMAT_MODES)[]) ajv.addFormat(name, formatFor(name));
  for (const keyword of CUSTOM_KEYWORDS) ajv.addKeyword(keyword);
  return ajv;
}

/** An ajv for validating the registry's own files against the TypeBox meta-schema. */
export function createMetaAjv(): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true });
}
