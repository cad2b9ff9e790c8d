/**
 * The one place that configures ajv for event schemas. The loader, the standalone-validator
 * generator and the tests all build their instance here, so runtime and generated validators
 * apply the same dialect, formats and strictness.
 */
import { _, type Format, type Options } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import { fastFormats, fullFormats } from 'ajv-formats/dist/formats.js';

/**
 * Formats the registry may use, and which of ajv-formats' two implementations validates each.
 * `uri` uses the fast check (scheme + no whitespace): the full RFC 3986 regex was a third of
 * ingest's validation time, and page URLs only need to be plausible and bounded (maxLength).
 * Runtime ajv and the generated validators both take their format functions from this table.
 */
export const FORMAT_MODES = {
  uuid: 'full',
  'date-time': 'full',
  date: 'full',
  uri: 'fast',
  email: 'full',
} as const satisfies Record<string, 'full' | 'fast'>;

/** Annotation keywords of ours that ajv must accept (strict mode rejects unknown keywords). */
export const ANNOTATION_KEYWORDS = ['x-owner', 'x-pii'] as const;

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
  for (const [name, mode] of Object.entries(FORMAT_MODES)) {
    const table = mode === 'fast' ? fastFormats : fullFormats;
    ajv.addFormat(name, table[name as keyof typeof table] as Format);
  }
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword(keyword);
  return ajv;
}

/** An ajv for validating the registry's own files against the TypeBox meta-schema. */
export function createMetaAjv(): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true });
}
