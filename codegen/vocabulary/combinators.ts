/**
 * Keywords that say which values or types a node accepts, or combine subschemas: `$ref`, `type`,
 * `enum`, `const`, `anyOf`, `oneOf`, `allOf` — allowed values, what exempts a node from bounds,
 * the type helpers the structural walks share and the comparison of `type`, `enum` and `const`
 * (see family.ts). Dereferencing `$ref` and deciding unions stay with the producer comparison
 * (codegen/compat/producer.ts), which walks the structure.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { JsonSchema } from '../registry.ts';
import { type KeywordFamily, Scalar, TYPE_NAMES, type TypeName } from './family.ts';

const JsonType = Type.Union((TYPE_NAMES as readonly string[]).map((t) => Type.Literal(t)));

/** The meta-schema entries, given the recursive schema node (the registry's JsonSchema type is built from them). */
export const combinatorKeywords = <Node extends TSchema>(node: Node) => ({
  $ref: Type.Optional(Type.String({ minLength: 1 })),
  type: Type.Optional(Type.Union([JsonType, Type.Array(JsonType, { minItems: 1, uniqueItems: true })])),
  enum: Type.Optional(Type.Array(Scalar, { minItems: 1, uniqueItems: true })),
  const: Type.Optional(Scalar),
  anyOf: Type.Optional(Type.Array(node, { minItems: 1 })),
  oneOf: Type.Optional(Type.Array(node, { minItems: 1 })),
  allOf: Type.Optional(Type.Array(node, { minItems: 1 })),
});

/** The union keywords: a value matches the node's own keywords and some (or exactly one) branch. */
export const UNIONS = ['anyOf', 'oneOf'] as const;
/** Every keyword holding a list of subschemas, in the order the loader walks them. */
export const SUBSCHEMA_LISTS = [...UNIONS, 'allOf'] as const;

const show = (v: unknown) => JSON.stringify(v);

/** `t` is accepted by a node accepting `types` (an integer is a number). */
export const covers = (types: ReadonlySet<TypeName>, t: TypeName) =>
  types.has(t) || (t === 'integer' && types.has('number'));

export function declaredTypes(node: JsonSchema): Set<TypeName> {
  if (node.type === undefined) return new Set(TYPE_NAMES);
  return new Set((Array.isArray(node.type) ? node.type : [node.type]) as TypeName[]);
}

export function valueType(v: unknown): TypeName {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as TypeName;
}

/** The values a node accepts when they are few enough to list (`const`, `enum`, booleans, null). */
export function finiteValues(node: JsonSchema): unknown[] | undefined {
  if (node.const !== undefined) return [node.const];
  if (node.enum) return node.enum;
  // Booleans and null are finite too: `boolean` ⊆ `enum: [true, false]` is decided by value.
  const declared = node.type === undefined ? undefined : Array.isArray(node.type) ? node.type : [node.type];
  if (declared?.every((t) => t === 'boolean' || t === 'null'))
    return declared.flatMap((t) => (t === 'boolean' ? [true, false] : [null]));
  return undefined;
}

/** Types a node can produce, considering enum/const. */
export function producedTypes(node: JsonSchema): Set<TypeName> {
  const values = finiteValues(node);
  if (values) return new Set(values.map(valueType));
  return declaredTypes(node);
}

export function typesOverlap(a: ReadonlySet<TypeName>, b: ReadonlySet<TypeName>): boolean {
  for (const t of a) if (covers(b, t) || (t === 'number' && b.has('integer'))) return true;
  return false;
}

/** Types both nodes accept: what the other families compare. */
export function sharedTypes(on: JsonSchema, nn: JsonSchema): Set<TypeName> {
  const nTypes = declaredTypes(nn);
  return new Set([...declaredTypes(on)].filter((t) => covers(nTypes, t)));
}

export const COMBINATORS = {
  meta: combinatorKeywords,
  annotations: [],
  assertions: ['$ref', 'type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf'],

  /** A `$ref`'s target has its own bounds; an enum or a const lists its values. */
  bounds: (node) => node.$ref !== undefined || node.enum !== undefined || node.const !== undefined,

  compare(on, nn, at, push) {
    if (nn.const !== undefined) {
      push('EVENT_CONST_ADDED', at('const'), `only ${show(nn.const)} is accepted now; any value was accepted before`);
      return;
    }
    if (nn.enum !== undefined) {
      push(
        'EVENT_ENUM_ADDED',
        at('enum'),
        `only ${nn.enum.map(show).join(', ')} are accepted now; the value was free before`,
      );
      return;
    }
    const oTypes = declaredTypes(on);
    const nTypes = declaredTypes(nn);
    const lost = [...oTypes].filter((t) => !covers(nTypes, t));
    if (lost.length > 0)
      push(
        typesOverlap(oTypes, nTypes) ? 'EVENT_TYPE_NARROWED' : 'EVENT_TYPE_CHANGED',
        at('type'),
        `type ${[...nTypes].join('|')} no longer accepts ${lost.join('|')} values (was ${on.type === undefined ? 'any type' : [...oTypes].join('|')})`,
      );
  },

  /** A new `const` or `enum` lists every value accepted now: nothing else needs comparing. */
  decides: (nn) => nn.const !== undefined || nn.enum !== undefined,

  valueRules: {
    enum: 'EVENT_ENUM_VALUE_REMOVED',
    const: 'EVENT_ENUM_VALUE_REMOVED',
    type: 'EVENT_TYPE_NARROWED',
    anyOf: 'EVENT_UNION_BRANCH_REMOVED',
    oneOf: 'EVENT_UNION_BRANCH_REMOVED',
  },
} satisfies KeywordFamily<keyof ReturnType<typeof combinatorKeywords>>;
