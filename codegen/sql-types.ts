/**
 * Warehouse column types: one table, `SQL_TYPES`, says for each SQL kind how it is written (the
 * meta-schema's pattern and the parser read it), its Drizzle builder, the TypeScript type of its
 * values, its integer range and width rank, and which event values fit it. The loader (codegen
 * refuses a registry that does not fit), the Drizzle generator and the breaking-change checker
 * (fit and widening) all read this table; adding a SQL type is one entry here.
 */

export type SqlKind =
  | 'uuid'
  | 'text'
  | 'varchar'
  | 'boolean'
  | 'smallint'
  | 'integer'
  | 'bigint'
  | 'numeric'
  | 'double precision'
  | 'timestamptz'
  | 'date'
  | 'jsonb';

export interface SqlType {
  kind: SqlKind;
  /** varchar(n) */
  length?: number;
  /** numeric(p,s) */
  precision?: number;
  scale?: number;
  /** As written in the schema file and in SQL. */
  sql: string;
}

export type JsonTypeName = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** What a (dereferenced) schema node accepts, reduced to what matters for a column. */
export interface ValueShape {
  types: Set<JsonTypeName>;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  /** Every accepted value, when the node is an enum or const. */
  values?: unknown[];
}

/** Everything the codebase knows about one SQL kind. */
interface SqlKindSpec {
  /** How the type is written (regex source, unanchored); its groups capture the parameters. */
  pattern: string;
  /** The parameters, from the pattern's groups. */
  params?: (groups: string[]) => Pick<SqlType, 'length' | 'precision' | 'scale'>;
  /** The drizzle-orm/pg-core builder, and the options it takes after the column name. */
  drizzle: { fn: string; options?: (t: SqlType) => string };
  /** TypeScript type of a value of the column in a row. */
  ts: 'string' | 'number' | 'boolean' | 'unknown';
  /** Integer kinds: value range, rank in widening order, decimal digits before the point. */
  integer?: { range: [number, number]; rank: number; digits: number };
  /**
   * Null when every non-null value of `shape` fits, otherwise why not. `only(...)` reports the
   * value's JSON types outside the allowed ones.
   */
  fit(shape: ValueShape, type: SqlType, only: (...allowed: JsonTypeName[]) => string | null): string | null;
}

const UUID_LENGTH = 36;

/** Longest string the shape accepts, or undefined when unbounded. */
function maxStringLength(shape: ValueShape): number | undefined {
  if (shape.values) return Math.max(0, ...shape.values.map((v) => (typeof v === 'string' ? [...v].length : 0)));
  if (shape.format === 'uuid') return UUID_LENGTH;
  return shape.maxLength;
}

const formatted =
  (format: string): SqlKindSpec['fit'] =>
  (shape, type, only) =>
    only('string') ?? (shape.format === format ? null : `only strings with format "${format}" fit ${type.sql}`);

/**
 * An integer kind. `boundsRequired`: a schema must bound the integer to fit (false for bigint,
 * whose range is every integer a JSON number holds exactly).
 */
function integerKind(
  fn: string,
  integer: NonNullable<SqlKindSpec['integer']>,
  boundsRequired: boolean,
  options?: () => string,
): SqlKindSpec {
  const [lo, hi] = integer.range;
  return {
    pattern: fn,
    drizzle: { fn, options },
    ts: 'number',
    integer,
    fit(shape, type, only) {
      const wrong = only('integer');
      if (wrong) return wrong;
      if (boundsRequired && (shape.minimum === undefined || shape.maximum === undefined))
        return `an unbounded integer cannot be stored in ${type.sql}: add minimum and maximum within ${lo}..${hi}`;
      if ((shape.minimum ?? lo) < lo || (shape.maximum ?? hi) > hi)
        return `integers in ${shape.minimum}..${shape.maximum} do not fit ${type.sql} (${lo}..${hi})`;
      return null;
    },
  };
}

export const SQL_TYPES: Record<SqlKind, SqlKindSpec> = {
  uuid: { pattern: 'uuid', drizzle: { fn: 'uuid' }, ts: 'string', fit: formatted('uuid') },
  text: { pattern: 'text', drizzle: { fn: 'text' }, ts: 'string', fit: (_s, _t, only) => only('string') },
  varchar: {
    pattern: 'varchar\\(([1-9][0-9]{0,4})\\)',
    params: ([length]) => ({ length: Number(length) }),
    drizzle: { fn: 'varchar', options: (t) => `{ length: ${t.length} }` },
    ts: 'string',
    fit(shape, type, only) {
      const wrong = only('string');
      if (wrong) return wrong;
      const max = maxStringLength(shape);
      if (max === undefined)
        return `an unbounded string cannot be stored in ${type.sql}: add maxLength ≤ ${type.length}`;
      if (max > (type.length ?? 0)) return `strings up to ${max} characters do not fit ${type.sql}`;
      return null;
    },
  },
  boolean: { pattern: 'boolean', drizzle: { fn: 'boolean' }, ts: 'boolean', fit: (_s, _t, only) => only('boolean') },
  smallint: integerKind('smallint', { range: [-32768, 32767], rank: 1, digits: 5 }, true),
  integer: integerKind('integer', { range: [-2147483648, 2147483647], rank: 2, digits: 10 }, true),
  bigint: integerKind(
    'bigint',
    { range: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], rank: 3, digits: 19 },
    false,
    () => `{ mode: 'number' }`,
  ),
  numeric: {
    pattern: 'numeric\\(([1-9][0-9]?),([0-9][0-9]?)\\)',
    params: ([precision, scale]) => ({ precision: Number(precision), scale: Number(scale) }),
    drizzle: { fn: 'numeric', options: (t) => `{ precision: ${t.precision}, scale: ${t.scale} }` },
    ts: 'number',
    fit(shape, type, only) {
      const wrong = only('integer', 'number');
      if (wrong) return wrong;
      const limit = 10 ** ((type.precision ?? 0) - (type.scale ?? 0));
      if (shape.minimum === undefined || shape.maximum === undefined)
        return `an unbounded number cannot be stored in ${type.sql}: add minimum and maximum within ±${limit}`;
      if (shape.minimum <= -limit || shape.maximum >= limit)
        return `numbers in ${shape.minimum}..${shape.maximum} do not fit ${type.sql} (absolute value < ${limit})`;
      return null;
    },
  },
  'double precision': {
    pattern: 'double precision',
    drizzle: { fn: 'doublePrecision' },
    ts: 'number',
    fit: (_s, _t, only) => only('integer', 'number'),
  },
  timestamptz: {
    pattern: 'timestamptz',
    drizzle: { fn: 'timestamp', options: () => `{ withTimezone: true, mode: 'string' }` },
    ts: 'string',
    fit: formatted('date-time'),
  },
  date: {
    pattern: 'date',
    drizzle: { fn: 'date', options: () => `{ mode: 'string' }` },
    ts: 'string',
    fit: formatted('date'),
  },
  jsonb: { pattern: 'jsonb', drizzle: { fn: 'jsonb' }, ts: 'unknown', fit: () => null },
};

