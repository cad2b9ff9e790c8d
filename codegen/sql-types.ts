/**
 * Warehouse column types and the rule that decides whether every value an event schema accepts
 * fits a column. Used by the loader (codegen refuses a registry that does not fit) and by the
 * breaking-change checker (a schema change that stops fitting is breaking).
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

export function parseSqlType(sql: string): SqlType {
  const varchar = /^varchar\((\d+)\)$/.exec(sql);
  if (varchar) return { kind: 'varchar', length: Number(varchar[1]), sql };
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(sql);
  if (numeric) {
    const precision = Number(numeric[1]);
    const scale = Number(numeric[2]);
    if (scale > precision) throw new Error(`numeric scale ${scale} is larger than precision ${precision}`);
    return { kind: 'numeric', precision, scale, sql };
  }
  const kinds: SqlKind[] = [
    'uuid',
    'text',
    'boolean',
    'smallint',
    'integer',
    'bigint',
    'double precision',
    'timestamptz',
    'date',
    'jsonb',
  ];
  const kind = kinds.find((k) => k === sql);
  if (!kind) throw new Error(`unsupported SQL type "${sql}"`);
  return { kind, sql };
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

const INT_RANGE: Record<string, [number, number]> = {
  smallint: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const UUID_LENGTH = 36;

/** Longest string the shape accepts, or undefined when unbounded. */
function maxStringLength(shape: ValueShape): number | undefined {
  if (shape.values) return Math.max(0, ...shape.values.map((v) => (typeof v === 'string' ? [...v].length : 0)));
  if (shape.format === 'uuid') return UUID_LENGTH;
  return shape.maxLength;
}

/**
 * Returns null when every non-null value of `shape` can be stored in a column of `type`,
 * otherwise the reason it cannot.
 */
export function whyNotFit(shape: ValueShape, type: SqlType): string | null {
  if (type.kind === 'jsonb') return null;
  const types = [...shape.types].filter((t) => t !== 'null');
  if (types.length === 0) return null;
  const only = (...allowed: JsonTypeName[]) => {
    const bad = types.filter((t) => !allowed.includes(t));
    return bad.length ? `${bad.join('|')} values cannot be stored in ${type.sql}` : null;
  };
  switch (type.kind) {
    case 'text':
      return only('string');
    case 'varchar': {
      const wrong = only('string');
      if (wrong) return wrong;
      const max = maxStringLength(shape);
      if (max === undefined)
        return `an unbounded string cannot be stored in ${type.sql}: add maxLength ≤ ${type.length}`;
      if (max > (type.length ?? 0)) return `strings up to ${max} characters do not fit ${type.sql}`;
      return null;
    }
    case 'uuid':
      return only('string') ?? (shape.format === 'uuid' ? null : `only strings with format "uuid" fit ${type.sql}`);
    case 'timestamptz':
      return (
        only('string') ?? (shape.format === 'date-time' ? null : `only strings with format "date-time" fit ${type.sql}`)
      );
    case 'date':
      return only('string') ?? (shape.format === 'date' ? null : `only strings with format "date" fit ${type.sql}`);
    case 'boolean':
      return only('boolean');
    case 'smallint':
    case 'integer':
    case 'bigint': {
      const wrong = only('integer');
      if (wrong) return wrong;
      const [lo, hi] = INT_RANGE[type.kind] as [number, number];
      if (type.kind !== 'bigint' && (shape.minimum === undefined || shape.maximum === undefined))
        return `an unbounded integer cannot be stored in ${type.sql}: add minimum and maximum within ${lo}..${hi}`;
      if ((shape.minimum ?? lo) < lo || (shape.maximum ?? hi) > hi)
        return `integers in ${shape.minimum}..${shape.maximum} do not fit ${type.sql} (${lo}..${hi})`;
      return null;
    }
    case 'numeric': {
      const wrong = only('integer', 'number');
      if (wrong) return wrong;
      const limit = 10 ** ((type.precision ?? 0) - (type.scale ?? 0));
      if (shape.minimum === undefined || shape.maximum === undefined)
        return `an unbounded number cannot be stored in ${type.sql}: add minimum and maximum within ±${limit}`;
      if (shape.minimum <= -limit || shape.maximum >= limit)
        return `numbers in ${shape.minimum}..${shape.maximum} do not fit ${type.sql} (absolute value < ${limit})`;
      return null;
    }
    case 'double precision':
      return only('integer', 'number');
  }
}
