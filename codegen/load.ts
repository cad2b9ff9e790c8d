/**
 * Reads `schemas/` once into a validated Registry. Every problem is reported as
 * `file#/json/pointer: message`, all of them at once, and a registry with any problem is refused.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { joinPointer } from '../services/json-pointer.ts';
import { createMetaAjv, createSchemaAjv } from './ajv.ts';
import { byCodeUnit } from './layout.ts';
import { type MappingIssue, mapTable } from './mapping.ts';
import {
  CommonSchemaFile,
  EventSchemaFile,
  SCHEMA_BASE_URI,
  SchemaNode,
  WarehouseTableFile,
  type WarehouseTableFile as WarehouseTableFileT,
} from './meta-schema.ts';
import type { CommonShape, EventMapping, EventModel, JsonSchema, Registry, WarehouseTable } from './registry.ts';
import { SchemaIndex } from './schema-index.ts';
import { parseSqlType } from './sql-types.ts';
import { REF_SIBLINGS } from './vocabulary/annotations.ts';
import { SUBSCHEMA_LISTS } from './vocabulary/combinators.ts';
import type { KeywordFamily, KeywordIssue } from './vocabulary/family.ts';
import { FAMILIES } from './vocabulary/index.ts';

export interface SchemaIssue {
  file: string;
  pointer: string;
  message: string;
}

export class RegistryError extends Error {
  constructor(readonly issues: SchemaIssue[]) {
    super(
      `the schema registry has ${issues.length} problem(s):\n${issues.map((i) => `  ${i.file}#${i.pointer}: ${i.message}`).join('\n')}`,
    );
    this.name = 'RegistryError';
  }
}

/** How `new-event` marks what it scaffolded for a person to replace; codegen refuses it untouched. */
export const PLACEHOLDER_MARK = 'PLACEHOLDER (new-event):';

/** Event names: snake_case, the folder name under schemas/events/. */
export const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const MODEL = /^[1-9][0-9]{0,3}$/;
/** Keywords that may stand next to `$ref` (annotations only: we do not merge constraints). */
const REF_KEYWORDS = new Set(['$ref', ...REF_SIBLINGS]);

type Meta = { event: ValidateFunction; common: ValidateFunction; table: ValidateFunction };

let compiledMeta: Meta | undefined;

/** The meta-schema validators, compiled once per process (compiling is most of a small load). */
function compileMeta(): Meta {
  if (compiledMeta) return compiledMeta;
  const ajv = createMetaAjv();
  ajv.addSchema(SchemaNode);
  compiledMeta = {
    event: ajv.compile(EventSchemaFile),
    common: ajv.compile(CommonSchemaFile),
    table: ajv.compile(WarehouseTableFile),
  };
  return compiledMeta;
}