const KINDS = Object.keys(SQL_TYPES) as SqlKind[];
const parameterised = (k: SqlKind) => SQL_TYPES[k].params !== undefined;

/** SQL column types the warehouse supports, written as in PostgreSQL (the meta-schema's pattern). */
export const SQL_TYPE_PATTERN = `^(${[...KINDS.filter((k) => !parameterised(k)), ...KINDS.filter(parameterised)]
  .map((k) => SQL_TYPES[k].pattern)
  .join('|')})$`;

export function parseSqlType(sql: string): SqlType {
  for (const kind of KINDS) {
    const { pattern, params } = SQL_TYPES[kind];
    const m = new RegExp(`^${pattern}$`).exec(sql);
    if (!m) continue;
    const type: SqlType = { kind, ...params?.(m.slice(1)), sql };
    if (type.scale !== undefined && type.precision !== undefined && type.scale > type.precision)
      throw new Error(`numeric scale ${type.scale} is larger than precision ${type.precision}`);
    return type;
  }
  throw new Error(`unsupported SQL type "${sql}"`);
}

/** The Drizzle builder call for a column `name` of `type`, and the builder's import name. */
export function drizzleBuilder(type: SqlType, name: string): { fn: string; call: string } {
  const { fn, options } = SQL_TYPES[type.kind].drizzle;
  return { fn, call: `${fn}('${name}'${options ? `, ${options(type)}` : ''})` };
}

export function describeShape(shape: ValueShape): string {
  const parts: string[] = [];
  const types = [...shape.types].sort().join('|') || 'any';
  if (shape.values) parts.push(`enum ${JSON.stringify(shape.values)}`);
  if (shape.format) parts.push(`format ${shape.format}`);
  if (shape.types.has('string') && !shape.values && !shape.format?.match(/uuid/))
    parts.push(shape.maxLength === undefined ? 'no maxLength' : `maxLength ${shape.maxLength}`);
  if (shape.types.has('number') || shape.types.has('integer'))
    parts.push(`range ${shape.minimum ?? '-∞'}..${shape.maximum ?? '+∞'}`);
  return parts.length ? `${types} (${parts.join(', ')})` : types;
}

/**
 * Returns null when every non-null value of `shape` can be stored in a column of `type`,
 * otherwise the reason it cannot.
 */
export function whyNotFit(shape: ValueShape, type: SqlType): string | null {
  const types = [...shape.types].filter((t) => t !== 'null');
  if (types.length === 0) return null;
  const only = (...allowed: JsonTypeName[]) => {
    const bad = types.filter((t) => !allowed.includes(t));
    return bad.length ? `${bad.join('|')} values cannot be stored in ${type.sql}` : null;
  };
  return SQL_TYPES[type.kind].fit(shape, type, only);
}

export type TypeChange = 'same' | 'wider' | 'narrower' | 'changed';

/** How a column type change affects the values the column can hold. */
export function typeChange(from: SqlType, to: SqlType): TypeChange {
  if (from.sql === to.sql) return 'same';
  if (from.kind === 'varchar' && to.kind === 'varchar')
    return (to.length ?? 0) > (from.length ?? 0) ? 'wider' : 'narrower';
  if (from.kind === 'varchar' && to.kind === 'text') return 'wider';
  if (from.kind === 'text' && to.kind === 'varchar') return 'narrower';
  const fromRank = SQL_TYPES[from.kind].integer?.rank;
  const toRank = SQL_TYPES[to.kind].integer?.rank;
  if (fromRank && toRank) return toRank > fromRank ? 'wider' : 'narrower';
  const intDigits = (t: SqlType) =>
    t.kind === 'numeric' ? (t.precision ?? 0) - (t.scale ?? 0) : SQL_TYPES[t.kind].integer?.digits;
  const scale = (t: SqlType) => (t.kind === 'numeric' ? (t.scale ?? 0) : 0);
  const fromDigits = intDigits(from);
  const toDigits = intDigits(to);
  if (fromDigits !== undefined && toDigits !== undefined && to.kind === 'numeric') {
    return toDigits >= fromDigits && scale(to) >= scale(from) ? 'wider' : 'narrower';
  }
  if (from.kind === 'numeric' && toRank) return 'narrower';
  return 'changed';
}
