/**
 * Number keywords: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf` —
 * allowed values, bound policy, catalogue text and compatibility comparison (see family.ts).
 */
import { Type } from '@sinclair/typebox';
import type { JsonSchema } from '../registry.ts';
import type { CatalogueBound, KeywordFamily, KeywordIssue } from './family.ts';

/** The meta-schema entries (a const of its own: the registry's JsonSchema type is built from it). */
export const NUMBER_KEYWORDS = {
  minimum: Type.Optional(Type.Number()),
  maximum: Type.Optional(Type.Number()),
  exclusiveMinimum: Type.Optional(Type.Number()),
  exclusiveMaximum: Type.Optional(Type.Number()),
  multipleOf: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
};

/** Effective lower (or upper) bound: the tighter of the inclusive and exclusive keyword. */
function bound(node: JsonSchema, side: 'min' | 'max'): { value: number; exclusive: boolean } | undefined {
  const incl = side === 'min' ? node.minimum : node.maximum;
  const excl = side === 'min' ? node.exclusiveMinimum : node.exclusiveMaximum;
  if (incl === undefined && excl === undefined) return undefined;
  if (incl === undefined) return { value: excl as number, exclusive: true };
  if (excl === undefined) return { value: incl, exclusive: false };
  const exclTighter = side === 'min' ? excl >= incl : excl <= incl;
  return exclTighter ? { value: excl, exclusive: true } : { value: incl, exclusive: false };
}

function isMultiple(value: number, divisor: number): boolean {
  const q = value / divisor;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

export const NUMBER = {
  meta: NUMBER_KEYWORDS,
  annotations: [],
  assertions: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],

  boundIssues(node, types): KeywordIssue[] {
    if (!types.includes('number') && !types.includes('integer')) return [];
    if (bound(node, 'min') !== undefined && bound(node, 'max') !== undefined) return [];
    return [{ message: 'a number needs both a lower bound (minimum) and an upper bound (maximum)' }];
  },

  boundConflicts(node): KeywordIssue[] {
    if (node.minimum === undefined || node.maximum === undefined || node.minimum <= node.maximum) return [];
    return [{ message: `minimum ${node.minimum} is greater than maximum ${node.maximum}` }];
  },

  catalogue(node): CatalogueBound[] {
    const b: CatalogueBound[] = [];
    if (node.minimum !== undefined) b.push({ rank: 40, text: `≥ ${node.minimum}` });
    if (node.maximum !== undefined) b.push({ rank: 50, text: `≤ ${node.maximum}` });
    return b;
  },

  types: ['number', 'integer'],

  compare(on, nn, at, push, ctx) {
    const lo = bound(on, 'min');
    const hi = bound(on, 'max');
    if (nn.minimum !== undefined && (lo === undefined || lo.value < nn.minimum))
      push('EVENT_MINIMUM_INCREASED', at('minimum'), `minimum ${lo ? lo.value : 'none'} → ${nn.minimum}`);
    if (
      nn.exclusiveMinimum !== undefined &&
      (lo === undefined || lo.value < nn.exclusiveMinimum || (lo.value === nn.exclusiveMinimum && !lo.exclusive))
    )
      push(
        'EVENT_EXCLUSIVE_MINIMUM_INCREASED',
        at('exclusiveMinimum'),
        `lower bound ${lo ? `${lo.exclusive ? '>' : '≥'} ${lo.value}` : 'none'} → > ${nn.exclusiveMinimum}`,
      );
    if (nn.maximum !== undefined && (hi === undefined || hi.value > nn.maximum))
      push('EVENT_MAXIMUM_DECREASED', at('maximum'), `maximum ${hi ? hi.value : 'none'} → ${nn.maximum}`);
    if (
      nn.exclusiveMaximum !== undefined &&
      (hi === undefined || hi.value > nn.exclusiveMaximum || (hi.value === nn.exclusiveMaximum && !hi.exclusive))
    )
      push(
        'EVENT_EXCLUSIVE_MAXIMUM_DECREASED',
        at('exclusiveMaximum'),
        `upper bound ${hi ? `${hi.exclusive ? '<' : '≤'} ${hi.value}` : 'none'} → < ${nn.exclusiveMaximum}`,
      );
    if (nn.multipleOf !== undefined) {
      const integersOnly = !ctx.shared.has('number');
      const fine =
        (on.multipleOf !== undefined && isMultiple(on.multipleOf, nn.multipleOf)) ||
        (integersOnly && isMultiple(1, nn.multipleOf));
      if (!fine)
        push('EVENT_MULTIPLE_OF_CHANGED', at('multipleOf'), `multipleOf ${on.multipleOf ?? 'none'} → ${nn.multipleOf}`);
    }
  },

  valueRules: {
    minimum: 'EVENT_MINIMUM_INCREASED',
    maximum: 'EVENT_MAXIMUM_DECREASED',
    exclusiveMinimum: 'EVENT_EXCLUSIVE_MINIMUM_INCREASED',
    exclusiveMaximum: 'EVENT_EXCLUSIVE_MAXIMUM_DECREASED',
    multipleOf: 'EVENT_MULTIPLE_OF_CHANGED',
  },
} satisfies KeywordFamily<keyof typeof NUMBER_KEYWORDS>;
