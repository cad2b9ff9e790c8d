/**
 * The one place that configures ajv for event schemas. The loader, the standalone-validator
 * generator and the tests all build their instance here, so runtime and generated validators
 * apply the same dialect, formats and strictness.
 */
import { _, type Options } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

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
    // Generated code imports the format functions by name instead of embedding them.
    opts.code = { source: true, esm: true, lines: true, formats: _`fullFormats` };
  }
  const ajv = new Ajv2020(opts);
  addFormats(ajv, ['uuid', 'date-time', 'date', 'uri', 'email']);
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword(keyword);
  return ajv;
}

/** An ajv for validating the registry's own files against the TypeBox meta-schema. */
export function createMetaAjv(): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true });
}