function metaIssues(file: string, errors: ErrorObject[] | null | undefined): SchemaIssue[] {
  const issues = (errors ?? []).map((e): SchemaIssue => {
    if (e.keyword === 'additionalProperties')
      return { file, pointer: e.instancePath, message: `unknown keyword "${e.params.additionalProperty}"` };
    if (e.keyword === 'required')
      return { file, pointer: e.instancePath, message: `missing required "${e.params.missingProperty}"` };
    return { file, pointer: e.instancePath, message: `${e.message ?? 'invalid'} (${e.keyword})` };
  });
  // ajv reports each failing anyOf branch too; keep the most specific message per pointer.
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.pointer}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function listJson(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/** Every family's issues of one kind on `node`, located at the node. */
function familyIssues(
  file: string,
  pointer: string,
  of: (family: KeywordFamily<string>) => KeywordIssue[] | undefined,
): SchemaIssue[] {
  return FAMILIES.flatMap((f) => of(f) ?? []).map((i) => ({
    file,
    pointer: pointer + (i.at ?? ''),
    message: i.message,
  }));
}

/**
 * Every value has bounds: strings a maxLength (or an enum/const/bounded format), numbers both a
 * lower and an upper bound, arrays a maxItems (each family's `boundIssues`). Unbounded input is
 * how one event fills a column, a lake object or a dashboard with garbage.
 */
function boundIssues(file: string, node: JsonSchema, pointer: string): SchemaIssue[] {
  if (FAMILIES.some((f) => f.bounds?.(node))) return [];
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  return familyIssues(file, pointer, (f) => f.boundIssues?.(node, types));
}

/** Rules the meta-schema cannot express, on every node: placeholders and `$ref` use here, then each family's bound, shape, consistency and syntax rules. */
function walkRules(
  file: string,
  node: JsonSchema,
  pointer: string,
  index: SchemaIndex,
  base: string,
  enforcePolicy = true,
): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (typeof node.description === 'string' && node.description.startsWith(PLACEHOLDER_MARK)) {
    issues.push({
      file,
      pointer,
      message: `still new-event's placeholder: ${pointer.includes('/properties/') ? "replace the property by the event's real properties (and update the fixtures)" : 'describe when the event is sent'}`,
    });
  }
  if (node.$ref !== undefined) {
    const extra = Object.keys(node).filter((k) => !REF_KEYWORDS.has(k));
    if (extra.length)
      issues.push({ file, pointer, message: `only annotations may stand next to $ref, found ${extra.join(', ')}` });
    const target = SchemaIndex.target(node.$ref, base);
    if (enforcePolicy && new URL(node.$ref, base).hash)
      issues.push({
        file,
        pointer: `${pointer}/$ref`,
        message: `$ref "${node.$ref}" points inside a file: reference a whole shape in schemas/common/ instead`,
      });
    else if (!index.has(target))
      issues.push({
        file,
        pointer: `${pointer}/$ref`,
        message: `broken $ref "${node.$ref}": no schema has $id ${target}`,
      });
  }
  if (enforcePolicy) issues.push(...boundIssues(file, node, pointer));
  issues.push(...familyIssues(file, pointer, (f) => f.shapeIssues?.(node)));
  for (const [key, sub] of Object.entries(node.properties ?? {}))
    issues.push(
      ...walkRules(file, sub as JsonSchema, joinPointer(pointer, 'properties', key), index, base, enforcePolicy),
    );
  if (node.items)
    issues.push(...walkRules(file, node.items as JsonSchema, `${pointer}/items`, index, base, enforcePolicy));
  for (const kw of SUBSCHEMA_LISTS) {
    node[kw]?.forEach((sub, i) => {
      issues.push(...walkRules(file, sub as JsonSchema, `${pointer}/${kw}/${i}`, index, base, enforcePolicy));
    });
  }
  issues.push(...familyIssues(file, pointer, (f) => f.boundConflicts?.(node)));
  issues.push(...familyIssues(file, pointer, (f) => f.syntaxIssues?.(node)));
  return issues;
}

function loadTable(file: string, raw: WarehouseTableFileT): { table: WarehouseTable; issues: SchemaIssue[] } {
  const issues: SchemaIssue[] = [];
  const columns = Object.entries(raw.columns).map(([name, c]) => {
    let type = parseSqlType('text');
    try {
      type = parseSqlType(c.type);
    } catch (e) {
      issues.push({ file, pointer: `/columns/${name}/type`, message: (e as Error).message });
    }
    const sources = c.source === undefined ? [] : Array.isArray(c.source) ? c.source : [c.source];
    const { type: _t, source: _s, ...rest } = c;
    return { ...rest, name, type, sources };
  });
  const names = new Set(columns.map((c) => c.name));
  const checkCols = (cols: string[], pointer: string) => {
    for (const c of cols)
      if (!names.has(c)) issues.push({ file, pointer, message: `column "${c}" is not defined in columns` });
  };
  checkCols(raw.primaryKey, '/primaryKey');
  if (raw.timeColumn) checkCols([raw.timeColumn], '/timeColumn');
  raw.indexes?.forEach((ix, i) => {
    checkCols(ix.columns, `/indexes/${i}/columns`);
  });
  for (const pk of raw.primaryKey) {
    if (raw.columns[pk]?.nullable)
      issues.push({
        file,
        pointer: `/columns/${pk}/nullable`,
        message: `primary key column "${pk}" cannot be nullable`,
      });
  }
  return {
    table: {
      name: raw.table,
      id: raw.$id,
      file,
      description: raw.description,
      owner: raw['x-owner'],
      columns,
      primaryKey: raw.primaryKey,
      timeColumn: raw.timeColumn,
      indexes: (raw.indexes ?? []).map((ix) => ({ ...ix, unique: ix.unique ?? false })),
    },
    issues,
  };
}

