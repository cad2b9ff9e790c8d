/**
 * Warehouse direction: every event (new and still-in-the-lake old ones) must load into its
 * table, and a table change must not break the rows it already holds. Mapping and fit are the
 * loader's own (`mapTable`); this module only decides which fit problems a change introduced.
 */

import { joinPointer } from '../../services/json-pointer.ts';
import { mapTable } from '../mapping.ts';
import type { Column, WarehouseTable } from '../registry.ts';
import { typeChange } from '../sql-types.ts';
import { Undecided } from './producer.ts';
import type { RuleId } from './rules.ts';
import { pointerOf, type Side } from './side.ts';

export interface WarehouseIssue {
  rule: RuleId;
  event: string | null;
  model: number | null;
  table: string;
  column?: string;
  file: string;
  pointer: string;
  message: string;
}

/** Column properties the checker compares; a column carrying anything else fails closed. */
export const COLUMN_KEYS: ReadonlySet<string> = new Set([
  'name',
  'type',
  'nullable',
  'description',
  'sources',
  'default',
  'x-pii',
]);
/** Table properties the checker knows: the compared ones plus descriptive ones. */
export const TABLE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'id',
  'file',
  'description',
  'owner',
  'columns',
  'primaryKey',
  'timeColumn',
  'indexes',
]);

/**
 * Fit of every event model of `side` into `table` (the loader's own mapping engine), located at
 * the field when it lives in a schema file, else at the column's source.
 */
export function fitIssues(side: Side, table: WarehouseTable): WarehouseIssue[] {
  return mapTable(side.index, side.registry, table).issues.map((i): WarehouseIssue => {
    const source = { file: table.file, pointer: joinPointer('', 'columns', i.column.name, 'source') };
    const fieldPointer = i.field && pointerOf(side.rootOf(i.field.base), i.field.node);
    const where =
      i.field && fieldPointer !== undefined ? { file: side.fileOf(i.field.base), pointer: fieldPointer } : source;
    return {
      rule: i.rule,
      event: i.event?.name ?? null,
      model: i.event?.model ?? null,
      table: table.name,
      column: i.column.name,
      ...where,
      message: i.message,
    };
  });
}

function checkColumnKeys(table: WarehouseTable, column: Column): void {
  for (const key of Object.keys(column))
    if (!COLUMN_KEYS.has(key))
      throw new Undecided(
        'UNCLASSIFIED_KEYWORD',
        table.file,
        joinPointer('', 'columns', column.name, key),
        `column property "${key}" is not known to the compatibility checker`,
      );
}

