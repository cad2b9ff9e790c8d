/**
 * The catalogue of compatibility rules. IDs are stable: CI output, the allowlist and the README
 * refer to them, so a rule is never renamed, only added.
 *
 * Direction P (producers): an old tracker's event must still be accepted by the new model.
 * Direction C (consumers): every event must still load into the warehouse table.
 * Direction L (lake): every line already in the raw lake must still validate and map (replay).
 * Direction X: the checker itself could not decide — always fails closed (exit 2).
 * Direction A: the allowlist itself (an entry that no longer matches anything).
 */
export type Severity = 'error' | 'warning' | 'info';
export type Direction = 'P' | 'C' | 'L' | 'X' | 'A';

/** Where a finding is, as its "Fix:" hint needs it. */
export interface FixWhere {
  /** Event name, or null for the envelope, the enrichment and warehouse-table changes. */
  event: string | null;
  model: number | null;
  table?: string;
  file: string;
  /** The head registry's folder, e.g. `schemas`. */
  top: string;
  /** The event's next model file in the head, e.g. `schemas/events/add_to_cart/2.json` (events only). */
  nextModel?: string;
}

export interface Rule {
  severity: Severity;
  direction: Direction;
  /** One line: what the rule protects. */
  summary: string;
  /** The "Fix:" hint, naming the files to touch. */
  fix: (where: FixWhere) => string;
}

type Fix = Rule['fix'];
const nothing: Fix = () => 'nothing to do';
const text =
  (hint: string): Fix =>
  () =>
    hint;
const tableFile = (w: FixWhere) => `${w.top}/warehouse/${w.table}.json`;

/** A breaking producer change: undo it (`undo`, default: revert it), or make it in a new model. */
const newModel =
  (undo?: string): Fix =>
  (w) => {
    if (w.event === null)
      return `the envelope is sent by every tracker: revert the change in ${w.file}; a stricter envelope needs all trackers upgraded first (then allowlist it with a reason)`;
    const first =
      undo ??
      (w.file.includes('/common/')
        ? `revert ${w.file} (shared by other events) and put the stricter shape in a new file under ${w.top}/common/ used only by new models`
        : 'revert the change');
    const instead = w.nextModel
      ? `create \`${w.nextModel}\` with the change instead (old trackers keep sending v${w.model})`
      : '';
    return `${first}, or ${instead}`;
  };
const optional = newModel('leave the property out of "required" (optional)');

const P = (summary: string, fix: Fix = newModel()): Rule => ({ severity: 'error', direction: 'P', summary, fix });
const Pinfo = (summary: string): Rule => ({ severity: 'info', direction: 'P', summary, fix: nothing });
const C = (summary: string, fix: Fix, severity: Severity = 'error'): Rule => ({
  severity,
  direction: 'C',
  summary,
  fix,
});
const L = (summary: string, fix: Fix): Rule => ({ severity: 'error', direction: 'L', summary, fix });

const TYPE_KEPT = text(
  'keep the old type or widen it (varchar(n)→varchar(m>n)/text, smallint→integer→bigint); for another type add a new column',
);