/** A mapping issue as a registry problem, located at the column's source in the table file. */
function mappingProblem(table: WarehouseTable, issue: MappingIssue): SchemaIssue {
  const { column } = issue;
  if (issue.rule === 'WAREHOUSE_SOURCE_UNUSED')
    return {
      file: table.file,
      pointer: `/columns/${column.name}/source${column.sources.length > 1 ? `/${issue.sourceIndex}` : ''}`,
      message: `source ${issue.source} exists in no event schema`,
    };
  return { file: table.file, pointer: `/columns/${column.name}/source`, message: `event ${issue.message}` };
}

async function readJson(root: string, rel: string, issues: SchemaIssue[]): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path.join(root, rel), 'utf8'));
  } catch (e) {
    issues.push({ file: rel, pointer: '', message: `cannot read JSON: ${(e as Error).message}` });
    return undefined;
  }
}

export interface LoadOptions {
  /**
   * Refuse a registry whose warehouse mappings have problems (an event field that does not fit its
   * column), default true. The compatibility checker turns it off: it runs the same mapping engine
   * (`mapTable`) and reports the problems as findings of a change.
   */
  refuseMisfits?: boolean;
  /**
   * Apply the authoring policy codegen relies on (default true): bounds on every string, number
   * and array, and `$ref`s to whole files only. The compatibility checker turns it off: it
   * compares any two valid registries (and fails closed on what it cannot compare); codegen is
   * what enforces the policy.
   */
  enforcePolicy?: boolean;
}

/**
 * Loads the registry rooted at `schemasDir` (the folder holding `common/`, `events/`,
 * `warehouse/`). File names in messages are relative to the folder's parent, e.g.
 * `schemas/events/add_to_cart/1.json`.
 */
