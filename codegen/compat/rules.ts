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

export interface Rule {
  severity: Severity;
  direction: Direction;
  /** One line: what the rule protects. */
  summary: string;
  /** The "Fix:" hint, when the rule carries its own (else codegen/compat/check.ts builds it). */
  fix?: (where: { file: string }) => string;
}

const P = (summary: string, severity: Severity = 'error'): Rule => ({ severity, direction: 'P', summary });
const C = (summary: string, severity: Severity = 'error'): Rule => ({ severity, direction: 'C', summary });
const L = (summary: string, fix: Rule['fix']): Rule => ({ severity: 'error', direction: 'L', summary, fix });

export const RULES = {
  EVENT_MODEL_REMOVED: P('an event model was deleted without first being marked "deprecated": true'),
  EVENT_MODEL_RETIRED: P('a model marked deprecated was removed', 'info'),
  EVENT_MODEL_ADDED: P('a new event or a new model file was added', 'info'),
  EVENT_MODEL_DEPRECATED: P('an event model was marked deprecated', 'info'),
  EVENT_REQUIRED_ADDED: P('a new required property was added'),
  EVENT_OPTIONAL_MADE_REQUIRED: P('an optional property became required'),
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
  WAREHOUSE_FIELD_DOES_NOT_FIT: C('an event field accepts values its warehouse column cannot store'),
  WAREHOUSE_FIELD_MAY_BE_MISSING: C('an event field may be absent or null but its column is NOT NULL without default'),
  WAREHOUSE_SOURCE_UNUSED: C('a column source points at a field no event has any more', 'warning'),
  WAREHOUSE_OLD_EVENT_DOES_NOT_FIT: C('events of an earlier schema state (still in the lake) no longer fit the table'),
  WAREHOUSE_TABLE_DROPPED: C('a warehouse table was deleted'),
  WAREHOUSE_TABLE_ADDED: C('a warehouse table was added', 'info'),
  WAREHOUSE_COLUMN_DROPPED: C('a warehouse column was deleted'),
  WAREHOUSE_COLUMN_RENAMED: C('a warehouse column was renamed (dropped and re-added with the same type and source)'),
  WAREHOUSE_COLUMN_TYPE_NARROWED: C('a column type now holds fewer values (shorter varchar, smaller integer, …)'),
  WAREHOUSE_COLUMN_TYPE_CHANGED: C('a column type changed to an unrelated type'),
  WAREHOUSE_COLUMN_MADE_NOT_NULL: C('a nullable column became NOT NULL'),
  WAREHOUSE_COLUMN_ADDED_NOT_NULL: C('a NOT NULL column without default was added; existing rows cannot get a value'),
  WAREHOUSE_COLUMN_ADDED: C('a nullable column (or one with a default) was added', 'info'),
  WAREHOUSE_COLUMN_SOURCE_CHANGED: C('a column is now filled from a different event field', 'warning'),
  WAREHOUSE_PRIMARY_KEY_CHANGED: C('the primary key changed'),
  WAREHOUSE_TIME_COLUMN_CHANGED: C('the time (partitioning) column changed', 'warning'),
  WAREHOUSE_UNIQUE_INDEX_ADDED: C('a unique index was added, made unique or narrowed to fewer columns'),
  WAREHOUSE_INDEX_CHANGED: C('a non-unique index was added, dropped or redefined', 'info'),
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
  },
  UNSUPPORTED_CONSTRUCT: {
    severity: 'error',
    direction: 'X',
    summary: 'a schema construct the checker cannot compare (e.g. a $ref with a fragment)',
  },
  ALLOWLIST_ENTRY_UNUSED: {
    severity: 'error',
    direction: 'A',
    summary: 'an allowlist entry matched no finding; remove it',
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
