/**
 * String keywords: `format`, `pattern`, `minLength`, `maxLength` — allowed values, bound policy,
 * catalogue text and compatibility comparison in one place (see family.ts).
 */
import { Type } from '@sinclair/typebox';
import { type CatalogueBound, type KeywordFamily, type KeywordIssue, NonNegativeInt } from './family.ts';

/** Formats a registry schema may name; codegen/ajv.ts gives each its implementation. */
export const FORMATS = ['uuid', 'date-time', 'date', 'uri', 'email'] as const;
export type FormatName = (typeof FORMATS)[number];

/** Formats whose values have a bounded length, so a string with one needs no maxLength. */
const BOUNDED_FORMATS: ReadonlySet<string> = new Set<FormatName>(['uuid', 'date-time', 'date']);

const show = (v: unknown) => JSON.stringify(v);

/** The meta-schema entries (a const of its own: the registry's JsonSchema type is built from it). */
export const STRING_KEYWORDS = {
  format: Type.Optional(Type.Union((FORMATS as readonly string[]).map((f) => Type.Literal(f)))),
  pattern: Type.Optional(Type.String({ minLength: 1 })),
  minLength: Type.Optional(NonNegativeInt),
  maxLength: Type.Optional(NonNegativeInt),
};

export const STRING = {
  meta: STRING_KEYWORDS,
  annotations: [],
  assertions: ['format', 'pattern', 'minLength', 'maxLength'],

  boundIssues(node, types): KeywordIssue[] {
    if (!types.includes('string') || node.maxLength !== undefined || BOUNDED_FORMATS.has(node.format ?? '')) return [];
    return [{ message: 'a string needs maxLength (or an enum, const or a uuid/date-time/date format)' }];
  },

  boundConflicts(node): KeywordIssue[] {
    if (node.minLength === undefined || node.maxLength === undefined || node.minLength <= node.maxLength) return [];
    return [{ message: `minLength ${node.minLength} is greater than maxLength ${node.maxLength}` }];
  },

  syntaxIssues(node): KeywordIssue[] {
    if (node.pattern === undefined) return [];
    try {
      new RegExp(node.pattern, 'u');
      return [];
    } catch (e) {
      return [{ at: '/pattern', message: `invalid regular expression: ${(e as Error).message}` }];
    }
  },

  catalogue(node): CatalogueBound[] {
    const b: CatalogueBound[] = [];
    if (node.format) b.push({ rank: 10, text: `format ${node.format}` });
    if (node.minLength !== undefined) b.push({ rank: 20, text: `minLength ${node.minLength}` });
    if (node.maxLength !== undefined) b.push({ rank: 30, text: `maxLength ${node.maxLength}` });
    if (node.pattern) b.push({ rank: 90, text: `pattern \`${node.pattern}\`` });
    return b;
  },

  compare(on, nn, at, push) {
    if (nn.maxLength !== undefined && (on.maxLength === undefined || nn.maxLength < on.maxLength))
      push('EVENT_MAX_LENGTH_DECREASED', at('maxLength'), `maxLength ${on.maxLength ?? 'none'} → ${nn.maxLength}`);
    if (nn.minLength !== undefined && nn.minLength > (on.minLength ?? 0))
      push('EVENT_MIN_LENGTH_INCREASED', at('minLength'), `minLength ${on.minLength ?? 'none'} → ${nn.minLength}`);
    if (nn.pattern !== undefined && nn.pattern !== on.pattern)
      push(
        'EVENT_PATTERN_CHANGED',
        at('pattern'),
        `pattern ${on.pattern === undefined ? 'added' : `${show(on.pattern)} →`} ${show(nn.pattern)}`,
      );
    if (nn.format !== undefined && nn.format !== on.format)
      push('EVENT_FORMAT_CHANGED', at('format'), `format ${on.format ?? 'none'} → ${nn.format}`);
  },

  valueRules: {
    maxLength: 'EVENT_MAX_LENGTH_DECREASED',
    minLength: 'EVENT_MIN_LENGTH_INCREASED',
    pattern: 'EVENT_PATTERN_CHANGED',
    format: 'EVENT_FORMAT_CHANGED',
  },
} satisfies KeywordFamily<keyof typeof STRING_KEYWORDS>;