/** Changes of one table between the base and the head. `head` undefined: the table was deleted. */
export function tableIssues(base: WarehouseTable | undefined, head: WarehouseTable | undefined): WarehouseIssue[] {
  if (!base && head)
    return [
      {
        rule: 'WAREHOUSE_TABLE_ADDED',
        event: null,
        model: null,
        table: head.name,
        file: head.file,
        pointer: '',
        message: `table ${head.name} is new`,
      },
    ];
  if (!base) return [];
  if (!head)
    return [
      {
        rule: 'WAREHOUSE_TABLE_DROPPED',
        event: null,
        model: null,
        table: base.name,
        file: base.file,
        pointer: '',
        message: `table ${base.name} was deleted; its rows and loaders are lost`,
      },
    ];
  for (const key of Object.keys(head))
    if (!TABLE_KEYS.has(key))
      throw new Undecided(
        'UNCLASSIFIED_KEYWORD',
        head.file,
        joinPointer('', key),
        `table property "${key}" is not known to the compatibility checker`,
      );
  for (const c of [...base.columns, ...head.columns]) checkColumnKeys(head, c);
  const issues: WarehouseIssue[] = [];
  const push = (rule: RuleId, column: string | undefined, pointer: string, message: string) =>
    issues.push({ rule, event: null, model: null, table: head.name, column, file: head.file, pointer, message });
  const headCols = new Map(head.columns.map((c) => [c.name, c]));
  const baseCols = new Map(base.columns.map((c) => [c.name, c]));
  const added = head.columns.filter((c) => !baseCols.has(c.name));
  const renamedTo = new Set<string>();
  for (const old of base.columns) {
    const now = headCols.get(old.name);
    const at = joinPointer('', 'columns', old.name);
    if (!now) {
      const twin = added.find(
        (c) =>
          !renamedTo.has(c.name) &&
          c.type.sql === old.type.sql &&
          old.sources.length > 0 &&
          JSON.stringify(c.sources) === JSON.stringify(old.sources),
      );
      if (twin) {
        renamedTo.add(twin.name);
        push(
          'WAREHOUSE_COLUMN_RENAMED',
          twin.name,
          joinPointer('', 'columns', twin.name),
          `column ${head.name}.${old.name} was renamed to ${twin.name}; queries and loaders using the old name break`,
        );
      } else
        push(
          'WAREHOUSE_COLUMN_DROPPED',
          old.name,
          '/columns',
          `column ${head.name}.${old.name} (${old.type.sql}) was dropped; its data and every query reading it are lost`,
        );
      continue;
    }
    const change = typeChange(old.type, now.type);
    if (change === 'narrower')
      push(
        'WAREHOUSE_COLUMN_TYPE_NARROWED',
        old.name,
        joinPointer(at, 'type'),
        `column ${head.name}.${old.name} narrowed from ${old.type.sql} to ${now.type.sql}; existing rows may not fit`,
      );
    if (change === 'changed')
      push(
        'WAREHOUSE_COLUMN_TYPE_CHANGED',
        old.name,
        joinPointer(at, 'type'),
        `column ${head.name}.${old.name} changed from ${old.type.sql} to ${now.type.sql}`,
      );
    if (old.nullable && !now.nullable)
      push(
        'WAREHOUSE_COLUMN_MADE_NOT_NULL',
        old.name,
        joinPointer(at, 'nullable'),
        `column ${head.name}.${old.name} became NOT NULL; existing NULL rows and events without the field fail`,
      );
    if (JSON.stringify(old.sources) !== JSON.stringify(now.sources))
      push(
        'WAREHOUSE_COLUMN_SOURCE_CHANGED',
        old.name,
        joinPointer(at, 'source'),
        `column ${head.name}.${old.name} was filled from ${old.sources.join(', ') || 'nothing'} and now from ${now.sources.join(', ') || 'nothing'}`,
      );
  }
  for (const c of added) {
    if (renamedTo.has(c.name)) continue;
    const at = joinPointer('', 'columns', c.name);
    if (!c.nullable && c.default === undefined)
      push(
        'WAREHOUSE_COLUMN_ADDED_NOT_NULL',
        c.name,
        joinPointer(at, 'nullable'),
        `new column ${head.name}.${c.name} is NOT NULL without a default; existing rows have no value for it`,
      );
    else push('WAREHOUSE_COLUMN_ADDED', c.name, at, `column ${head.name}.${c.name} (${c.type.sql}) is new`);
  }
  if (JSON.stringify(base.primaryKey) !== JSON.stringify(head.primaryKey))
    push(
      'WAREHOUSE_PRIMARY_KEY_CHANGED',
      undefined,
      '/primaryKey',
      `primary key (${base.primaryKey.join(', ')}) → (${head.primaryKey.join(', ')})`,
    );
  issues.push(...indexIssues(base, head));
  if (base.timeColumn !== head.timeColumn)
    push(
      'WAREHOUSE_TIME_COLUMN_CHANGED',
      undefined,
      '/timeColumn',
      `time column ${base.timeColumn ?? 'none'} → ${head.timeColumn ?? 'none'}`,
    );
  return issues;
}

type Index = WarehouseTable['indexes'][number];

/**
 * Index changes. A non-unique index changes no value a row can hold; a unique one rejects rows: the
 * migration fails on existing duplicates and every later load that repeats the key fails. A unique
 * index is no new restriction when an old unique key (the primary key or a unique index) already
 * lies within its columns.
 */
function indexIssues(base: WarehouseTable, head: WarehouseTable): WarehouseIssue[] {
  const issues: WarehouseIssue[] = [];
  const push = (rule: RuleId, pointer: string, message: string) =>
    issues.push({ rule, event: null, model: null, table: head.name, file: head.file, pointer, message });
  const show = (ix: Index) => `${ix.unique ? 'unique ' : ''}index ${ix.name} (${ix.columns.join(', ')})`;
  const same = (a: Index, b: Index) => a.unique === b.unique && JSON.stringify(a.columns) === JSON.stringify(b.columns);
  const oldKeys = [base.primaryKey, ...base.indexes.filter((ix) => ix.unique).map((ix) => ix.columns)];
  const baseByName = new Map(base.indexes.map((ix) => [ix.name, ix]));
  const headNames = new Set(head.indexes.map((ix) => ix.name));
  for (const old of base.indexes)
    if (!headNames.has(old.name)) push('WAREHOUSE_INDEX_CHANGED', '/indexes', `${show(old)} was dropped`);
  head.indexes.forEach((now, i) => {
    const old = baseByName.get(now.name);
    if (old && same(old, now)) return;
    const at = joinPointer('', 'indexes', i);
    const implied = oldKeys.some((key) => key.every((c) => now.columns.includes(c)));
    if (now.unique && !implied) {
      const pointer = !old ? at : old.unique ? joinPointer(at, 'columns') : joinPointer(at, 'unique');
      push(
        'WAREHOUSE_UNIQUE_INDEX_ADDED',
        pointer,
        old
          ? `${show(old)} became ${show(now)}; existing rows may repeat the key, and loads of events repeating it fail`
          : `${show(now)} is new; existing rows may repeat the key, and loads of events repeating it fail`,
      );
    } else push('WAREHOUSE_INDEX_CHANGED', at, old ? `${show(old)} became ${show(now)}` : `${show(now)} is new`);
  });
  return issues;
}
