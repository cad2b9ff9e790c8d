/**
 * Ingest validators: ajv standalone ESM code, one module per event model, validating the whole
 * wire event (envelope + properties). No schema is compiled at run time, and the modules import
 * nothing from ajv, so they also bundle for the browser (the tracker's debug mode).
 */
import { readFileSync } from 'node:fs';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { CHEAP_CHECKS, createSchemaAjv, FORMAT_MODES, STORABLE_FORMATS } from '../ajv.ts';
import { banner, type GeneratedFile, importPath, layout } from '../layout.ts';
import { SCHEMA_BASE_URI } from '../meta-schema.ts';
import type { JsonSchema, Registry } from '../registry.ts';
import { STRIPPED_BEFORE_COMPILING } from '../vocabulary/annotations.ts';
import { wireSchema } from '../wire.ts';

/** ajv's standalone output `require`s these runtime helpers; we bind them to local imports. */
const RUNTIME_REQUIRES: Record<string, string> = {
  'require("ajv/dist/runtime/ucs2length").default': 'ucs2length',
  'require("ajv/dist/runtime/equal").default': 'equal',
};

/** Keywords that only document a schema: stripped before compiling, so validators stay small. */
const ANNOTATIONS = new Set(STRIPPED_BEFORE_COMPILING);

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

/**
 * The format checks of codegen/formats.ts, copied into the generated runtime (which imports
 * nothing but ajv-formats, so generated/ stands alone); the file has no imports by design.
 */
const FORMATS_SOURCE = readFileSync(new URL('../formats.ts', import.meta.url), 'utf8');

