import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import type { RuleId } from '../compat/rules.ts';
import { SchemaNode } from '../meta-schema.ts';
import type { JsonSchema } from '../registry.ts';
import { ARRAY } from './array.ts';
import { COMBINATORS, sharedTypes } from './combinators.ts';
import type { CompareContext, KeywordFamily, Path } from './family.ts';
import { FAMILIES } from './index.ts';
import { NUMBER } from './number.ts';
import { OBJECT } from './object.ts';

type Found = { rule: RuleId; pointer: string } | { sub: [Path | undefined, Path] };
function compare(family: KeywordFamily<string>, on: JsonSchema, nn: JsonSchema): Found[] {
  const found: Found[] = [];
  const ctx: CompareContext = { shared: sharedTypes(on, nn), sub: (o, n) => found.push({ sub: [o, n] }) };
  family.compare?.(
    on,
    nn,
    (k) => `/p/${k}`,
    (rule, pointer) => found.push({ rule, pointer }),
    ctx,
  );
  return found;
}

const keywordsOf = (family: KeywordFamily<string>) =>
  Object.keys(typeof family.meta === 'function' ? family.meta(Type.Unknown()) : family.meta);

describe('the keyword families', () => {
  it('together allow exactly the keywords of a schema node, each classified once', () => {
    const all = FAMILIES.flatMap(keywordsOf);
    expect(new Set(all).size).toBe(all.length);
    const node = (SchemaNode as unknown as { properties: Record<string, unknown> }).properties;
    expect(all.sort()).toEqual(Object.keys(node).sort());
    for (const family of FAMILIES)
      expect([...family.annotations, ...family.assertions].sort()).toEqual(keywordsOf(family).sort());
  });

  it('number: bounds tighten through either keyword; multipleOf is judged against the shared type', () => {
    const int = { type: 'integer' } as const;
    expect(compare(NUMBER, { ...int, minimum: 0, maximum: 9 }, { ...int, minimum: -1, exclusiveMaximum: 10 })).toEqual(
      [],
    );
    expect(compare(NUMBER, { ...int, minimum: 0 }, { ...int, exclusiveMinimum: 0 })).toEqual([
      { rule: 'EVENT_EXCLUSIVE_MINIMUM_INCREASED', pointer: '/p/exclusiveMinimum' },
    ]);
    expect(compare(NUMBER, int, { ...int, multipleOf: 0.5 })).toEqual([]);
    expect(compare(NUMBER, { type: 'number' }, { type: 'number', multipleOf: 0.5 })).toEqual([
      { rule: 'EVENT_MULTIPLE_OF_CHANGED', pointer: '/p/multipleOf' },
    ]);
    expect(NUMBER.boundIssues({ exclusiveMinimum: 0, maximum: 1 }, ['number'])).toEqual([]);
    expect(NUMBER.boundIssues({ minimum: 0 }, ['integer'])).toHaveLength(1);
    expect(NUMBER.boundConflicts({ minimum: 2, maximum: 1 })[0]?.message).toBe('minimum 2 is greater than maximum 1');
  });

  it('array: compares the item schemas through the walk, then its own bounds', () => {
    expect(compare(ARRAY, { maxItems: 5 }, { items: { type: 'string' }, maxItems: 3, uniqueItems: true })).toEqual([
      { sub: [undefined, ['items']] },
      { rule: 'EVENT_MAX_ITEMS_DECREASED', pointer: '/p/maxItems' },
      { rule: 'EVENT_UNIQUE_ITEMS_ADDED', pointer: '/p/uniqueItems' },
    ]);
    expect(compare(ARRAY, { items: {} }, { items: {} })).toEqual([{ sub: [['items'], ['items']] }]);
    expect(ARRAY.boundIssues({}, ['array'])).toEqual([{ message: 'an array needs maxItems' }]);
  });

  it('object: reports its own findings before walking into kept and new properties', () => {
    const on: JsonSchema = { properties: { a: {}, gone: {} }, required: ['a'] };
    const nn: JsonSchema = { properties: { a: {}, b: {} }, required: ['a', 'b'], additionalProperties: false };
    expect(compare(OBJECT, on, nn)).toEqual([
      { rule: 'EVENT_REQUIRED_ADDED', pointer: '/p/required/1' },
      { rule: 'EVENT_ADDITIONAL_PROPERTIES_CLOSED', pointer: '/p/additionalProperties' },
      { rule: 'EVENT_PROPERTY_REMOVED', pointer: '/p/properties' },
      {
        sub: [
          ['properties', 'a'],
          ['properties', 'a'],
        ],
      },
      { sub: [undefined, ['properties', 'b']] },
    ]);
    expect(OBJECT.shapeIssues({ properties: { 'a/b': {} }, required: ['c'] }).map((i) => [i.at, i.message])).toEqual([
      [undefined, 'an object with properties must set "additionalProperties": false'],
      ['/properties/a~1b', 'property has no description'],
      ['/required', 'required property "c" is not in properties'],
    ]);
  });

  it('combinators: a new const or enum decides alone; a lost type is narrowed or changed', () => {
    expect(compare(COMBINATORS, {}, { const: 1 })).toEqual([{ rule: 'EVENT_CONST_ADDED', pointer: '/p/const' }]);
    expect(COMBINATORS.decides({ enum: ['a'] })).toBe(true);
    expect(compare(COMBINATORS, { type: ['string', 'null'] }, { type: 'string' })).toEqual([
      { rule: 'EVENT_TYPE_NARROWED', pointer: '/p/type' },
    ]);
    expect(compare(COMBINATORS, { type: 'string' }, { type: 'integer' })).toEqual([
      { rule: 'EVENT_TYPE_CHANGED', pointer: '/p/type' },
    ]);
    expect(COMBINATORS.bounds({ $ref: 'x.json' })).toBe(true);
  });
});
