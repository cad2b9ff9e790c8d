/**
 * Ingest validators: ajv standalone ESM code, one module per event model, validating the whole
 * wire event (envelope + properties). No schema is compiled at run time, and the modules import
 * nothing from ajv, so they also bundle for the browser (the tracker's debug mode).
 */
import standaloneCode from 'ajv/dist/standalone/index.js';
import { createSchemaAjv, FORMAT_MODES, STORABLE_FORMATS } from '../ajv.ts';
import { banner, type GeneratedFile, importPath, layout } from '../layout.ts';
import type { JsonSchema, Registry } from '../registry.ts';
import { wireSchema } from '../wire.ts';

/** ajv's standalone output `require`s these runtime helpers; we bind them to local imports. */
const RUNTIME_REQUIRES: Record<string, string> = {
  'require("ajv/dist/runtime/ucs2length").default': 'ucs2length',
  'require("ajv/dist/runtime/equal").default': 'equal',
};

/** Keywords that only document a schema: stripped before compiling, so validators stay small. */
const ANNOTATIONS = new Set(['description', 'title', 'examples', 'deprecated', 'x-owner', 'x-pii', '$comment']);

function stripAnnotations(node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((n) => stripAnnotations(n));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    // Inside `properties` the keys are property names (a property may be called "title").
    if (!inProperties && ANNOTATIONS.has(k)) continue;
    out[k] = stripAnnotations(v, !inProperties && k === 'properties');
  }
  return out;
}

const RUNTIME = `${banner(['codegen/generators/validators.ts', 'codegen/ajv.ts'])}
import { fastFormats, fullFormats } from 'ajv-formats/dist/formats.js';

/** Format functions by name, as FORMAT_MODES in codegen/ajv.ts chooses them. */
export const formats = {
${Object.entries(FORMAT_MODES)
  .map(
    ([name, mode]) =>
      `  '${name}': ${mode === 'storable' ? String(STORABLE_FORMATS[name]) : `${mode}Formats['${name}']`},`,
  )
  .join('\n')}
};

/**
 * Length in Unicode code points, as JSON Schema's maxLength counts (and as PostgreSQL varchar does).
 * A charCodeAt loop: several times faster than iterating the string.
 */
export function ucs2length(str: string): number {
  const len = str.length;
  let length = 0;
  let pos = 0;
  while (pos < len) {
    length++;
    const code = str.charCodeAt(pos++);
    // A high surrogate followed by a low one is one code point.
    if (code >= 0xd800 && code <= 0xdbff && pos < len && (str.charCodeAt(pos) & 0xfc00) === 0xdc00) pos++;
  }
  return length;
}

/** Structural equality for enum/const/uniqueItems checks on JSON values. */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
`;

export function generate(registry: Registry): GeneratedFile[] {
  const commons = registry.commons.map((c) => stripAnnotations(c.schema) as JsonSchema);

  const files: GeneratedFile[] = [{ path: layout.validatorRuntime, contents: RUNTIME }];
  for (const e of registry.events) {
    const path = layout.validator(e);
    let code: string;
    try {
      // A fresh ajv per model: ajv numbers its functions per instance, so with a shared one a new
      // event would renumber (and rewrite) every other event's validator file.
      const ajv = createSchemaAjv({ standalone: true });
      for (const c of commons) ajv.addSchema(c);
      ajv.addSchema(stripAnnotations(e.schema) as JsonSchema);
      code = standaloneCode(ajv, ajv.compile(stripAnnotations(wireSchema(registry, e)) as JsonSchema));
    } catch (err) {
      throw new Error(`${e.file}: ajv cannot compile the schema: ${(err as Error).message}`);
    }
    const used = new Set<string>();
    for (const [req, name] of Object.entries(RUNTIME_REQUIRES)) {
      if (code.includes(req)) {
        code = code.split(req).join(name);
        used.add(name);
      }
    }
    const leftover = /require\([^)]*\)/.exec(code);
    if (leftover) throw new Error(`${e.file}: standalone validator needs an unsupported runtime import ${leftover[0]}`);
    if (/\bformats[.[]/.test(code)) used.add('formats');
    const imports = used.size
      ? [`import { ${[...used].sort().join(', ')} } from '${importPath(path, layout.validatorRuntime)}';`]
      : [];
    files.push({
      path,
      format: false,
      contents: `${banner([e.file, 'schemas/common/*.json'])}// @ts-nocheck — ajv standalone output; typed through ${layout.validatorIndex}.\n${imports.join('\n')}\n${code.replace(/^"use strict";/, '')}\n`,
    });
  }

  const entries = registry.events.map((e) => ({ e, ident: `${e.name}_v${e.model}` }));
  const byName = new Map<string, string[]>();
  for (const { e, ident } of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), `${e.model}: ${ident}`]);
  files.push({
    path: layout.validatorIndex,
    contents: `${banner(['schemas/events/*/*.json'])}
${entries.map(({ e, ident }) => `import ${ident} from '${importPath(layout.validatorIndex, layout.validator(e))}';`).join('\n')}

/** One validation failure, as ajv reports it. */
export interface ValidationError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A generated validator of one event model's wire event; \`errors\` holds the last failures. */
export interface EventValidator {
  (data: unknown): boolean;
  errors?: ValidationError[] | null;
}

/** Dispatch table: event_name → event_version → validator. */
export const validators: Readonly<Record<string, Readonly<Record<number, EventValidator>>>> = {
${[...byName].map(([name, models]) => `  ${name}: { ${models.join(', ')} },`).join('\n')}
};

/** The validator of one event model, or undefined for an unknown name or version. */
export function validatorFor(eventName: string, eventVersion: number): EventValidator | undefined {
  if (!Object.hasOwn(validators, eventName)) return undefined;
  const models = validators[eventName] as Readonly<Record<number, EventValidator>>;
  return Object.hasOwn(models, eventVersion) ? models[eventVersion] : undefined;
}
`,
  });
  return files;
}
