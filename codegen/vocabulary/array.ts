/**
 * Array keywords: `items`, `minItems`, `maxItems`, `uniqueItems` — allowed values, bound policy,
 * catalogue text and compatibility comparison (see family.ts). The loader and the producer walk
 * into `items` themselves; the family compares the item schemas through `ctx.sub`.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { type CatalogueBound, type KeywordFamily, type KeywordIssue, NonNegativeInt } from './family.ts';

/** The meta-schema entries, given the recursive schema node (the registry's JsonSchema type is built from them). */
export const arrayKeywords = <Node extends TSchema>(node: Node) => ({
  items: Type.Optional(node),
  minItems: Type.Optional(NonNegativeInt),
  maxItems: Type.Optional(NonNegativeInt),
  uniqueItems: Type.Optional(Type.Boolean()),
});

export const ARRAY = {
  meta: arrayKeywords,
  annotations: [],
  assertions: ['items', 'minItems', 'maxItems', 'uniqueItems'],

  boundIssues(node, types): KeywordIssue[] {
    if (!types.includes('array') || node.maxItems !== undefined) return [];
    return [{ message: 'an array needs maxItems' }];
  },

  catalogue(node): CatalogueBound[] {
    const b: CatalogueBound[] = [];
    if (node.minItems !== undefined) b.push({ rank: 60, text: `minItems ${node.minItems}` });
    if (node.maxItems !== undefined) b.push({ rank: 70, text: `maxItems ${node.maxItems}` });
    return b;
  },

  types: ['array'],

  compare(on, nn, at, push, ctx) {
    // Without `items` before, any item was accepted.
    if (nn.items !== undefined) ctx.sub(on.items === undefined ? undefined : ['items'], ['items']);
    if (nn.maxItems !== undefined && (on.maxItems === undefined || nn.maxItems < on.maxItems))
      push('EVENT_MAX_ITEMS_DECREASED', at('maxItems'), `maxItems ${on.maxItems ?? 'none'} → ${nn.maxItems}`);
    if (nn.minItems !== undefined && nn.minItems > (on.minItems ?? 0))
      push('EVENT_MIN_ITEMS_INCREASED', at('minItems'), `minItems ${on.minItems ?? 'none'} → ${nn.minItems}`);
    if (nn.uniqueItems === true && on.uniqueItems !== true)
      push('EVENT_UNIQUE_ITEMS_ADDED', at('uniqueItems'), 'arrays with repeated items are rejected now');
  },

  valueRules: {},
} satisfies KeywordFamily<keyof ReturnType<typeof arrayKeywords>>;
