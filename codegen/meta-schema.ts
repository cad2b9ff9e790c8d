/**
 * The registry's own rules: what a schema file under `schemas/` must look like.
 * Written with TypeBox so the loader validates files with ajv and gets static types from the same
 * definition. A keyword not listed here is an error ("unknown keyword"), which is what keeps
 * typos such as `maxLenght` from silently meaning "no bound".
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { SQL_TYPE_PATTERN } from './sql-types.ts';
import { ANNOTATION_KEYWORDS } from './vocabulary/annotations.ts';
import { arrayKeywords } from './vocabulary/array.ts';
import { combinatorKeywords } from './vocabulary/combinators.ts';
import { Scalar } from './vocabulary/family.ts';
import { NUMBER_KEYWORDS } from './vocabulary/number.ts';
import { objectKeywords, PROPERTY_NAME } from './vocabulary/object.ts';
import { STRING_KEYWORDS } from './vocabulary/string.ts';

export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
export const SCHEMA_BASE_URI = 'https://clickstream.example/schemas/';

/** Keywords allowed on any schema node inside a registry file (events and common shapes): every family's. */
export const SchemaNode = Type.Recursive(
  (Node) =>
    Type.Object(
      {
        ...combinatorKeywords(Node),
        ...ANNOTATION_KEYWORDS,
        ...STRING_KEYWORDS,
        ...NUMBER_KEYWORDS,
        ...arrayKeywords(Node),
        ...objectKeywords(Node),
      },
      { additionalProperties: false },
    ),
  { $id: 'SchemaNode' },
);
export type SchemaNode = Static<typeof SchemaNode>;

const FileHeader = {
  $schema: Type.Literal(SCHEMA_DIALECT),
  $id: Type.String({ pattern: `^${SCHEMA_BASE_URI.replace(/[.]/g, '\\.')}` }),
  title: Type.String({ minLength: 1 }),
  description: Type.String({ minLength: 10 }),
  'x-owner': Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z][a-z0-9-]*$' }),
};

/** Keywords of a schema node, spread into the file-level objects below. */
function nodeKeywords(): Record<string, TSchema> {
  // The recursive node is an object schema; reuse its property map for the file root.
  const {
    title: _t,
    description: _d,
    ...rest
  } = (SchemaNode as unknown as { properties: Record<string, TSchema> }).properties;
  return rest;
}

/** `schemas/events/<event_name>/<model>.json`: describes the event-specific `properties` object. */
export const EventSchemaFile = Type.Object(
  {
    ...nodeKeywords(),
    ...FileHeader,
    type: Type.Literal('object'),
    additionalProperties: Type.Literal(false),
    properties: Type.Record(PROPERTY_NAME, Type.Ref('SchemaNode')),
    required: Type.Array(Type.String(), { uniqueItems: true }),
    deprecated: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type EventSchemaFile = Static<typeof EventSchemaFile>;

/** `schemas/common/<name>.json`: a shared shape that event schemas `$ref`. */
export const CommonSchemaFile = Type.Object(
  {
    ...nodeKeywords(),
    ...FileHeader,
    title: Type.String({ pattern: '^[A-Z][A-Za-z0-9]*$' }),
  },
  { additionalProperties: false },
);
export type CommonSchemaFile = Static<typeof CommonSchemaFile>;

export const WarehouseColumn = Type.Object(
  {
    type: Type.String({ pattern: SQL_TYPE_PATTERN }),
    nullable: Type.Boolean(),
    description: Type.String({ minLength: 5 }),
    source: Type.Optional(
      Type.Union([
        Type.String({ pattern: '^(/[^/]+)+$' }),
        Type.Array(Type.String({ pattern: '^(/[^/]+)+$' }), { minItems: 1, uniqueItems: true }),
      ]),
    ),
    default: Type.Optional(Scalar),
    'x-pii': Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type WarehouseColumn = Static<typeof WarehouseColumn>;

/** `schemas/warehouse/<table>.json`: one warehouse table. */
export const WarehouseTableFile = Type.Object(
  {
    ...FileHeader,
    table: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }),
    columns: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), WarehouseColumn),
    primaryKey: Type.Array(Type.String(), { minItems: 1, uniqueItems: true }),
    timeColumn: Type.Optional(Type.String()),
    indexes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }),
            columns: Type.Array(Type.String(), { minItems: 1 }),
            unique: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);
export type WarehouseTableFile = Static<typeof WarehouseTableFile>;