export async function loadRegistry(schemasDir: string, options: LoadOptions = {}): Promise<Registry> {
  const root = path.dirname(path.resolve(schemasDir));
  const top = path.basename(path.resolve(schemasDir));
  const meta = compileMeta();
  const issues: SchemaIssue[] = [];

  const commons: CommonShape[] = [];
  for (const f of await listJson(path.join(schemasDir, 'common'))) {
    const file = `${top}/common/${f}`;
    const raw = await readJson(root, file, issues);
    if (raw === undefined) continue;
    if (!meta.common(raw)) {
      issues.push(...metaIssues(file, meta.common.errors));
      continue;
    }
    const schema = raw as JsonSchema;
    const expected = `${SCHEMA_BASE_URI}common/${f}`;
    if (schema.$id !== expected)
      issues.push({ file, pointer: '/$id', message: `$id must be ${expected} to match the file path` });
    commons.push({ id: expected, file, typeName: (raw as CommonSchemaFile).title, schema });
  }

  const events: EventModel[] = [];
  for (const name of await listDirs(path.join(schemasDir, 'events'))) {
    const files = await listJson(path.join(schemasDir, 'events', name));
    if (!EVENT_NAME.test(name))
      issues.push({ file: `${top}/events/${name}`, pointer: '', message: `event name must match ${EVENT_NAME}` });
    if (files.length === 0)
      issues.push({ file: `${top}/events/${name}`, pointer: '', message: 'event folder has no model file (1.json)' });
    for (const f of files) {
      const file = `${top}/events/${name}/${f}`;
      const modelText = f.replace(/\.json$/, '');
      if (!MODEL.test(modelText)) {
        issues.push({ file, pointer: '', message: 'event model files are named <model>.json, e.g. 1.json' });
        continue;
      }
      const raw = await readJson(root, file, issues);
      if (raw === undefined) continue;
      if (!meta.event(raw)) {
        issues.push(...metaIssues(file, meta.event.errors));
        continue;
      }
      const schema = raw as EventSchemaFile & JsonSchema;
      const id = `${SCHEMA_BASE_URI}events/${name}/${modelText}.json`;
      if (schema.$id !== id)
        issues.push({
          file,
          pointer: '/$id',
          message: `$id must be ${id} to match the file path (event ${name}, model ${modelText})`,
        });
      events.push({
        name,
        model: Number(modelText),
        id,
        file,
        title: schema.title,
        description: schema.description,
        owner: schema['x-owner'],
        deprecated: schema.deprecated ?? false,
        schema: { ...schema, $id: id },
      });
    }
  }

  const index = SchemaIndex.of({ commons, events });
  for (const c of commons) issues.push(...walkRules(c.file, c.schema, '', index, c.id, options.enforcePolicy ?? true));
  for (const e of events) issues.push(...walkRules(e.file, e.schema, '', index, e.id, options.enforcePolicy ?? true));

  const envelope = commons.find((c) => c.file.endsWith('/common/envelope.json'));
  const enrichment = commons.find((c) => c.file.endsWith('/common/enrichment.json'));
  if (!envelope)
    issues.push({ file: `${top}/common/envelope.json`, pointer: '', message: 'the wire envelope schema is missing' });
  if (!enrichment)
    issues.push({
      file: `${top}/common/enrichment.json`,
      pointer: '',
      message: 'the server enrichment schema is missing',
    });

  const tables: WarehouseTable[] = [];
  for (const f of await listJson(path.join(schemasDir, 'warehouse'))) {
    const file = `${top}/warehouse/${f}`;
    const raw = await readJson(root, file, issues);
    if (raw === undefined) continue;
    if (!meta.table(raw)) {
      issues.push(...metaIssues(file, meta.table.errors));
      continue;
    }
    const t = raw as WarehouseTableFileT;
    const expected = `${SCHEMA_BASE_URI}warehouse/${f}`;
    if (t.$id !== expected)
      issues.push({ file, pointer: '/$id', message: `$id must be ${expected} to match the file path` });
    if (`${t.table}.json` !== f)
      issues.push({
        file,
        pointer: '/table',
        message: `table must be named "${f.replace(/\.json$/, '')}" like its file`,
      });
    const loaded = loadTable(file, t);
    issues.push(...loaded.issues);
    tables.push(loaded.table);
  }

  if (issues.length > 0 || !envelope || !enrichment) throw new RegistryError(issues);

  // Every file must also be a valid 2020-12 schema. (Compiling is left to the validators
  // generator: compiling each schema here as well doubled codegen's time.)
  const ajv = createSchemaAjv();
  for (const s of [...commons, ...events]) {
    if (!ajv.validateSchema(s.schema))
      issues.push({ file: s.file, pointer: '', message: `not a valid JSON Schema: ${ajv.errorsText(ajv.errors)}` });
  }
  const partial = { commons, envelope, enrichment, events };

  const mappings: EventMapping[] = [];
  for (const table of tables) {
    const mapped = mapTable(index, partial, table);
    if (options.refuseMisfits ?? true) issues.push(...mapped.issues.map((i) => mappingProblem(table, i)));
    mappings.push(...mapped.mappings);
  }
  if (issues.length > 0) throw new RegistryError(issues);

  events.sort((a, b) => byCodeUnit(a.name, b.name) || a.model - b.model);
  return { commons, envelope, enrichment, events, tables, mappings, index };
}