const RUNTIME = `${banner(['codegen/generators/validators.ts', 'codegen/ajv.ts', 'codegen/formats.ts'])}
import { ${[
  ...new Set(
    Object.entries(FORMAT_MODES)
      .filter(([n]) => !CHEAP_CHECKS[n])
      .map(([, m]) => (m === 'fast' ? 'fastFormats' : 'fullFormats')),
  ),
]
  .sort()
  .join(', ')} } from 'ajv-formats/dist/formats.js';

${FORMATS_SOURCE.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, '').trim()}

/** Format functions by name, as FORMAT_MODES in codegen/ajv.ts chooses them. */
export const formats = {
${Object.entries(FORMAT_MODES)
  .map(([name, mode]) => {
    const spelled = CHEAP_CHECKS[name]
      ? CHEAP_CHECKS[name].name
      : mode === 'storable'
        ? String(STORABLE_FORMATS[name])
        : mode === 'full+fast'
          ? `fastDateTimeFormat(fullFormats['${name}'])`
          : `${mode}Formats['${name}']`;
    return `  '${name}': ${spelled},`;
  })
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

/**
 * Placeholders for the pinned `event_name` / `event_version` consts while compiling the shared
 * envelope; the generated code takes them as the factory's parameters instead.
 */
const NAME_PLACEHOLDER = '__envelope_event_name__';
const VERSION_PLACEHOLDER = 987654321;

/**
 * ajv standalone output with its runtime `require`s replaced by the `_runtime.ts` helpers they
 * name, and which helpers (and whether `formats`) the code now uses. Shared with the lake-line
 * generator's enrichment validator.
 */
export function bindRuntimeRequires(standalone: string, source?: string): { code: string; used: Set<string> } {
  let code = standalone;
  const used = new Set<string>();
  for (const [req, name] of Object.entries(RUNTIME_REQUIRES)) {
    if (code.includes(req)) {
      code = code.split(req).join(name);
      used.add(name);
    }
  }
  const leftover = /require\([^)]*\)/.exec(code);
  if (leftover) {
    throw new Error(
      `${source ? `${source}: ` : ''}standalone validator needs an unsupported runtime import ${leftover[0]}`,
    );
  }
  if (/\bformats[.[]/.test(code)) used.add('formats');
  return { code, used };
}

/** The parts of an ajv instance that compiling a schema changes (ajv 8's own fields). */
interface AjvState {
  scope: {
    _names: Record<string, { prefix: string; index: number }>;
    _values: Record<string, Map<unknown, unknown>>;
    _scope: Record<string, unknown[]>;
  };
  refs: Record<string, unknown>;
  schemas: Record<string, unknown>;
  _cache: Map<unknown, unknown>;
}

function copyState(from: AjvState, to: AjvState): void {
  to.scope._names = Object.fromEntries(Object.entries(from.scope._names).map(([k, g]) => [k, { ...g }]));
  to.scope._values = Object.fromEntries(Object.entries(from.scope._values).map(([k, m]) => [k, new Map(m)]));
  to.scope._scope = Object.fromEntries(Object.entries(from.scope._scope).map(([k, a]) => [k, [...a]]));
  to.refs = { ...from.refs };
  to.schemas = { ...from.schemas };
  to._cache = new Map(from._cache);
}

/**
 * ajv instances for standalone code, each as if new. A new instance compiles the JSON Schema
 * 2020-12 meta-schema the first time it validates a schema — 85% of the time of a standalone
 * module — and that compile numbers ajv's functions and values, which the code spells out. So one
 * instance compiles it once, and before each module gets back what it held right after (name
 * counters, values, registered schemas): the same state, hence the same code, as a new instance.
 * The first modules of a run are also compiled on new instances and compared; on any difference
 * (an ajv whose internals moved) every module is compiled on a new instance.
 */
export class StandaloneAjv {
  private readonly ajv = createSchemaAjv({ standalone: true });
  private readonly initial: AjvState;
  private checked = 0;
  private trusted = true;

  constructor(commons: JsonSchema[]) {
    this.ajv.validateSchema(commons[0] ?? {}, true); // compiles the meta-schema, as a new instance's first addSchema does
    this.initial = {} as AjvState;
    const own = this.ajv as unknown as AjvState;
    this.initial.scope = {} as AjvState['scope'];
    copyState(own, this.initial);
  }

  /** False once a check found a difference: every module since was compiled on a new instance. */
  get reusing(): boolean {
    return this.trusted;
  }

  compile(commons: JsonSchema[], schema: JsonSchema, extra: JsonSchema[]): string {
    const fresh = () => standaloneWith(createSchemaAjv({ standalone: true }), commons, schema, extra);
    if (!this.trusted) return fresh();
    copyState(this.initial, this.ajv as unknown as AjvState);
    const code = standaloneWith(this.ajv, commons, schema, extra);
    if (this.checked < 2) {
      this.checked++;
      const expected = fresh();
      if (code !== expected) {
        this.trusted = false;
        return expected;
      }
    }
    return code;
  }
}

export function standaloneWith(
  ajv: ReturnType<typeof createSchemaAjv>,
  commons: JsonSchema[],
  schema: JsonSchema,
  extra: JsonSchema[],
): string {
  for (const c of commons) ajv.addSchema(c);
  for (const x of extra) ajv.addSchema(x);
  return standaloneCode(ajv, ajv.compile(schema));
}

/** ajv standalone code for `schema`, with its runtime requires bound to `_runtime.ts` imports. */
function compileStandalone(
  instances: StandaloneAjv,
  commons: JsonSchema[],
  schema: JsonSchema,
  extra: JsonSchema[],
): { code: string; root: string; used: Set<string> } {
  // As if on a fresh ajv per module: ajv numbers its functions per instance, so with a shared one
  // a new event would renumber (and rewrite) every other event's validator file.
  const bound = bindRuntimeRequires(instances.compile(commons, schema, extra));
  const used = bound.used;
  let code = cheapLengthChecks(bound.code);
  const root = /^export default (validate\d+);$/m.exec(code)?.[1];
  if (!root) throw new Error('ajv standalone output has no default export');
  code = code
    .replace(/^"use strict";/, '')
    .replace(/^export const validate = validate\d+;\n/m, '')
    .replace(/^export default validate\d+;\n/m, '');
  return { code, root, used };
}

/**
 * ajv counts code points for every maxLength/minLength (`ucs2length(s) > N`). A string never has
 * more code points than UTF-16 units, nor fewer than half of them, so the count is only needed
 * when `s.length` alone cannot decide: `s.length > N && ucs2length(s) > N` for maxLength,
 * `s.length < N || (s.length < 2N && ucs2length(s) < N)` for minLength. Same verdicts, and the
 * common case (an ASCII string within bounds) costs a length read.
 */
function cheapLengthChecks(code: string): string {
  const fn = /^const (func\d+) = ucs2length;$/m.exec(code)?.[1];
  if (!fn) return code;
  const out = code
    .replace(
      new RegExp(`\\b${fn}\\((data\\d*)\\) > (\\d+)`, 'g'),
      (_m, d: string, n: string) => `${d}.length > ${n} && ${fn}(${d}) > ${n}`,
    )
    .replace(
      new RegExp(`\\b${fn}\\((data\\d*)\\) < (\\d+)`, 'g'),
      (_m, d: string, n: string) => `(${d}.length < ${n} || (${d}.length < ${2 * Number(n)} && ${fn}(${d}) < ${n}))`,
    );
  return out;
}

/** The import of the `_runtime.ts` helpers `used`, from the generated file `from`. */
export function runtimeImport(from: string, used: Set<string>): string {
  return used.size
    ? `import { ${[...used].sort().join(', ')} } from '${importPath(from, layout.validatorRuntime)}';\n`
    : '';
}

/**
 * The envelope is validated by one shared module: a factory that takes the model's pinned
 * `event_name` and `event_version` and returns ajv's validator of the wire event with
 * `properties` left open. Each event module adds only its `properties` validator, so an event
 * costs its own schema's code and not another copy of the envelope (and page) checks.
 * Errors are the same objects, in the same order, as ajv's validator of the whole wire schema
 * (`properties` is the envelope's last property; codegen/validators.test.ts compares both).
 */
function envelopeModule(registry: Registry, commons: JsonSchema[], instances: StandaloneAjv): GeneratedFile {
  const first = registry.events[0];
  if (!first) throw new Error('no events: nothing to validate');
  const wire = stripAnnotations(wireSchema(registry, first)) as JsonSchema;
  const props = wire.properties ?? {};
  const keys = Object.keys(props);
  if (keys[keys.length - 1] !== 'properties') {
    throw new Error("envelope: `properties` must be the last property (errors keep ajv's order)");
  }
  const schema: JsonSchema = {
    ...wire,
    $id: `${SCHEMA_BASE_URI}wire/envelope.json`,
    properties: {
      ...props,
      event_name: { ...props.event_name, const: NAME_PLACEHOLDER },
      event_version: { ...props.event_version, const: VERSION_PLACEHOLDER },
      properties: {},
    },
  };
  let { code, root, used } = compileStandalone(instances, commons, schema, []);
  const names = code.split(JSON.stringify(NAME_PLACEHOLDER)).length - 1;
  const versions = code.split(String(VERSION_PLACEHOLDER)).length - 1;
  if (names < 2 || versions < 2) throw new Error('envelope: ajv output no longer spells out the pinned consts');
  code = code.split(JSON.stringify(NAME_PLACEHOLDER)).join('eventName');
  code = code.split(String(VERSION_PLACEHOLDER)).join('eventVersion');
  const path = layout.validatorEnvelope;
  return {
    path,
    format: false,
    contents: `${banner(['schemas/common/envelope.json', 'schemas/common/*.json', 'codegen/generators/validators.ts'])}// @ts-nocheck — ajv standalone output; typed through ${layout.validatorIndex}.
