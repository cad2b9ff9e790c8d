/**
 * Drizzle schema of every warehouse table, plus a plain row interface and the column order
 * (what COPY and the mappers use). drizzle-kit turns this file into `migrations/`.
 */
import { banner, byCodeUnit, camel, type GeneratedFile, layout, pascal } from '../layout.ts';
import type { Column, Registry, WarehouseTable } from '../registry.ts';
import { drizzleBuilder, SQL_TYPES } from '../sql-types.ts';

/** The TypeScript type of a column's value in a row produced by a mapper. */
export function rowType(c: Column): string {
  const base = SQL_TYPES[c.type.kind].ts;
  return c.nullable && base !== 'unknown' ? `${base} | null` : base;
}

export const tableConst = (t: WarehouseTable) => camel(t.name);
export const rowInterface = (t: WarehouseTable) => `${pascal(t.name)}Row`;
export const columnsConst = (t: WarehouseTable) => `${camel(t.name)}Columns`;

function table(t: WarehouseTable, fns: Set<string>): string {
  fns.add('pgTable');
  const singlePk = t.primaryKey.length === 1 ? t.primaryKey[0] : undefined;
  const cols = t.columns.map((c) => {
    const b = drizzleBuilder(c.type, c.name);
    fns.add(b.fn);
    let call = b.call;
    if (!c.nullable) call += '.notNull()';
    if (c.name === singlePk) call += '.primaryKey()';
    if (c.default !== undefined) call += `.default(${JSON.stringify(c.default)})`;
    return `    /** ${c.description} */\n    ${c.name}: ${call},`;
  });
  const extras: string[] = [];
  if (!singlePk) {
    fns.add('primaryKey');
    extras.push(`primaryKey({ columns: [${t.primaryKey.map((k) => `t.${k}`).join(', ')}] })`);
  }
  for (const ix of t.indexes) {
    fns.add(ix.unique ? 'uniqueIndex' : 'index');
    extras.push(
      `${ix.unique ? 'uniqueIndex' : 'index'}('${ix.name}').on(${ix.columns.map((c) => `t.${c}`).join(', ')})`,
    );
  }
  const third = extras.length ? `,\n  (t) => [\n    ${extras.join(',\n    ')},\n  ]` : '';
  return `/** ${t.description} (${t.file}) */
export const ${tableConst(t)} = pgTable(
  '${t.name}',
  {
${cols.join('\n')}
  }${third},
);

/** A row of ${t.name} as the pipeline writes it. */
export interface ${rowInterface(t)} {
${t.columns.map((c) => `  ${c.name}: ${rowType(c)};`).join('\n')}
}

/** Column order of ${t.name} (COPY order). */
export const ${columnsConst(t)} = [${t.columns.map((c) => `'${c.name}'`).join(', ')}] as const;
`;
}

export function generate(registry: Registry): GeneratedFile[] {
  const fns = new Set<string>();
  const tables = [...registry.tables].sort((a, b) => byCodeUnit(a.name, b.name)).map((t) => table(t, fns));
  const contents = `${banner(['schemas/warehouse/*.json'])}
import { ${[...fns].sort().join(', ')} } from 'drizzle-orm/pg-core';

${tables.join('\n')}`;
  return [{ path: layout.dbSchema, contents }];
}
