/**
 * The ETL's lake-line validator. A lake line is the wire event the tracker sent plus the fields
 * ingest added (schemas/common/enrichment.json). The wire validators (validators.ts) reject
 * unknown properties, so a line is split: its wire part goes through the validator of its event
 * model, its enrichment part through the enrichment schema's own ajv standalone validator, which
 * this generator writes next to the others. The ETL compiles no schema at run time and imports
 * nothing from codegen/.
 */
import standaloneCode from 'ajv/dist/standalone/index.js';
import { createSchemaAjv } from '../ajv.ts';
import { banner, type GeneratedFile, importPath, layout } from '../layout.ts';
import type { JsonSchema, Registry } from '../registry.ts';
import { bindRuntimeRequires, runtimeImport } from './validators.ts';

/** ajv standalone code of `schema` as an ES module importing its helpers from the validators' runtime. */
function standaloneModule(path: string, schema: JsonSchema, commons: JsonSchema[], source: string): string {
  const ajv = createSchemaAjv({ standalone: true });
  for (const c of commons) ajv.addSchema(c);
  const { code, used } = bindRuntimeRequires(standaloneCode(ajv, ajv.compile(schema)), source);
  const imports = runtimeImport(path, used);
  return `${banner([source])}// @ts-nocheck — ajv standalone output; typed through ${layout.lakeLineValidator}.\n${imports}${code.replace(/^"use strict";/, '')}\n`;
}

export function generate(registry: Registry): GeneratedFile[] {
  const enrichment = registry.enrichment;
  const source = 'schemas/common/enrichment.json';
  const others = registry.commons.filter((c) => c.id !== enrichment.id).map((c) => c.schema);
  const fields = Object.keys(enrichment.schema.properties ?? {});
  const path = layout.lakeLineValidator;
  return [
    {
      path: layout.enrichmentValidator,
      format: false,
      contents: standaloneModule(layout.enrichmentValidator, enrichment.schema, others, source),
    },
    {
      path,
      contents: `${banner([source, 'schemas/events/*/*.json'])}
import validateEnrichmentCode from '${importPath(path, layout.enrichmentValidator)}';
import { type EventValidator, type ValidationError, validatorFor } from '${importPath(path, layout.validatorIndex)}';

/** The fields ingest adds to every accepted event; the rest of a lake line is the wire event. */
export const ENRICHMENT_FIELDS: ReadonlySet<string> = new Set(${JSON.stringify(fields)});

/** The enrichment schema's validator; \`errors\` holds the last failures. */
export const validateEnrichment: EventValidator = validateEnrichmentCode;

/**
 * Validates one lake line (a parsed JSON object): its wire part with the generated validator of
 * its event model, its enrichment part with the enrichment schema. Undefined when the line names
 * no known event model; otherwise its failures, wire ones first (empty: the line is valid).
 */
export function validateLakeLine(line: Record<string, unknown>): ValidationError[] | undefined {
  const { event_name: name, event_version: version } = line;
  const validateWire = typeof name === 'string' && typeof version === 'number' ? validatorFor(name, version) : undefined;
  if (!validateWire) return undefined;
  const wire: Record<string, unknown> = {};
  const enrichment: Record<string, unknown> = {};
  for (const key in line) {
    if (ENRICHMENT_FIELDS.has(key)) enrichment[key] = line[key];
    else wire[key] = line[key];
  }
  const errors: ValidationError[] = [];
  if (!validateWire(wire)) errors.push(...(validateWire.errors ?? []));
  if (!validateEnrichment(enrichment)) errors.push(...(validateEnrichment.errors ?? []));
  return errors;
}
`,
    },
  ];
}