${runtimeImport(path, used)}
/** ajv's validator of a wire event's envelope, with \`event_name\` and \`event_version\` pinned. */
export function envelopeValidator(eventName, eventVersion) {
${code.trim()}
return ${root};
}
`,
  };
}

export function generate(registry: Registry): GeneratedFile[] {
  const commons = registry.commons.map((c) => stripAnnotations(c.schema) as JsonSchema);

  const instances = new StandaloneAjv(commons);
  const files: GeneratedFile[] = [
    { path: layout.validatorRuntime, contents: RUNTIME },
    envelopeModule(registry, commons, instances),
  ];
  for (const e of registry.events) {
    const path = layout.validator(e);
    let compiled: ReturnType<typeof compileStandalone>;
    try {
      // The event's schema reached through a $ref, as the wire schema reaches it: ajv then writes
      // the same code and the same schemaPath in errors as in the whole wire validator.
      compiled = compileStandalone(
        instances,
        commons,
        {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          $id: `${SCHEMA_BASE_URI}wire/${e.name}/${e.model}/properties.json`,
          $ref: e.id,
        },
        [stripAnnotations(e.schema) as JsonSchema],
      );
    } catch (err) {
      throw new Error(`${e.file}: ajv cannot compile the schema: ${(err as Error).message}`);
    }
    const { code, root, used } = compiled;
    files.push({
      path,
      format: false,
      contents: `${banner([e.file, 'schemas/common/*.json'])}// @ts-nocheck — ajv standalone output; typed through ${layout.validatorIndex}.
import { envelopeValidator } from '${importPath(path, layout.validatorEnvelope)}';
${runtimeImport(path, used)}
const envelope = envelopeValidator(${JSON.stringify(e.name)}, ${e.model});
${code.trim()}

/** The whole wire event: the shared envelope, then \`properties\` (the envelope's last property). */
export default function validate(data) {
let vErrors = envelope(data) ? null : envelope.errors;
if(data && typeof data == "object" && !Array.isArray(data) && data.properties !== undefined && !${root}(data.properties, {instancePath:"/properties",parentData:data,parentDataProperty:"properties",rootData:data})){
vErrors = vErrors === null ? ${root}.errors : vErrors.concat(${root}.errors);
}
validate.errors = vErrors;
return vErrors === null;
}
`,
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