export const RULES = {
  EVENT_MODEL_REMOVED: P('an event model was deleted without first being marked "deprecated": true', (w) =>
    w.event === null
      ? newModel()(w)
      : `restore ${w.file} and mark it "deprecated": true; delete it in a later change, once trackers stopped sending it`,
  ),
  EVENT_MODEL_RETIRED: Pinfo('a model marked deprecated was removed'),
  EVENT_MODEL_ADDED: Pinfo('a new event or a new model file was added'),
  EVENT_MODEL_DEPRECATED: Pinfo('an event model was marked deprecated'),
  EVENT_REQUIRED_ADDED: P('a new required property was added', optional),
  EVENT_OPTIONAL_MADE_REQUIRED: P('an optional property became required', optional),
  EVENT_PROPERTY_REMOVED: P('a property was removed from a closed object'),
  EVENT_ADDITIONAL_PROPERTIES_CLOSED: P('an open object was closed with "additionalProperties": false'),
  EVENT_TYPE_CHANGED: P('the type changed to one that accepts none of the old values'),
  EVENT_TYPE_NARROWED: P('the type accepts fewer kinds of values than before'),
  EVENT_UNION_BRANCH_REMOVED: P('an anyOf/oneOf branch that old values matched was removed'),
  EVENT_ONEOF_OVERLAP: P('oneOf branches overlap, so a value matching several of them is now rejected'),
  EVENT_ALLOF_MEMBER_ADDED: P('an allOf member was added'),
  EVENT_ENUM_VALUE_REMOVED: P('an enum value was removed'),
  EVENT_ENUM_ADDED: P('an enum now restricts a value that was free before'),
  EVENT_CONST_ADDED: P('a const now pins a value that was free before'),
  EVENT_MAX_LENGTH_DECREASED: P('maxLength was lowered or added'),
  EVENT_MIN_LENGTH_INCREASED: P('minLength was raised or added'),
  EVENT_PATTERN_CHANGED: P('a pattern was added or changed'),
  EVENT_FORMAT_CHANGED: P('a format was added or changed'),
  EVENT_MINIMUM_INCREASED: P('minimum was raised or added'),
  EVENT_MAXIMUM_DECREASED: P('maximum was lowered or added'),
  EVENT_EXCLUSIVE_MINIMUM_INCREASED: P('exclusiveMinimum was raised or added, or replaced an equal minimum'),
  EVENT_EXCLUSIVE_MAXIMUM_DECREASED: P('exclusiveMaximum was lowered or added, or replaced an equal maximum'),
  EVENT_MULTIPLE_OF_CHANGED: P('multipleOf was added or changed to a value the old one is not a multiple of'),
  EVENT_MAX_ITEMS_DECREASED: P('maxItems was lowered or added'),
  EVENT_MIN_ITEMS_INCREASED: P('minItems was raised or added'),
  EVENT_UNIQUE_ITEMS_ADDED: P('uniqueItems was added'),
  EVENT_MAX_PROPERTIES_DECREASED: P('maxProperties was lowered or added'),
  EVENT_MIN_PROPERTIES_INCREASED: P('minProperties was raised or added'),
  WAREHOUSE_FIELD_DOES_NOT_FIT: C(
    'an event field accepts values its warehouse column cannot store',
    (w) =>
      `bound the field so it fits the column (maxLength, minimum/maximum, format), or widen the column in ${tableFile(w)} and run \`npm run codegen -- --migration-name <name>\``,
  ),
  WAREHOUSE_FIELD_MAY_BE_MISSING: C(
    'an event field may be absent or null but its column is NOT NULL without default',
    (w) => `make the field required, or make the column nullable / give it a default in ${tableFile(w)}`,
  ),
  WAREHOUSE_SOURCE_UNUSED: C(
    'a column source points at a field no event has any more',
    (w) => `remove the source from the column in ${tableFile(w)} or point it at a field an event has`,
    'warning',
  ),
  WAREHOUSE_OLD_EVENT_DOES_NOT_FIT: C(
    'events of an earlier schema state (still in the lake) no longer fit the table',
    text(
      'keep the column wide enough for every past model of the event: old events stay in the lake and are reloaded on backfill',
    ),
  ),
  WAREHOUSE_TABLE_DROPPED: C(
    'a warehouse table was deleted',
    (w) => `restore ${w.file}; dropping a table needs a planned migration (allowlist it with the plan as reason)`,
  ),
  WAREHOUSE_TABLE_ADDED: C('a warehouse table was added', nothing, 'info'),
  WAREHOUSE_COLUMN_DROPPED: C(
    'a warehouse column was deleted',
    text(
      'keep the column (remove its source and make it nullable to stop filling it), or allowlist the drop with a migration plan',
    ),
  ),
  WAREHOUSE_COLUMN_RENAMED: C(
    'a warehouse column was renamed (dropped and re-added with the same type and source)',
    text('keep the old column; add the new name as another nullable column and backfill it'),
  ),
  WAREHOUSE_COLUMN_TYPE_NARROWED: C(
    'a column type now holds fewer values (shorter varchar, smaller integer, …)',
    TYPE_KEPT,
  ),
  WAREHOUSE_COLUMN_TYPE_CHANGED: C('a column type changed to an unrelated type', TYPE_KEPT),
  WAREHOUSE_COLUMN_MADE_NOT_NULL: C(
    'a nullable column became NOT NULL',
    text('keep the column nullable, or give it a default, backfill NULL rows and allowlist the change'),
  ),
  WAREHOUSE_COLUMN_ADDED_NOT_NULL: C(
    'a NOT NULL column without default was added; existing rows cannot get a value',
    text('make the new column nullable or give it a default'),
  ),
  WAREHOUSE_COLUMN_ADDED: C('a nullable column (or one with a default) was added', nothing, 'info'),
  WAREHOUSE_COLUMN_SOURCE_CHANGED: C(
    'a column is now filled from a different event field',
    text('a column should keep its meaning: add a new column for the new field'),
    'warning',
  ),
  WAREHOUSE_PRIMARY_KEY_CHANGED: C(
    'the primary key changed',
    text('keep the primary key: the ETL deduplicates and upserts on it'),
  ),
  WAREHOUSE_TIME_COLUMN_CHANGED: C(
    'the time (partitioning) column changed',
    text('keep the time column: date-range queries and indexes rely on it'),
    'warning',
  ),
  WAREHOUSE_UNIQUE_INDEX_ADDED: C(
    'a unique index was added, made unique or narrowed to fewer columns',
    (w) =>
      `keep the index non-unique in ${tableFile(w)}; if the key must be unique, first delete duplicate rows and make sure no event (old ones in the lake included) repeats it, then allowlist the change with that plan`,
  ),
  WAREHOUSE_INDEX_CHANGED: C('a non-unique index was added, dropped or redefined', nothing, 'info'),
  LAKE_ENRICHMENT_REQUIRED_ADDED: L(
    'an enrichment field became required (new, or optional before); stored lines do not have it',
    ({ file }) =>
      `leave the field out of "required" in ${file}: lines already in the lake were enriched without it (ingest can still add it to every new line)`,
  ),
  LAKE_ENRICHMENT_FIELD_REMOVED: L(
    'an enrichment field was removed; stored lines carry it and the line shape rejects unknown fields',
    ({ file }) =>
      `keep the field in ${file} as an optional field (ingest may stop adding it): lines already in the lake carry it`,
  ),
  LAKE_ENRICHMENT_TYPE_CHANGED: L(
    'an enrichment field type changed or narrowed; stored values of the old type are rejected',
    ({ file }) =>
      `keep the old type in ${file} (a list of both, e.g. ["string", "null"], is fine); for a value of another type add a field under a new name`,
  ),
  LAKE_ENRICHMENT_NARROWED: L(
    'an enrichment field accepts fewer values (bound, enum, const, pattern, format, union); stored values are rejected',
    ({ file }) =>
      `revert the tighter keyword in ${file}: the schema must accept every value ingest ever stored (enforce the stricter value for new lines in ingest's code)`,
  ),
  LAKE_MODEL_REMOVED: L(
    'an event model file was deleted (deprecated or not); its stored lines no longer validate or map',
    ({ file }) =>
      `restore ${file} (keep it "deprecated": true): its lines stay in the lake and every backfill or rebuild validates and maps them with it; delete it only with a plan for those lines (rewrite them to a newer model) and allowlist the removal with that plan as reason`,
  ),
  UNCLASSIFIED_KEYWORD: {
    severity: 'error',
    direction: 'X',
    summary: 'a keyword the checker does not know; it cannot say whether the change is safe',
    fix: text(
      'remove the keyword, or teach its keyword family in codegen/vocabulary/ how it affects accepted values (with fixtures)',
    ),
  },
  UNSUPPORTED_CONSTRUCT: {
    severity: 'error',
    direction: 'X',
    summary: 'a schema construct the checker cannot compare (e.g. a $ref with a fragment)',
    fix: text('rewrite the construct (e.g. $ref a whole file) or extend codegen/compat with fixtures for it'),
  },
  ALLOWLIST_ENTRY_UNUSED: {
    severity: 'error',
    direction: 'A',
    summary: 'an allowlist entry matched no finding; remove it',
    fix: nothing,
  },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;

export interface Finding {
  rule: RuleId;
  severity: Severity;
  direction: Direction;
  /** Event name, or null for the envelope, the enrichment and warehouse-table changes. */
  event: string | null;
  model: number | null;
  /** Warehouse table, for direction C. */
  table?: string;
  /** File in the head registry (or the base one, when the head has no such file). */
  file: string;
  /** JSON pointer into `file`. */
  pointer: string;
  message: string;
  fix: string;
  /** Set when an allowlist entry accepted the finding; it then does not fail the check. */
  allowlisted?: string;
}

/** A finding of direction X means "could not decide": the whole check fails closed. */
export const isUndecided = (f: Pick<Finding, 'rule'>) =>
  RULES[f.rule].direction === 'X' && RULES[f.rule].severity === 'error';
